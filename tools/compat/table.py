"""docs/linux-compat.md: every x86-64 Linux system call and its state in kernkit, the /proc and
/dev files a process sees, and the suite's result per program (``python -m kernkit.tools.docgen``
writes it; a test keeps it equal to what this module generates)."""

from __future__ import annotations

import functools
import hashlib
import inspect
import re
import tomllib
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import attrs

from kernkit.core.assemble import collect_registries
from kernkit.core.plugins import PluginManager
from kernkit.core.programs import package_dir
from kernkit.tools.compat.suite import Check, load_suite, read_expected
from kernkit.tools.matrix.judge import unittest_results

HERE = Path(__file__).resolve().parent
NOTES = HERE / "partial.toml"
LINUX = "linux"


@attrs.frozen
class LinuxCall:
    number: int
    name: str
    in_linux: bool  # False: Linux keeps the number but has no entry point (-ENOSYS there too)


@functools.cache
def linux_calls() -> tuple[LinuxCall, ...]:
    """The x86-64 Linux system call table, 0-462 (syscalls_x86_64.tsv)."""
    calls = []
    for line in (HERE / "syscalls_x86_64.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            number, name, where = line.split("\t")
            calls.append(LinuxCall(int(number), name, where == "linux"))
    return tuple(calls)


def syscall_names() -> dict[int, str]:
    return {call.number: call.name for call in linux_calls()}


def registered_linux_table() -> dict[int, object]:
    """Number -> Syscall of the Linux personality with every extension (sockets) merged in."""
    registries = collect_registries(PluginManager(autoload=False))
    return registries["syscall table"][LINUX].record.by_number()


def handler_hash(handler: object) -> str:
    """A hash of the handler's source and of the functions of its module that it names (a
    handler that only passes its arguments on, like readlink to readlinkat, changes with them)."""
    source = inspect.getsource(handler)
    module = inspect.getmodule(handler)
    parts = [source]
    for name, value in sorted(vars(module).items() if module is not None else ()):
        local = inspect.isfunction(value) and value is not handler and value.__module__ == module.__name__
        if local and re.search(rf"\b{re.escape(name)}\(", source):
            parts.append(inspect.getsource(value))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:12]


def read_notes() -> dict[str, dict[str, str]]:
    """System call name -> {missing, source}: what a registered call leaves out, and the hash of
    its handler's source when that was written down."""
    return tomllib.loads(NOTES.read_text())


def stale_notes() -> list[str]:
    """Notes that no longer describe their handler: the call is gone, or its code changed."""
    table = {call.name: call for call in registered_linux_table().values()}
    problems = []
    for name, note in read_notes().items():
        call = table.get(name)
        if call is None:
            problems.append(f"{name}: noted as partial, but the Linux table has no such call")
        elif handler_hash(call.handler) != note.get("source"):
            problems.append(
                f"{name}: its handler {call.handler.__module__}.{call.handler.__qualname__} changed "
                f"since the note was written (source {handler_hash(call.handler)}); check the note"
            )
    return problems


def states() -> list[tuple[LinuxCall, str, str]]:
    """(call, state, detail) for every Linux call: implemented, partial (detail: what is
    missing) or -ENOSYS."""
    table, notes = registered_linux_table(), read_notes()
    rows = []
    for call in linux_calls():
        registered = table.get(call.number)
        if registered is None:
            rows.append((call, "-ENOSYS", "" if call.in_linux else "Linux has no entry point either"))
        elif call.name in notes:
            rows.append((call, "partial", notes[call.name]["missing"]))
        else:
            rows.append((call, "implemented", ""))
    return rows


def namespace_listing() -> str:
    """What a Linux process of the default kernel sees in /dev, /proc and its own /proc/PID."""
    from kernkit.tools.testing import boot_kernel

    run = boot_kernel("ls", "/dev", "/proc", "/proc/1")
    blocks = run.out.strip().split("\n\n")
    lines = []
    for block in blocks:
        head, *names = block.splitlines()
        shown = [name for name in names if not name.isdigit()]
        numbered = " (and a folder per process)" if len(shown) < len(names) else ""
        lines.append(f"- `{head.rstrip(':')}`{numbered}: " + ", ".join(f"`{name}`" for name in shown))
    return "\n".join(lines)


@attrs.frozen
class ProgramResult:
    """One program's line in the table: its checks with a reference, how many kernkit passes
    (those not marked expected-fail), how many qemu-user passes."""

    program: str
    tried: int
    kernkit: int
    qemu: int


def suite_results(checks: Iterable[Check]) -> list[ProgramResult]:
    by_program: dict[str, list[Check]] = {}
    for check in checks:
        by_program.setdefault(program_of(check.name), []).append(check)
    results = []
    for program, group in by_program.items():
        recorded = [c for c in group if c.recorded]
        passing = sum(1 for c in recorded if not c.xfail)
        results.append(
            ProgramResult(program, len(recorded), passing, sum(1 for c in recorded if c.qemu_passes))
        )
    return results


def test_module_rows(folder: Path) -> list[str]:
    """A markdown row per test module (compare = "unittest") of the suite in ``folder``: its
    tests passed, failed and skipped under Linux and under qemu-user, as recorded, and whether
    kernkit is expected to pass it."""
    rows = []
    for family in load_suite(folder, build=False):
        records = read_expected(folder, family.name)
        for check in family.checks:
            record = records.get(check.name)
            if check.compare != "unittest" or record is None:
                continue
            linux = _test_counts(record["stdout"])
            qemu = _test_counts(record["qemu"]["stdout"]) if "qemu" in record else linux
            kernkit = "expected failure (its cause is above)" if check.xfail else "passes"
            rows.append(f"| `{check.name.split('.')[-1]}` | {linux} | {qemu} | {kernkit} |")
    return rows


def _test_counts(output: str) -> str:
    counts = Counter(unittest_results(output).values())
    return f"{counts['passed']} / {counts['failed']} / {counts['skipped']}"


def failure_causes(checks: Iterable[Check]) -> list[tuple[str, int, list[str]]]:
    """(reason, how many checks it marks, the programs they belong to), most checks first."""
    marked: dict[str, list[str]] = {}
    for check in checks:
        if check.recorded and check.xfail:
            marked.setdefault(check.xfail, []).append(program_of(check.name))
    rows = [(reason, len(programs), sorted(set(programs))) for reason, programs in marked.items()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def program_of(workload: str) -> str:
    """``busybox.links.ls`` -> ``busybox.links``; ``sqlite.wal`` -> ``sqlite``."""
    parts = workload.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else parts[0]


def suite_folder() -> Path:
    return package_dir("kernkit.compat")


def linux_compat_page() -> str:
    rows = states()
    counted = [r for r in rows if r[0].in_linux]
    implemented = sum(1 for r in counted if r[1] == "implemented")
    partial = sum(1 for r in counted if r[1] == "partial")
    missing = sum(1 for r in counted if r[1] == "-ENOSYS")
    checks = [
        check
        for folder in (suite_folder(), suite_folder() / "cpython")
        for family in load_suite(folder, build=False)
        for check in family.checks
    ]
    lines = [
        "# Linux compatibility",
        "",
        "<!-- generated by `python -m kernkit.tools.docgen`; edit tools/compat/partial.toml, the",
        "     suite (compat/) or the Linux table instead -->",
        "",
        "What the Linux personality offers a program, in the form gVisor publishes: every x86-64",
        "Linux system call, then the files a process finds, then how real programs fare",
        "([compat.md](compat.md) has the suite and `kernkit compat`).",
        "",
        "## Programs",
        "",
        "The compatibility suite's checks per program: how many have a reference run recorded",
        "under qemu-user, how many pass under kernkit (deterministic mode, `configs/compat.toml`) and",
        "how many qemu-user itself passes (prints what Linux prints). The kernkit column counts the",
        "checks not marked expected-fail; the suite run fails when one of those fails or an",
        "expected failure passes, so the column stays true.",
        "",
        "| program | checks | kernkit passes | qemu-user passes |",
        "| --- | ---: | ---: | ---: |",
    ]
    for result in suite_results(checks):
        lines.append(f"| {result.program} | {result.tried} | {result.kernkit} | {result.qemu} |")
    causes = failure_causes(checks)
    if causes:
        lines += [
            "",
            "Why the others fail today, as the suite marks them (most checks first):",
            "",
            "| cause | checks | programs |",
            "| --- | ---: | --- |",
        ]
        lines += [f"| {reason} | {count} | {', '.join(programs)} |" for reason, count, programs in causes]
    else:
        lines += ["", "No check is marked expected-fail: every check of the suite passes under kernkit."]
    lines += [
        "",
        "CPython's regression test modules (`configs/compat-cpython.toml`), run with",
        "`python3 -m test -v MODULE`: the tests passed / failed / skipped under Linux and under",
        "qemu-user as recorded. Under kernkit a module passes when at least 95% of the tests that",
        "pass under qemu-user pass; `kernkit compat` prints kernkit's own counts per module.",
        "",
        "| module | Linux | qemu-user | kernkit |",
        "| --- | ---: | ---: | --- |",
        *test_module_rows(suite_folder() / "cpython"),
    ]
    lines += [
        "",
        "## Files",
        "",
        "What a process of the default kernel (`configs/minimal.toml`) lists in /dev, /proc and its",
        "own /proc/PID:",
        "",
        namespace_listing(),
        "",
        "## System calls",
        "",
        f"Of the {len(counted)} calls Linux implements, kernkit implements {implemented}, "
        f"{partial} in part (what is missing is said), and answers -ENOSYS to {missing}. "
        "The table is the Linux personality as registered (`plugins/linux_abi`, with the",
        "socket calls the `net` plugin adds); numbers 337-423 are unused on x86-64.",
        "",
        "| # | name | kernkit | missing |",
        "| ---: | --- | --- | --- |",
    ]
    for call, state, detail in rows:
        lines.append(f"| {call.number} | `{call.name}` | {state} | {detail} |")
    return "\n".join(lines) + "\n"


def rehash(names: Iterable[str]) -> None:
    """Write the current source hash into the notes of ``names`` (after checking them)."""
    table = {call.name: call for call in registered_linux_table().values()}
    text = NOTES.read_text()
    notes = read_notes()
    for name in names:
        if name not in notes or name not in table:
            raise SystemExit(f"{name}: no note, or no such call in the Linux table")
        old, new = notes[name]["source"], handler_hash(table[name].handler)
        text = text.replace(
            f'[{name}]\nmissing = "{notes[name]["missing"]}"\nsource = "{old}"',
            f'[{name}]\nmissing = "{notes[name]["missing"]}"\nsource = "{new}"',
        )
    NOTES.write_text(text)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] != ["--rehash"] or len(sys.argv) < 3:
        raise SystemExit("usage: python -m kernkit.tools.compat.table --rehash NAME...")
    rehash(sys.argv[2:])
