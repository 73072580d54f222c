"""The plugin contract: every hookspec is documented, and every hook has a behavioural test.

``HOOK_TESTS`` at the bottom maps each hook to its test; a meta-test fails when a hookspec is
added to :mod:`kernkit.core.hookspecs` without one.
"""

from __future__ import annotations

import inspect
import json
import re
import sys
import textwrap
from pathlib import Path

import pytest
from support import add_module, config_error, config_with_plugins, kernkit_cli, one_line_error, run_kernel

from kernkit.core import hookspecs
from kernkit.core.assemble import assemble, boot_order, resolve_config
from kernkit.core.errors import ConfigError, PluginError
from kernkit.core.process import ProcState

HOOKSPECS = {
    name: function
    for name, function in vars(hookspecs).items()
    if name.startswith("kernkit_") and callable(function)
}


# --- helpers --------------------------------------------------------------------------------


def config_for(path: Path, modules: list[str], extra: str = "", kernel: str = "") -> Path:
    """A config whose [kernel] loads ``modules`` (plus ``kernel`` lines), then ``extra`` tables."""
    return config_with_plugins(path, modules, kernel + textwrap.dedent(extra))


def plugin_config(
    tmp_path: Path, plugin_dir: Path, source: str, extra: str = "", kernel: str = ""
) -> tuple[Path, str]:
    """Write ``source`` as a plugin module and a config that loads it; return (config, module)."""
    module = add_module(plugin_dir, source, prefix="kk_hook")
    return config_for(tmp_path / "kernel.toml", [module], extra, kernel), module


# --- documentation of the contract ---------------------------------------------------------


def test_hookspecs_are_discovered():
    assert len(HOOKSPECS) >= 10
    for name, function in HOOKSPECS.items():
        assert getattr(function, f"{hookspecs.PROJECT}_spec", None) is not None, f"{name} is no hookspec"


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_hookspec_is_documented(name):
    function = HOOKSPECS[name]
    doc = inspect.getdoc(function)
    assert doc and doc.strip(), f"{name} has no docstring"
    signature = inspect.signature(function)
    for parameter in signature.parameters:
        assert f":param {parameter}:" in doc, f"{name}: parameter {parameter!r} is not documented"
    for documented in re.findall(r":param (\w+):", doc):
        assert documented in signature.parameters, f"{name}: documents a non-existent {documented!r}"
    returns_something = signature.return_annotation not in ("None", None, inspect.Signature.empty)
    if returns_something:  # a registration hook
        assert ":return:" in doc, f"{name}: the return value is not documented"
    else:
        assert ":return:" not in doc, f"{name}: a notification hook documents a return value"


def example_of(name: str) -> str:
    """The plugin module a hookspec's docstring shows after ``Example::``."""
    doc = inspect.getdoc(HOOKSPECS[name]) or ""
    if "Example::" not in doc:
        return ""
    body = []
    for line in doc.split("Example::", 1)[1].splitlines():
        if line.startswith((":param", ":return")):
            break
        body.append(line)
    return textwrap.dedent("\n".join(body)).strip() + "\n"


#: What running each example shows: (program and arguments, options, what is in out/err).
EXAMPLE_EFFECTS = {
    "kernkit_register_devices": (["cat", "#hello"], {}, "hello\n"),
    "kernkit_register_proc_files": (["cat", "/proc/1/threads"], {}, "1\n"),
    "kernkit_register_syscall_extensions": (["sysfuzz"], {"stdin": b"1f4 0 0 0 0 0 0\n"}, "1f4 -> 42"),
    "kernkit_register_schedulers": (["procs", "threads", "3"], {"sched__policy": "fifo"}, ""),
    "kernkit_register_architectures": (["hello"], {"machine__arch": "x86_64_copy"}, "Hello from kernkit!"),
    "kernkit_boot_steps": (["hello"], {}, "booting with 1 cores"),
    "kernkit_shutdown": (["hello"], {}, "guest instructions, status 0"),
}


@pytest.mark.parametrize("name", sorted(HOOKSPECS))
def test_hookspec_example_is_a_plugin_that_works(name, tmp_path, plugin_dir):
    source = example_of(name)
    assert source and "from kernkit.api import" in source, f"{name}: no Example:: using kernkit.api"
    assert "kernkit.core" not in source and "kernkit.plugins" not in source
    module = add_module(plugin_dir, source, prefix="kk_example")
    config = config_for(tmp_path / "k.toml", [module])
    program, options, shown = EXAMPLE_EFFECTS.get(name, (["hello"], {}, "Hello from kernkit!"))
    run = run_kernel(*program, config=config, trace=name == "kernkit_register_trace_styles", **options)
    assert run.status == 0, run.err
    assert shown in run.out + run.err
    if name == "kernkit_register_trace_styles":
        from kernkit.tools.traces import registered_styles
        from kernkit.tools.traces.timeline import build

        events = [json.loads(line) for line in run.trace.splitlines()]
        timeline = build(events, registered_styles(run.kernel.plugins))
        assert "hello from a boot step" in [i.name for i in timeline.instants]


def test_register_trace_styles_hook(tmp_path, plugin_dir):
    """A plugin's style decides how ``kernkit trace html`` draws its events; a second style for
    an event kind another plugin already styles is an error naming both."""
    module = add_module(plugin_dir, example_of("kernkit_register_trace_styles"), prefix="kk_hook")
    config = config_for(tmp_path / "k.toml", [module])
    run = run_kernel(config=config, trace=True)
    from kernkit.core.plugins import PluginManager
    from kernkit.tools.traces import registered_styles
    from kernkit.tools.traces.page import to_html
    from kernkit.tools.traces.timeline import build

    events = [json.loads(line) for line in run.trace.splitlines()]
    plugins = PluginManager(autoload=False)
    without = to_html(build(events, registered_styles(plugins)), "t", registered_styles(plugins))
    plugins.load_modules([module])
    styles = registered_styles(plugins)
    page = to_html(build(events, styles), "t", styles)
    assert "the example said hello (1)" in page and "hello from a boot step" in page
    assert "the example said hello" not in without  # no style: the event is not drawn
    clash = add_module(plugin_dir, """
        from kernkit.core.hookspecs import hookimpl
        from kernkit.core.records import TraceStyle

        @hookimpl
        def kernkit_register_trace_styles():
            return [TraceStyle("kmsg", "my kernel messages")]
    """, prefix="kk_hook")
    with pytest.raises(PluginError, match=f"trace style 'kmsg' is registered by both 'kernkit.core.coreplugin' and '{clash}'"):
        run_kernel(config=config_for(tmp_path / "c.toml", [clash]))


def test_every_hookspec_has_a_behavioural_test():
    assert set(HOOK_TESTS) == set(HOOKSPECS)
    module = sys.modules[__name__]
    for hook, test in HOOK_TESTS.items():
        assert test.__name__.startswith("test_"), hook
        assert getattr(module, test.__name__) is test, f"{hook}: {test.__name__} is not a test here"


# --- kernkit_config_sections ----------------------------------------------------------------

DEMO_SECTION = """
import attrs
from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import at_most, option, positive
from kernkit.core.records import ConfigSection


@attrs.frozen
class DemoOptions:
    level: int = option(1, "how much demo", validator=[positive, at_most(10)])
    label: str = option("", "a name for it")

    def __attrs_post_init__(self):
        if self.level > 5 and not self.label:
            raise ValueError("a level above 5 needs a label")


@hookimpl
def kernkit_config_sections():
    return [ConfigSection("demo", DemoOptions, "a demo section")]
"""


def test_config_sections_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, DEMO_SECTION, "[demo]\nlevel = 3\n")
    run = run_kernel(config=config)
    assert run.status == 0
    assert run.kernel.config["demo"].level == 3
    assert run.kernel.config["demo"].label == ""

    config_for(config, [module])  # no [demo] table: the defaults
    assert resolve_config(config)[0]["demo"].level == 1

    bad = {
        "level = 0": "demo.level: must be positive, got 0",
        "level = 11": "demo.level: must be at most 10, got 11",
        'level = "3"': "demo.level: expected an integer, got a string ('3')",
        "levle = 3": "demo.levle: unknown option (did you mean 'level'?); [demo] has: level, label",
        "level = 7": "[demo]: a level above 5 needs a label",
    }
    for line, expected in bad.items():
        config_for(config, [module], f"[demo]\n{line}\n")
        assert config_error(config) == f"{config}: {expected}"


def test_config_section_unknown_without_its_plugin(tmp_path):
    config = tmp_path / "kernel.toml"
    config.write_text("[demo]\nlevel = 3\n")
    assert config_error(config).startswith(f"{config}: [demo]: unknown section")


def test_config_section_claimed_twice(tmp_path, plugin_dir):
    config, module = plugin_config(
        tmp_path,
        plugin_dir,
        DEMO_SECTION.replace('ConfigSection("demo"', 'ConfigSection("machine"'),
    )
    with pytest.raises(PluginError) as info:
        resolve_config(config)
    assert str(info.value) in (
        f"config section 'machine' is registered by both 'kernkit.core.coreplugin' and '{module}'",
        f"config section 'machine' is registered by both '{module}' and 'kernkit.core.coreplugin'",
    )


# --- kernkit_register_architectures ---------------------------------------------------------

TOY_ARCH = """
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import Architecture

CREATED = []


def create(kernel):
    from kernkit.arch.x86_64.machine import X86Machine

    CREATED.append(kernel)
    return X86Machine(kernel)


@hookimpl
def kernkit_register_architectures():
    return [
        Architecture("toy", machine_ids={"elf": 62}, create_machine=create, description="x86-64, renamed"),
        Architecture("toy16", machine_ids={"elf": 3}, create_machine=create, description="claims i386 programs"),
    ]
"""


def test_register_architectures_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, TOY_ARCH)
    proc = kernkit_cli("plugins", "--config", str(config), env={"PYTHONPATH": str(plugin_dir)})
    assert proc.returncode == 0, proc.stderr.decode()
    line = next(x for x in proc.stdout.decode().splitlines() if x.startswith("architectures: "))
    assert f"toy ({module})" in line and f"toy16 ({module})" in line and "x86_64 (x86_64)" in line

    assert config_error(config, {"machine.arch": "arm"}) == (
        "<command line>: machine.arch: unknown architecture 'arm'; known: toy, toy16, x86_64"
    )

    run = run_kernel("hello", config=config, machine__arch="toy")
    assert (run.status, run.out) == (0, "Hello from kernkit!\n")
    assert run.kernel.arch.name == "toy"
    assert [run.kernel] == sys.modules[module].CREATED


def test_architecture_elf_machine_is_checked(tmp_path, plugin_dir):
    config, _ = plugin_config(tmp_path, plugin_dir, TOY_ARCH, '[machine]\narch = "toy16"\n')
    message = one_line_error(kernkit_cli("boot", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert "ELF for machine 62, but this kernel's architecture is toy16 (e_machine 3)" in message


# --- kernkit_register_syscall_tables --------------------------------------------------------

DEMO_PERSONALITY = """
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import Syscall, SyscallTable
from kernkit.plugins.linux_abi import SYSCALLS
from kernkit.plugins.linux_abi.startup import setup_process


def exit_group_42(thread, status):
    thread.kernel.exit_process(thread.process, 42)


def calls():
    for number, name, handler, nargs in SYSCALLS:
        yield Syscall(number, name, exit_group_42 if name == "exit_group" else handler, nargs)


@hookimpl
def kernkit_register_syscall_tables():
    return [SyscallTable("demo", tuple(calls()), setup_process, "linux, but every exit is 42", errno_fault=14, errno_nosys=38)]
"""


def test_register_syscall_tables_hook(tmp_path, plugin_dir):
    config, _ = plugin_config(tmp_path, plugin_dir, DEMO_PERSONALITY)
    assert run_kernel("exitcode", config=config).status == 3  # linux is still the default
    run = run_kernel("exitcode", config=config, kernel__personalities=["demo", "linux"])
    assert run.status == 42
    assert run.kernel.init.personality.name == "demo"
    assert run.kernel.personality("linux").name == "linux"
    message = config_error(config, {"kernel.personalities": ["demo", "bsd"]})
    assert (
        message
        == "<command line>: kernel.personalities: unknown syscall table 'bsd'; known: akaros, demo, linux"
    )


def test_syscall_table_with_a_duplicate_number_is_a_plugin_error(tmp_path, plugin_dir):
    source = DEMO_PERSONALITY.replace(
        "tuple(calls())", '(*calls(), Syscall(1, "write_again", exit_group_42, 3))'
    )
    config, module = plugin_config(tmp_path, plugin_dir, source, kernel='personalities = ["demo"]\n')
    message = one_line_error(kernkit_cli("boot", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert "write_again" in message and module in message


# --- kernkit_register_schedulers ------------------------------------------------------------

FIFO = """
from collections import deque

from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import Scheduler

EVENTS = []


class Fifo:
    def __init__(self, kernel):
        self.queue = deque()

    def thread_runnable(self, thread):
        EVENTS.append(("runnable", thread.tid))
        if thread not in self.queue:
            self.queue.append(thread)

    def thread_blocked(self, thread):
        EVENTS.append(("blocked", thread.tid))
        if thread in self.queue:
            self.queue.remove(thread)

    def thread_exited(self, thread):
        EVENTS.append(("exited", thread.tid))
        if thread in self.queue:
            self.queue.remove(thread)

    def pick_next(self, core):
        if not self.queue:
            return None
        thread = self.queue.popleft()
        EVENTS.append(("pick", thread.tid))
        return thread

    def tick(self, core, current):
        return False


@hookimpl
def kernkit_register_schedulers():
    return [Scheduler("fifo_demo", Fifo, "first come, first served")]
"""


def test_register_schedulers_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, FIFO, '[sched]\npolicy = "fifo_demo"\n')
    run = run_kernel(config=config)
    assert (run.status, run.out) == (0, "Hello from kernkit!\n")
    assert type(run.kernel.scheduler).__name__ == "Fifo"
    events = sys.modules[module].EVENTS
    assert events[:2] == [("runnable", 1), ("pick", 1)]
    assert events[-1] == ("exited", 1)
    assert config_error(config, {"sched.policy": "lottery"}) == (
        "<command line>: sched.policy: unknown scheduler 'lottery'; known: fifo_demo, mcp, rr"
    )


# --- kernkit_register_devices ---------------------------------------------------------------

COUNTER_DEVICE = '''
from kernkit.core.devices import DMDIR, QTDIR, Chan, DeviceDriver, DeviceError, Dir, Qid
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import Device

KERNKIT_CONTRACT = ">=2.0,<3"
CREATED = []


class Counter(DeviceDriver):
    """A directory holding one file, count: writing adds the bytes' number, reading tells it."""

    def __init__(self, kernel):
        super().__init__(kernel)
        self.total = 0
        CREATED.append(self)

    def attach(self, spec):
        return Chan(self, Qid(0, 0, QTDIR))

    def walk(self, chan, name, *, caller=None):
        return Chan(self, Qid(1)) if name == "count" else None

    def stat(self, chan, *, caller=None):
        if chan.qid.type & QTDIR:
            return Dir("counter", chan.qid, DMDIR | 0o555)
        return Dir("count", chan.qid, 0o666, len(str(self.total)) + 1)

    def dirread(self, chan, *, caller=None):
        return [self.stat(Chan(self, Qid(1)))]

    def read(self, chan, count, offset, *, caller=None):
        return f"{self.total}\\n".encode()[offset : offset + count]

    def write(self, chan, data, offset, *, caller=None):
        if data.startswith(b"bad"):
            raise DeviceError("EINVAL", "no bad bytes")
        self.total += len(data)
        return len(data)


@hookimpl
def kernkit_register_devices():
    return [Device("counter", Counter, "counts the bytes written to it")]
'''

COUNTER_BINDS = """
[namespace]
binds = ["bind -a #cons /dev", "bind -a #counter /dev", "bind -c #tmpfs /tmp"]
"""


def test_register_devices_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, COUNTER_DEVICE, COUNTER_BINDS)
    run = run_kernel(
        "run",
        "echo hello > /dev/count",
        "echo abc >> #counter/count",
        "cat /dev/count",
        "ls -l /dev/count",
        config=config,
    )
    assert run.status == 0, run.err
    assert run.out == "10\n-rw-rw-rw-        3 /dev/count\n"
    [driver] = sys.modules[module].CREATED  # one driver per kernel, made on first use
    assert driver.total == 10 and driver.name == "counter"
    refused = run_kernel("echo", "bad", ">", "/dev/count", config=config)
    assert refused.status == 1 and refused.err == "echo: write: Invalid argument\n"


def test_device_driver_without_caller_parameters_is_refused_by_name(tmp_path, plugin_dir):
    # a driver written before contract 2.0 (no caller=) would be called with an argument it
    # does not take: the namespace refuses it when first made, naming the operation
    old_style = COUNTER_DEVICE.replace("def walk(self, chan, name, *, caller=None)", "def walk(self, chan, name)")
    config, _ = plugin_config(tmp_path, plugin_dir, old_style, COUNTER_BINDS)
    with pytest.raises(ConfigError) as refused:
        run_kernel("cat", "/dev/count", config=config)
    assert str(refused.value).endswith(
        "namespace.binds: item 1: 'bind -a #counter /dev': #counter: its driver's walk() takes no caller= (hook contract 2.0)"
    )


@pytest.mark.parametrize(
    ("walk", "accepted"),
    [
        ("def walk(self, chan, name, *, caller=None): return None", True),
        ("def walk(self, chan, name, caller=None): return None", True),
        ("def walk(self, chan, name, **options): return None", True),
        ("def walk(self, chan, name, *, caller_=None): return None", False),
        ("@_passing\n    def walk(self, chan, name): return None", False),
        ("@_passing\n    def walk(self, chan, name, *, caller=None): return None", True),
    ],
)
def test_driver_operations_must_take_caller_however_written(walk, accepted):
    # read from the function's code, or through inspect.signature for a wrapped one (whose
    # own code takes *args, **kwargs)
    from kernkit.core.devices import DeviceDriver, DeviceError, check_caller_parameters

    source = textwrap.dedent(
        """
        import functools

        def _passing(function):
            @functools.wraps(function)
            def wrapper(*args, **kwargs):
                return function(*args, **kwargs)
            return wrapper

        class Driver(DeviceDriver):
            WALK
        """
    ).replace("WALK", walk)
    namespace: dict = {"DeviceDriver": DeviceDriver}
    exec(source, namespace)
    driver = namespace["Driver"].__new__(namespace["Driver"])  # checked by class: no kernel needed
    if accepted:
        check_caller_parameters(driver, "probe")
    else:
        with pytest.raises(DeviceError, match="walk\\(\\) takes no caller="):
            check_caller_parameters(driver, "probe")


def test_device_name_clash_names_both_plugins(tmp_path, plugin_dir):
    config, module = plugin_config(
        tmp_path, plugin_dir, COUNTER_DEVICE.replace('Device("counter"', 'Device("cons"')
    )
    message = one_line_error(kernkit_cli("check", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message.startswith("device 'cons' is registered by both ")
    assert "'kernkit.plugins.console'" in message and f"'{module}'" in message


# --- kernkit_register_proc_files ------------------------------------------------------------

VCORE_FILE = """
from kernkit.core.devices import DeviceError
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import ProcFile

WRITTEN = []


def read_vcores(kernel, process):
    return f"vcores {len(process.threads)} of {process.name}\\n"


def write_vcores(kernel, process, data):
    if data.strip() != b"poke":
        raise DeviceError("EINVAL")
    WRITTEN.append((process.pid, data))


@hookimpl
def kernkit_register_proc_files():
    return [ProcFile("{name}", read_vcores, write_vcores, "vcores of the process")]
"""


def test_register_proc_files_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, VCORE_FILE.replace("{name}", "vcores"))
    run = run_kernel("run", "cat /proc/1/vcores", "echo poke > /proc/1/vcores", "ls #proc/1", config=config)
    assert run.status == 0, run.err
    assert run.out.splitlines() == [
        "vcores 1 of run",
        "args",
        "ctl",
        "fd",
        "mcp",
        "ns",
        "status",
        "strace",
        "vcores",
        "vmexits",
    ]
    assert sys.modules[module].WRITTEN == [(1, b"poke\n")]
    refused = run_kernel("echo", "nonsense", ">", "/proc/self/vcores", config=config)
    assert refused.err == "echo: write: Invalid argument\n"


def test_proc_file_clashing_with_a_builtin_one_names_both_plugins(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, VCORE_FILE.replace("{name}", "status"))
    message = one_line_error(kernkit_cli("check", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message == f"proc file 'status' is registered by both 'kernkit.plugins.ns' and '{module}'"


# --- kernkit_register_syscall_extensions ----------------------------------------------------

EXTENSION = """
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import Syscall, SyscallExtension

CALLS = []


def sys_answer(thread):
    CALLS.append(thread.process.pid)
    return 42


@hookimpl
def kernkit_register_syscall_extensions():
    return [SyscallExtension("answer", "linux", [Syscall({number}, "answer", sys_answer)])]
"""


def test_register_syscall_extensions_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, EXTENSION.replace("{number}", "1000"))
    run = run_kernel(config=config)
    assert (run.status, run.out) == (0, "Hello from kernkit!\n")
    call = run.kernel.init.syscall_map[1000]
    assert (call.name, call.handler(run.kernel.init.threads[0])) == ("answer", 42)
    assert run.kernel.personality("linux").by_number()[39].name == "getpid"  # the rest is kept
    assert run.kernel.registries["syscall table"]["akaros"].record.by_number()[34].name == "vmm_add_gpcs"
    (tmp_path / "b").mkdir()
    clash, _ = plugin_config(tmp_path / "b", plugin_dir, EXTENSION.replace("{number}", "39"))
    message = one_line_error(kernkit_cli("check", str(clash), env={"PYTHONPATH": str(plugin_dir)}))
    assert "number 39 used by both 'getpid' and 'answer'" in message


# --- kernkit_finalize_context -------------------------------------------------------------------

FINALIZE = """
from kernkit.core.hookspecs import hookimpl

SEEN = []


@hookimpl
def kernkit_finalize_context(kernel, thread, core):
    SEEN.append((thread.process.name, core, type(thread.context).__name__))
"""


def test_finalize_context_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, FINALIZE)
    akaros = {"kernel__personalities": ["linux", "akaros"], "sched__policy": "mcp", "machine__cores": 4}
    run = run_kernel("strace", "-n", "-q", "vmrunkernel", "-m", "-w", "/bin/guest", config=config, **akaros)
    assert run.status == 0, run.err
    seen = sys.modules[module].SEEN
    # the personality calls it before saving a notified vcore's context, on the vcore's core; the
    # vmm plugin (called first) has turned a guest context back into a user context by then
    assert seen and set(seen) == {("vmrunkernel", 1, "X86Context")}
    assert "guest: waiting for an interrupt\nguest: woken up\n" in run.out


# --- kernkit_register_binary_formats --------------------------------------------------------

SCRIPT_FORMAT = """
from kernkit.core.errors import ProgramError
from kernkit.core.hookspecs import hookimpl
from kernkit.core.programs import resolve_program
from kernkit.core.records import BinaryFormat
from kernkit.plugins.elf.loader import load_elf

PROBED = []


def probe(header):
    PROBED.append(header)
    return header.startswith(b"#!kk")


def load(kernel, process, data, path):
    words = data.split(b"\\n", 1)[0].split()[1:]
    if not words:
        raise ProgramError(f"{path}: kk script without an interpreter (kkscript format)")
    target = resolve_program(words[0].decode(), None)
    return load_elf(kernel, process, target.read_bytes(), str(target))


@hookimpl
def kernkit_register_binary_formats():
    return [BinaryFormat("kkscript", probe, load, "#!kk PROGRAM: run a packaged program")]
"""


def test_register_binary_formats_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, SCRIPT_FORMAT)
    script = tmp_path / "greet.kk"
    script.write_bytes(b"#!kk hello\n")
    run = run_kernel(str(script), config=config)
    assert (run.status, run.out) == (0, "Hello from kernkit!\n")
    assert sys.modules[module].PROBED[-1] == b"#!kk hello\n"  # the first bytes of the file

    broken = tmp_path / "broken.kk"
    broken.write_bytes(b"#!kk\n")
    env = {"PYTHONPATH": str(plugin_dir)}
    message = one_line_error(kernkit_cli("boot", str(config), "--", str(broken), env=env))
    assert message == f"{broken}: kk script without an interpreter (kkscript format)"


def test_unknown_binary_format_is_one_line(tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\x01 this is not a program\n" * 10)
    message = one_line_error(kernkit_cli("boot", "--", str(garbage)))
    assert message.startswith(f"{garbage}: not a program this kernel can load")
    script = tmp_path / "greet.kk"
    script.write_bytes(b"#!kk hello\n")  # without the plugin, a #! script whose interpreter is kk
    assert one_line_error(kernkit_cli("boot", "--", str(script))).startswith(
        f"{script}: interpreter kk: not in the namespace"
    )


# --- kernkit_boot_steps ---------------------------------------------------------------------

BOOT_STEPS = """
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import BootStep

RAN = []


def step(name):
    def run(kernel):
        RAN.append((name, kernel.init is not None))

    return run


@hookimpl
def kernkit_boot_steps():
    return [
        BootStep("late", "init", step("late"), after=("init",)),
        BootStep("b_svc", "services", step("b_svc")),
        BootStep("a_svc", "services", step("a_svc"), after=("c_svc",)),
        BootStep("c_svc", "services", step("c_svc"), after=("b_svc",)),
        BootStep("d_svc", "services", step("d_svc")),
        BootStep("z_dev", "devices", step("z_dev")),
        BootStep("m_machine", "machine", step("m_machine"), after=("z_dev",)),
    ]
"""


def test_boot_steps_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, BOOT_STEPS)
    run = run_kernel(config=config)
    assert (run.status, run.out) == (0, "Hello from kernkit!\n")
    # by phase; within a phase as `after` requires, then by name; `after` across phases is moot
    assert sys.modules[module].RAN == [
        ("m_machine", False),
        ("z_dev", False),
        ("b_svc", False),
        ("d_svc", False),
        ("c_svc", False),
        ("a_svc", False),
        ("late", True),  # after the core's "init" step started the first process
    ]
    order = [s.name for s in boot_order(run.kernel.registries)]
    assert order.index("init") < order.index("late") and order[-1] in ("late", "gdb")


def test_boot_step_cycle_is_a_plugin_error(tmp_path, plugin_dir):
    source = BOOT_STEPS.replace('step("b_svc"))', 'step("b_svc"), after=("a_svc",))')
    config, _ = plugin_config(tmp_path, plugin_dir, source)
    with pytest.raises(PluginError, match=r"^boot steps depend on each other in a cycle: ") as info:
        run_kernel(config=config)
    assert all(name in str(info.value) for name in ("a_svc", "b_svc", "c_svc"))
    message = one_line_error(kernkit_cli("boot", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message.startswith("boot steps depend on each other in a cycle: ")


# --- kernkit_process_created / kernkit_process_exited / kernkit_shutdown ------------------

LIFECYCLE = """
from kernkit.core.hookspecs import hookimpl

CREATED = []
EXITED = []
SHUTDOWN = []


@hookimpl
def kernkit_process_created(kernel, process):
    CREATED.append((kernel, process, process.pid, list(process.argv), process.state, process.image,
                    kernel.init))


@hookimpl
def kernkit_process_exited(kernel, process):
    EXITED.append((kernel, process, process.exit_status, process.kill_reason, process.state,
                   kernel.exit_status))


@hookimpl
def kernkit_shutdown(kernel):
    SHUTDOWN.append((kernel, kernel.exit_status, kernel.finished,
                     [p.alive for p in kernel.processes.values()]))
"""


def test_process_created_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, LIFECYCLE)
    run = run_kernel("exitcode", "7", config=config)
    [(kernel, process, pid, argv, state, image, init_then)] = sys.modules[module].CREATED
    assert kernel is run.kernel
    assert process is run.kernel.init
    assert (pid, argv) == (1, ["exitcode", "7"])
    assert state is ProcState.CREATED and image is None  # before its program is loaded
    assert process.parent is None and init_then is None


def test_process_exited_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, LIFECYCLE)
    run = run_kernel("exitcode", "7", config=config)
    assert run.status == 7
    [(kernel, process, status, reason, state, kernel_status)] = sys.modules[module].EXITED
    assert (kernel, process) == (run.kernel, run.kernel.init)
    assert (status, reason, state) == (7, None, ProcState.DYING)
    assert kernel_status is None  # the hook runs before the run's status is decided

    sys.modules[module].EXITED.clear()
    run = run_kernel("fault", "null", config=config)
    assert run.status == 128 + 11
    [(_, _, status, reason, _, _)] = sys.modules[module].EXITED
    assert status == 128 + 11 and reason


def test_process_exited_hook_failure_names_plugin_and_hook(tmp_path, plugin_dir):
    source = LIFECYCLE.replace(
        "    EXITED.append(", "    raise RuntimeError('exit hook broke')\n    EXITED.append("
    )
    config, module = plugin_config(tmp_path, plugin_dir, source)
    proc = kernkit_cli("boot", str(config), env={"PYTHONPATH": str(plugin_dir)})
    assert proc.returncode != 0
    assert f"plugin '{module}' failed in kernkit_process_exited: RuntimeError: exit hook broke" in (
        proc.stderr.decode()
    )


def test_process_exited_hook_failure_is_one_line(tmp_path, plugin_dir):
    source = LIFECYCLE.replace(
        "    EXITED.append(", "    raise RuntimeError('exit hook broke')\n    EXITED.append("
    )
    config, module = plugin_config(tmp_path, plugin_dir, source)
    message = one_line_error(kernkit_cli("boot", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message == f"plugin '{module}' failed in kernkit_process_exited: RuntimeError: exit hook broke"


@pytest.mark.parametrize("hook", ["kernkit_process_created", "kernkit_shutdown"])
def test_lifecycle_hook_failure_is_one_line(tmp_path, plugin_dir, hook):
    source = LIFECYCLE.replace(f"def {hook}(", f"def _{hook}(") + textwrap.dedent(
        f"""

        @hookimpl
        def {hook}(kernel{", process" if hook == "kernkit_process_created" else ""}):
            raise RuntimeError("lifecycle hook broke")
        """
    )
    config, module = plugin_config(tmp_path, plugin_dir, source)
    message = one_line_error(kernkit_cli("boot", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message == f"plugin '{module}' failed in {hook}: RuntimeError: lifecycle hook broke"


def test_shutdown_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, LIFECYCLE)
    run = run_kernel("exitcode", "5", config=config)
    assert run.status == 5
    calls = sys.modules[module].SHUTDOWN
    assert calls == [(run.kernel, 5, True, [False])]
    run.kernel.shutdown()  # a second shutdown does not notify again
    assert len(calls) == 1

    calls.clear()
    run = run_kernel("spin", config=config, kernel__max_instructions=200_000)
    assert run.status == 124  # the instruction budget ran out
    [(kernel, status, finished, alive)] = calls
    assert (kernel, status, finished, alive) == (run.kernel, 124, True, [False])
    [(_, process, exit_status, reason, _, _)] = sys.modules[module].EXITED[-1:]
    assert process is run.kernel.init and exit_status == 128 + 9 and reason == "kernel shut down"


def test_hooks_are_not_called_for_a_kernel_that_is_only_assembled(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, LIFECYCLE)
    kernel = assemble(config)
    try:
        recorded = sys.modules[module]
        assert (recorded.CREATED, recorded.EXITED, recorded.SHUTDOWN) == ([], [], [])
    finally:
        kernel.machine.close()


# --- kernkit_register_monitor_commands -------------------------------------------------------

QUEUES = """
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import MonitorCommand

def queues(kernel, core="0"):
    if not core.isdigit():
        raise ValueError(f"not a core number: {core!r}")
    return f"core {core}: no kernel messages ({len(kernel.processes)} processes)"

def boom(kernel):
    raise RuntimeError("broken command")

@hookimpl
def kernkit_register_monitor_commands():
    return [MonitorCommand("queues", queues, "work queued on CORE", "queues [CORE]"),
            MonitorCommand("boom", boom, "a command with a bug")]
"""


def test_register_monitor_commands_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, QUEUES)
    proc = kernkit_cli(
        "boot",
        str(config),
        "--monitor",
        stdin=b"help\nqueues\nqueues x\nqueues 1 2 3\nboom\nps\ncontinue\n",
        env={"PYTHONPATH": str(plugin_dir)},
    )
    assert proc.returncode == 0 and proc.stdout == b"Hello from kernkit!\n"
    err = proc.stderr.decode()
    assert "  queues [CORE]        work queued on CORE" in err
    assert err.index("  ps ") < err.index("  queues [CORE]") < err.index("  continue ")
    assert "core 0: no kernel messages (1 processes)" in err
    assert "queues: not a core number: 'x'" in err
    assert "queues: queues() takes from 1 to 2 positional arguments but 4 were given" in err
    assert "boom: failed: RuntimeError: broken command" in err  # the session goes on
    assert "    1  hello                RUNNABLE_S   0" in err  # the core's own commands stay

    clash = QUEUES.replace('MonitorCommand("queues"', 'MonitorCommand("ps"')
    config, module = plugin_config(tmp_path, plugin_dir, clash)
    message = one_line_error(kernkit_cli("boot", str(config), env={"PYTHONPATH": str(plugin_dir)}))
    assert message == f"monitor command 'ps' is registered by both 'kernkit.core.coreplugin' and '{module}'"


# --- kernkit_poll ----------------------------------------------------------------------------

POLL = """
from kernkit.core.hookspecs import hookimpl

POLLS = []

@hookimpl
def kernkit_poll(kernel):
    POLLS.append((kernel.now(), kernel.instructions, [t is not None for t in kernel.current]))
    if len(POLLS) == 5:
        kernel.finished = True  # as a key that ends the run would
"""


DECLARE = """
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import PluginDeclaration


@hookimpl
def kernkit_declare_plugin():
    return PluginDeclaration(requires=("net",), description="needs the network")
"""


def test_declare_plugin_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, DECLARE)
    run = run_kernel(config=config)  # every built-in is loaded: its requirement is there
    assert (run.status, run.out) == (0, "Hello from kernkit!\n")
    info = {p.name: p for p in run.kernel.plugins.plugins}[module]
    assert info.declaration.requires == ("net",)
    minimal = 'builtins = ["x86_64", "elf", "ns", "linux_abi", "console", "rr"]\n'
    config = config_for(tmp_path / "minimal.toml", [module], kernel=minimal)
    assert config_error(config).endswith(f"kernel.builtins: plugin {module!r} requires 'net', which is not loaded")
    bad, bad_module = plugin_config(tmp_path, plugin_dir, DECLARE.replace('PluginDeclaration(requires=("net",), description="needs the network")', '["net"]'))
    with pytest.raises(PluginError, match=f"plugin {bad_module!r} returned list from kernkit_declare_plugin; expected a PluginDeclaration"):
        run_kernel(config=bad)


def test_poll_hook(tmp_path, plugin_dir):
    config, module = plugin_config(tmp_path, plugin_dir, POLL)
    run = run_kernel("spin", "1000000000", config=config, machine__quantum=50_000)
    assert run.status == 128 + 9  # init was killed when the run ended
    polls = sys.modules[module].POLLS
    assert len(polls) == 5
    # between rounds: time advances by one quantum per poll, cores are stopped; a run ends at
    # the first block boundary at or after its quantum (spin's loop is one 8-instruction block),
    # and the next round starts that much into its quantum
    assert [p[0] for p in polls] == [0, 50_000, 100_000, 150_000, 200_000]
    done = [p[1] for p in polls]
    assert done[0] == 0
    assert all(50_000 * i <= done[i] < 50_000 * i + 8 for i in range(1, 5)), done
    assert [p[2] for p in polls] == [[False]] + [[True]] * 4  # spin holds core 0 after the first round
    assert run.kernel.instructions == done[4]


COSTS = """
from kernkit.api import KernelCosts, hookimpl

@hookimpl
def kernkit_kernel_costs(config):
    return KernelCosts(syscall_entry=1000, syscall_exit=1000)
"""


def test_kernel_costs_hook(tmp_path, plugin_dir):
    plain = run_kernel("syscall_loop", "100")
    config, _ = plugin_config(tmp_path, plugin_dir, COSTS)
    costly = run_kernel("syscall_loop", "100", config=config)
    assert costly.status == 0 and costly.kernel.costs.syscall_entry == 1000
    calls = costly.kernel.dispatcher.count
    assert costly.kernel.elapsed_ns() - plain.kernel.elapsed_ns() == 2000 * calls  # 1 GHz: 1 cycle = 1 ns
    assert costly.kernel.instructions == plain.kernel.instructions
    # a plugin's table wins over the built-in presets' (most recently registered first)
    preset = run_kernel("syscall_loop", "100", config=config, costs__preset="linux-like")
    assert preset.kernel.costs.syscall_entry == 1000
    silent, _ = plugin_config(tmp_path, plugin_dir, COSTS.replace("return KernelCosts(syscall_entry=1000, syscall_exit=1000)", "return None"))
    assert run_kernel("syscall_loop", "100", config=silent).kernel.costs is None


#: Each hookspec -> the test that shows it working (see test_every_hookspec_has_a_behavioural_test).
HOOK_TESTS = {
    "kernkit_config_sections": test_config_sections_hook,
    "kernkit_declare_plugin": test_declare_plugin_hook,
    "kernkit_register_architectures": test_register_architectures_hook,
    "kernkit_register_syscall_tables": test_register_syscall_tables_hook,
    "kernkit_register_syscall_extensions": test_register_syscall_extensions_hook,
    "kernkit_finalize_context": test_finalize_context_hook,
    "kernkit_register_schedulers": test_register_schedulers_hook,
    "kernkit_register_devices": test_register_devices_hook,
    "kernkit_register_proc_files": test_register_proc_files_hook,
    "kernkit_register_binary_formats": test_register_binary_formats_hook,
    "kernkit_register_monitor_commands": test_register_monitor_commands_hook,
    "kernkit_boot_steps": test_boot_steps_hook,
    "kernkit_register_trace_styles": test_register_trace_styles_hook,
    "kernkit_poll": test_poll_hook,
    "kernkit_kernel_costs": test_kernel_costs_hook,
    "kernkit_process_created": test_process_created_hook,
    "kernkit_process_exited": test_process_exited_hook,
    "kernkit_shutdown": test_shutdown_hook,
}
