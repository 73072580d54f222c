"""The ``kernkit`` command: boot, check, trace, matrix, compat, new-plugin, plugins.

Each command imports what it needs when it runs: a boot pays for no matrix, trace or scaffold
code, and ``kernkit --help`` for no kernel.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kernkit.core.errors import ConfigError, KernkitError
from kernkit.tools.scaffold import KINDS
from kernkit.tools.stopsignals import Stopped, exit_status, on_stop_signals, signum_of, word

#: typing.TYPE_CHECKING without importing typing, which ``kernkit --help`` would pay for alone
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from kernkit.core.kernel import Kernel


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors one line like every other (``--help`` shows the usage)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"kernkit: error: {self.prog}: {message} (see {self.prog} --help)\n")


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; the matrix command's own options are added only when ``command``
    is ``matrix`` (they come with the matrix code)."""
    parser = _Parser(
        prog="kernkit",
        description="Compose a kernel from plugins and boot it on an emulated machine.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    boot_cmd = commands.add_parser(
        "boot",
        help="boot a kernel and run its init program",
        description="Boot CONFIG (default: the packaged minimal kernel). After --, a host program "
        "and its arguments run as init instead of the config's.",
        usage="kernkit boot [CONFIG] [options] [-- PROGRAM [ARGS...]]",
    )
    boot_cmd.add_argument("config", nargs="?", help="kernel config (TOML)")
    boot_cmd.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="add to init's environment (repeatable)",
    )
    boot_cmd.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config option, e.g. machine.cores=2 (repeatable)",
    )
    boot_cmd.add_argument(
        "--host-root",
        action="store_true",
        help="put the host's programs, libraries and /etc in the namespace, read only "
        "(namespace.host = ['@userland']), so dynamically linked host programs run",
    )
    boot_cmd.add_argument("--trace", metavar="FILE", help="write a trace in virtual time")
    boot_cmd.add_argument(
        "--monitor",
        action="store_true",
        help="start in the kernel monitor (commands on stdin; also after a panic)",
    )
    boot_cmd.add_argument(
        "--gdb",
        metavar="HOST:PORT",
        help="wait for gdb (target remote HOST:PORT) with init stopped before its first instruction",
    )
    boot_cmd.add_argument(
        "--trace-format",
        choices=("jsonl", "perfetto"),
        default="jsonl",
        help="jsonl: one event per line (default); perfetto: Chrome trace-event JSON",
    )
    boot_cmd.add_argument(
        "--max-instructions", type=int, metavar="N", help="stop after N guest instructions (exit status 124)"
    )

    check_cmd = commands.add_parser("check", help="validate a config and print it resolved")
    check_cmd.add_argument("config", nargs="?", help="kernel config (TOML)")
    check_cmd.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")

    trace_cmd = commands.add_parser("trace", help="read traces written by kernkit boot --trace")
    trace_cmd.add_argument(
        "action",
        choices=("summary", "perfetto", "html"),
        help="summary: a table; perfetto: convert to trace-event JSON; html: a timeline page",
    )
    trace_cmd.add_argument("file", help="a JSON-lines trace")
    trace_cmd.add_argument(
        "-o", "--output", metavar="FILE", help="perfetto, html: where to write (default: stdout)"
    )

    matrix_cmd = commands.add_parser("matrix", help="run kernel variants x workloads and report")
    if command == "matrix":
        from kernkit.tools.matrix import command as matrix_command

        matrix_command.add_arguments(matrix_cmd)

    compat_cmd = commands.add_parser(
        "compat",
        help="run the compatibility suite (Debian's programs against qemu-user) and summarise it",
        description="Run the compatibility suite (a matrix: configs/compat.toml) on this install and "
        "print, per program, the checks that pass, those tried, those qemu-user passes, and the "
        "system calls that answered -ENOSYS; --refresh records the expected outputs instead.",
    )
    if command == "compat":
        from kernkit.tools.compat import command as compat_command

        compat_command.add_arguments(compat_cmd)

    new_cmd = commands.add_parser("new-plugin", help="write a plugin package to start from")
    new_cmd.add_argument("name", help="the plugin's name (lower case, e.g. lottery)")
    new_cmd.add_argument(
        "--kind", default="scheduler", choices=KINDS, help="what it adds (default: scheduler)"
    )
    new_cmd.add_argument("--dir", default=".", help="where to create kernkit-NAME/ (default: here)")

    plugins_cmd = commands.add_parser("plugins", help="list plugins and what they register")
    plugins_cmd.add_argument("--config", help="also load the plugins this config names")
    plugins_cmd.add_argument(
        "--verbose",
        "-v",
        action="store_true",
        help="also show, for every hook, the plugins it calls in order",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    program: list[str] = []
    if "--" in args_list:
        at = args_list.index("--")
        args_list, program = args_list[:at], args_list[at + 1 :]
    command = next((word for word in args_list if not word.startswith("-")), None)
    try:
        args = _parser(command).parse_args(args_list)
    except SystemExit as done:  # --help, --version, or an argument error already printed
        return done.code if isinstance(done.code, int) else 2
    try:
        with on_stop_signals():  # SIGTERM and SIGHUP as Ctrl-C, from the start (boot refines it)
            return _run(args, program)
    except KernkitError as exc:
        print(f"kernkit: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM or SIGHUP: see tools/stopsignals.py
        signum = signum_of(exc)
        print(f"kernkit: {word(signum)}", file=sys.stderr)
        return exit_status(signum)
    except BrokenPipeError:  # our own stdout went away (e.g. piped into head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as exc:  # a kernkit bug: one line, the traceback only on request
        # unreachable from input: every bad input is a KernkitError (one line, status 2); the
        # config, syscall and 9P fuzzers hold it to that, and a test greps for this line
        if os.environ.get("KERNKIT_DEBUG"):
            raise
        print(
            f"kernkit: internal error: {type(exc).__name__}: {exc} (set KERNKIT_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return 70


def _run(args: argparse.Namespace, program: list[str]) -> int:
    from kernkit.tools import methodcache

    methodcache.install()  # before the first attrs class: see there
    if args.command == "boot":
        return _boot(args, program)
    if program:
        raise ConfigError("-- PROGRAM is only for 'kernkit boot'")
    if args.command == "check":
        return _check(args)
    if args.command == "trace":
        return _trace(args)
    if args.command == "matrix":
        from kernkit.tools.matrix import command as matrix_command

        return matrix_command.run(args)
    if args.command == "compat":
        from kernkit.tools.compat import command as compat_command

        return compat_command.run(args)
    if args.command == "new-plugin":
        from kernkit.tools.scaffold import new_plugin

        root = new_plugin(args.name, args.kind, Path(args.dir))
        print(f"wrote {root}: cd {root} && pip install -e . && python -m pytest -q")
        return 0
    return _plugins(args)


def one_line(text: str) -> str:
    """``text`` with control and line-separator characters escaped (a name read from a file or a
    command line may hold any), so an error stays one line."""
    import unicodedata

    return "".join(
        ch.encode("unicode_escape").decode() if unicodedata.category(ch) in ("Cc", "Zl", "Zp") else ch
        for ch in text
    )


def _overrides(pairs: Sequence[str]) -> dict[str, object]:
    from kernkit.core.config import parse_override

    return dict(parse_override(pair) for pair in pairs)


def _boot(args: argparse.Namespace, program: list[str]) -> int:
    from kernkit.core.assemble import assemble, boot, resolve_config
    from kernkit.core.config import merge_env

    overrides = _overrides(args.set)
    if program:
        path = Path(program[0])
        overrides["init.program"] = str(path.resolve()) if _is_file(path) else program[0]
        overrides["init.args"] = program[1:]
        overrides["init.name"] = program[0]
    if args.max_instructions is not None:
        overrides["kernel.max_instructions"] = args.max_instructions
    if args.env or args.host_root:
        config, _ = resolve_config(args.config, overrides)
        if args.env:
            overrides["init.env"] = merge_env(config["init"].env, args.env)
        if args.host_root and "namespace" in config.sections:
            overrides["namespace.host"] = [*config["namespace"].host, "@userland"]
    if args.gdb:
        overrides["gdb.listen"] = args.gdb
    try:
        trace = open(args.trace, "w") if args.trace else None  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ConfigError(f"--trace {args.trace}: cannot write: {exc.strerror}") from None
    lines = io.StringIO() if trace is not None and args.trace_format == "perfetto" else trace
    kernel = None
    try:
        kernel = assemble(args.config, overrides=overrides, trace=lines)
        if args.monitor:
            kernel.monitor_input = sys.stdin
        received: list[int] = []
        with on_stop_signals(_interrupt_handler(kernel, received)):
            try:
                boot(kernel)
                return kernel.run()
            except KeyboardInterrupt as exc:  # the run loop honoured a signal taken mid-run
                raise Stopped(received[-1] if received else signum_of(exc)) from None
            finally:
                kernel.shutdown()  # listeners close, clients hear it, whatever ended the run
    finally:
        if trace is not None:
            if lines is not trace:
                import json

                events = (json.loads(line) for line in lines.getvalue().splitlines())
                from kernkit.tools.traces import registered_styles
                from kernkit.tools.traces.convert import to_perfetto

                styles = registered_styles(kernel.plugins if kernel is not None else None)
                json.dump(to_perfetto(events, styles), trace)
            trace.close()


def _is_file(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # a name too long for the host: the program lookup says so
        return False


def _interrupt_handler(kernel: Kernel, received: list[int]):  # noqa: ANN202
    """Ctrl-C (and SIGTERM, SIGHUP): raised at once when the kernel is between runs (or waiting
    for host input); while a core runs guest code it is a request the run loop honours at its
    next round, because an exception raised inside the emulator's callbacks would be lost."""

    def on_signal(signum: int, _frame: object) -> None:
        received.append(signum)
        if kernel.active_core is None:
            raise Stopped(signum)
        kernel.interrupted = True

    return on_signal


def _trace(args: argparse.Namespace) -> int:
    import json

    from kernkit.core.plugins import PluginManager
    from kernkit.tools.traces import registered_styles
    from kernkit.tools.traces.convert import read_events, summary, to_perfetto
    from kernkit.tools.traces.page import to_html
    from kernkit.tools.traces.timeline import build

    events = read_events(Path(args.file))
    if args.action == "summary":
        print(summary(events))
        return 0
    if args.action == "html":
        styles = registered_styles(PluginManager(on_warning=_warn))
        document = to_html(build(events, styles), f"kernkit trace: {Path(args.file).name}", styles)
    else:
        document = json.dumps(to_perfetto(events, registered_styles(PluginManager(on_warning=_warn))))
    if args.output:
        try:
            Path(args.output).write_text(document)
        except OSError as exc:
            raise KernkitError(f"-o {args.output}: cannot write: {exc.strerror}") from None
    else:
        print(document)
    return 0


def _warn(text: str) -> None:
    print(f"kernkit: warning: {text}", file=sys.stderr)


def _check(args: argparse.Namespace) -> int:
    from kernkit.core.assemble import check_choices, collect_registries, resolve_config
    from kernkit.core.config import to_toml

    config, plugins = resolve_config(args.config, _overrides(args.set), on_warning=_warn, every_builtin=True)
    registries = collect_registries(plugins)
    check_choices(config, registries)
    # what boot rejects before init runs (the machine, the namespace, init's program and its
    # arguments) is rejected here too: the kernel is built and booted, and never run
    from kernkit.core.assemble import boot
    from kernkit.core.kernel import Kernel

    quiet = io.BytesIO()
    kernel = Kernel(config, plugins, registries, stdin=io.BytesIO(), stdout=quiet, stderr=quiet)
    try:
        boot(kernel, check=True)
    finally:
        kernel.shutdown()
    print(f"# {config.path}: ok")
    print(to_toml(config.as_dict()), end="")
    return 0


def _plugins(args: argparse.Namespace) -> int:
    from kernkit.core.assemble import collect_registries, resolve_config
    from kernkit.core.hookspecs import CONTRACT_VERSION
    from kernkit.core.plugins import PluginManager

    if args.config:
        _, plugins = resolve_config(args.config, on_warning=_warn)
    else:
        plugins = PluginManager(on_warning=_warn)
    for info in plugins.plugins:
        hooks = ", ".join(h.removeprefix("kernkit_") for h in info.hooks) or "-"
        print(f"{info.name} {info.version} [{info.source}]")
        print(f"    hooks: {hooks}")
        if info.declaration.requires:
            print(f"    requires: {', '.join(info.declaration.requires)}")
    if args.verbose:
        print(f"hook contract {CONTRACT_VERSION}; hooks are called in this order:")
        for hook, names in plugins.hook_order().items():
            print(f"  {hook}: {', '.join(names) or '-'}")
    registries = collect_registries(plugins)
    for kind, entries in registries.items():
        if entries:
            names = ", ".join(f"{name} ({reg.plugin.rsplit('.', 1)[-1]})" for name, reg in entries.items())
            print(f"{kind}s: {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
