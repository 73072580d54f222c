"""A compatibility suite folder: one TOML file per program family, each check a program run with
arguments, files and an environment; what qemu-user printed for it is in ``expected/FAMILY.json``.

A family file (docs/compat.md has the whole format)::

    family = "lua"
    about = "Lua 5.4 embedded in a small C host"
    root = { "/scripts" = "lua" }              # namespace path -> file or folder (relative here)

    [program.luahost]
    build = "c"                                # built by the suite into a cache folder
    sources = ["lua/luahost.c"]
    libs = ["/usr/lib/x86_64-linux-gnu/liblua5.4.a", "-lm"]
    package = "liblua5.4-dev"

    [[check]]
    name = "strings"
    args = ["/scripts/strings.lua"]
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from kernkit.core.config import merge_env, read_toml
from kernkit.core.errors import ConfigError
from kernkit.tools.compat.build import build_program

#: The environment every check starts with (a family or check adds to it).
DEFAULT_ENV = ("HOME=/", "PATH=/bin", "TERM=vt100", "LANG=C", "TZ=UTC")
#: Host folders a dynamically linked program needs in its namespace (the host's userland).
HOST_ROOT = ("/usr", "/lib", "/lib64", "/etc")
DEFAULT_BUDGET_MS = 5_000.0
DEFAULT_TIMEOUT_S = 120.0
#: A busybox family's two layouts: a link per applet in /bin, or busybox alone (applets re-exec
#: /proc/self/exe).
LAYOUTS = ("links", "alone")
FAMILY_KEYS = {
    "family", "about", "root", "program", "check", "env", "options", "budget_ms", "timeout_s",
    "layouts", "links", "xfail",
}  # fmt: skip
PROGRAM_KEYS = {"path", "package", "argv0", "at", "needs", "build", "sources", "libs", "host_root"}
CHECK_KEYS = {
    "name", "args", "program", "programs", "stdin", "env", "xfail", "budget_ms", "timeout_s",
    "options", "compare", "sh", "host", "stdin_file",
}  # fmt: skip


@attrs.frozen
class Program:
    """A program a family runs: a host file, or one the suite builds."""

    name: str
    path: str  # the host file ("" for a build that could not happen)
    at: str  # where the namespace has it
    argv0: str
    #: why it cannot run here ("" when it can)
    missing: str = ""
    #: namespace path -> host path of what else it needs (a dynamic program's libraries)
    root: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class Check:
    """One run of a program, as kernkit runs it and as the reference (qemu-user) does."""

    name: str  # the workload name: family.check, family.program.check or family.layout.check
    family: str
    program: str  # namespace path of the program
    host_program: str  # its host file (kernkit loads init from the host)
    argv: tuple[str, ...]
    env: tuple[str, ...]
    stdin: str
    #: the namespace: path -> host file or folder (read-only); /tmp, /dev and /proc come with it
    root: tuple[tuple[str, str], ...]
    options: tuple[tuple[str, Any], ...]
    budget_ms: float
    timeout_s: float
    xfail: str = ""
    skip: str = ""
    compare: str = "exact"
    #: a host command run beside it: {port} is the host port of its first [[net.forward]] (in
    #: the reference runs, the program's own port, in the same network namespace)
    host_command: tuple[str, ...] = ()
    #: the reference run recorded for it (refresh.py): its exit status and output
    expect_status: int = 0
    expect_output: str = ""
    #: whether a reference run is recorded, and whether qemu-user printed what Linux itself does
    recorded: bool = False
    qemu_passes: bool = False


@attrs.frozen
class Family:
    name: str
    about: str
    checks: tuple[Check, ...]
    path: Path


def _fail(path: Path, where: str, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {problem}")


def load_suite(folder: str | Path, build: bool = True) -> list[Family]:
    """Every family of a suite folder (its ``*.toml`` files, by name). With ``build``, programs
    the suite builds are built (or found in the cache) first."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such compatibility suite folder")
    families = [load_family(path, build) for path in sorted(folder.glob("*.toml"))]
    if not families:
        raise ConfigError(f"{folder}: no family files (*.toml) in the suite folder")
    names = [family.name for family in families]
    if len(set(names)) != len(names):
        raise ConfigError(f"{folder}: two family files name the same family")
    return families


def load_family(path: Path, build: bool = True) -> Family:
    data = read_toml(path)
    unknown = set(data) - FAMILY_KEYS
    if unknown:
        raise _fail(path, sorted(unknown)[0], f"unknown key; a family has {', '.join(sorted(FAMILY_KEYS))}")
    name = data.get("family")
    if not isinstance(name, str) or not name.isidentifier():
        raise _fail(path, "family", "expected a name (letters, digits, _)")
    folder = path.parent
    programs = {
        key: _program(path, key, raw, folder, build) for key, raw in _table(path, data, "program").items()
    }
    if not programs:
        raise _fail(path, "program", "expected at least one [program.NAME]")
    layouts = data.get("layouts", [])
    if not isinstance(layouts, list) or any(layout not in LAYOUTS for layout in layouts):
        raise _fail(path, "layouts", f"expected a list of: {', '.join(LAYOUTS)}")
    links = data.get("links", "")
    if links and links not in programs:
        raise _fail(path, "links", f"expected the name of a program of this family, got {links!r}")
    base = _Base(
        family=name,
        env=tuple(merge_env(DEFAULT_ENV, _strings(path, data, "env"))),
        root=tuple(_root(path, "root", data.get("root", {}), folder).items()),
        options=_options(path, "options", data.get("options", {})),
        budget_ms=_number(path, "budget_ms", data.get("budget_ms", DEFAULT_BUDGET_MS)),
        timeout_s=_number(path, "timeout_s", data.get("timeout_s", DEFAULT_TIMEOUT_S)),
        links=programs[links] if links else None,
        xfail=_xfail(path, "xfail", data.get("xfail", {})),
    )
    expected = read_expected(folder, name)
    checks: list[Check] = []
    for index, raw in enumerate(data.get("check", [])):
        checks.extend(_checks(path, index, raw, base, programs, layouts, expected))
    if not checks:
        raise _fail(path, "check", "expected at least one [[check]]")
    seen = [check.name for check in checks]
    if len(set(seen)) != len(seen):
        raise _fail(path, "check", f"two checks are named {next(n for n in seen if seen.count(n) > 1)!r}")
    return Family(name, str(data.get("about", "")), tuple(checks), path)


@attrs.frozen
class _Base:
    """What a family gives each of its checks."""

    family: str
    env: tuple[str, ...]
    root: tuple[tuple[str, str], ...]
    options: tuple[tuple[str, Any], ...]
    budget_ms: float
    timeout_s: float
    links: Program | None
    #: expected failures of every check, by program or layout (a check's own come first)
    xfail: dict[str, str]


def _program(path: Path, key: str, raw: Any, folder: Path, build: bool) -> Program:
    where = f"program.{key}"
    _check_table(path, where, raw, PROGRAM_KEYS)
    package = raw.get("package", "")
    needs = _strings(path, raw, "needs", where)
    kind = raw.get("build", "")
    if kind not in ("", "c", "go"):
        raise _fail(path, f"{where}.build", 'expected "c" or "go"')
    if bool(kind) == ("path" in raw):
        raise _fail(path, where, "expected either path (a host program) or build (a program to build)")
    root = dict(_root(path, f"{where}.root", raw.get("root", {}), folder))
    if raw.get("host_root", False):
        root.update({directory: directory for directory in HOST_ROOT if Path(directory).exists()})
    at = raw.get("at", f"/bin/{key}")
    argv0 = raw.get("argv0", key)
    needs = [*needs, "go" if kind == "go" else "gcc"] if kind else [raw["path"], *needs]
    missing = next((need for need in needs if not _present(need)), None)
    if missing is not None:
        hint = f" (apt-get install {package})" if package else ""
        return Program(key, "", at, argv0, f"needs {missing}{hint}", tuple(root.items()))
    host = raw.get("path", "")
    if kind:
        sources = [folder / source for source in _strings(path, raw, "sources", where)]
        if not sources or not all(source.is_file() for source in sources):
            raise _fail(
                path, f"{where}.sources", "expected the program's source files (relative to the family file)"
            )
        if not build:
            return Program(key, "", at, argv0, "not built", tuple(root.items()))
        host, problem = build_program(key, kind, sources, _strings(path, raw, "libs", where))
        if problem:
            return Program(key, "", at, argv0, problem, tuple(root.items()))
    return Program(key, str(host), at, argv0, "", tuple(root.items()))


def _present(need: str) -> bool:
    return Path(need).exists() if need.startswith("/") else shutil.which(need) is not None


def _checks(
    path: Path,
    index: int,
    raw: Any,
    base: _Base,
    programs: dict[str, Program],
    layouts: list[str],
    expected: dict[str, Any],
) -> Iterable[Check]:
    where = f"check[{index}]"
    _check_table(path, where, raw, CHECK_KEYS)
    name = raw.get("name")
    if not isinstance(name, str) or not name or "[" in name or "." in name:
        raise _fail(path, f"{where}.name", "expected a name without dots or brackets")
    args = _strings(path, raw, "args", where)
    if "sh" in raw:
        if not isinstance(raw["sh"], str):
            raise _fail(path, f"{where}.sh", "expected a shell script (a string)")
        args = ["sh", "-c", raw["sh"], *args]
    chosen = raw.get("programs", [raw["program"]] if "program" in raw else list(programs)[:1])
    if not isinstance(chosen, list) or not all(p in programs for p in chosen):
        raise _fail(
            path, f"{where}.programs", f"expected names of this family's programs: {', '.join(programs)}"
        )
    xfail = _xfail(path, f"{where}.xfail", raw.get("xfail", {}))
    compare = raw.get("compare", "exact")
    if compare not in ("exact", "unittest"):
        raise _fail(path, f"{where}.compare", 'expected "exact" or "unittest"')
    env = tuple(merge_env(base.env, _strings(path, raw, "env", where)))
    options = (*base.options, *_options(path, f"{where}.options", raw.get("options", {})))
    budget = _number(path, f"{where}.budget_ms", raw.get("budget_ms", base.budget_ms))
    timeout = _number(path, f"{where}.timeout_s", raw.get("timeout_s", base.timeout_s))
    stdin = raw.get("stdin", "")
    if not isinstance(stdin, str):
        raise _fail(path, f"{where}.stdin", "expected a string")
    if "stdin_file" in raw:
        source = path.parent / str(raw["stdin_file"])
        if not source.is_file():
            raise _fail(
                path, f"{where}.stdin_file", f"{raw['stdin_file']}: no such file (relative to this file)"
            )
        stdin = source.read_text()
    variants: list[tuple[str, Program, str, str, list[str], Program | None]] = []
    if layouts:
        program = programs[chosen[0]]
        if not args:
            raise _fail(path, f"{where}.args", "expected the applet and its arguments")
        for layout in layouts:
            label = f"{base.family}.{layout}.{name}"
            if layout == "links":
                variants.append((label, program, f"/bin/{args[0]}", args[0], args[1:], program))
            else:
                variants.append((label, program, program.at, program.argv0, args, None))
    else:
        for key in chosen:
            program = programs[key]
            label = f"{base.family}.{key}.{name}" if "programs" in raw else f"{base.family}.{name}"
            variants.append((label, program, program.at, program.argv0, args, base.links))
    for label, program, at, argv0, argv, links in variants:
        variant = label.split(".")[1] if label.count(".") == 2 else ""
        reason = next(
            (table[key] for table in (xfail, base.xfail) for key in (variant, "*") if key in table), ""
        )
        root = dict(base.root)
        root.update(program.root)
        if links is not None and links.path:
            root.update({f"/bin/{applet}": links.path for applet in applets(links.path)})
        for where in (program.at, at):
            if program.path and not _covered(root, where, program.path):
                root[where] = program.path
        skip = program.missing and f"{program.name} {program.missing}"
        if links is not None and links.missing and not skip:
            skip = f"{links.name} {links.missing}"
        record = expected.get(label, {})
        if not skip and not record:
            skip = f"no reference output recorded (kernkit compat --refresh --filter '{label}')"
        yield Check(
            name=label,
            family=base.family,
            program=at,
            host_program=program.path,
            argv=(argv0, *argv),
            env=env,
            stdin=stdin,
            root=tuple(sorted(root.items())),
            options=options,
            budget_ms=budget,
            timeout_s=timeout,
            xfail=reason,
            skip=skip,
            compare=compare,
            host_command=tuple(_strings(path, raw, "host", where)),
            expect_status=record.get("status", 0),
            expect_output=record.get("stdout", ""),
            recorded=bool(record),
            qemu_passes=record.get("qemu_passes", False),
        )


def _covered(root: dict[str, str], at: str, host: str) -> bool:
    """Whether a folder of ``root`` already shows ``host`` at ``at``."""
    for folder, host_folder in root.items():
        if at.startswith(folder.rstrip("/") + "/"):
            inside = Path(host_folder) / at[len(folder.rstrip("/")) + 1 :]
            if inside.exists() and inside.resolve() == Path(host).resolve():
                return True
    return False


@functools.cache
def applets(busybox: str) -> tuple[str, ...]:
    """The applets a busybox binary offers (``busybox --list``), as ``busybox --install`` links them."""
    listing = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=False)
    return tuple(sorted(set(listing.stdout.split()) - {"busybox"}))


def expected_path(folder: Path, family: str) -> Path:
    return folder / "expected" / f"{family}.json"


def read_expected(folder: Path, family: str) -> dict[str, Any]:
    """The reference runs recorded for a family: workload name -> record (see refresh)."""
    path = expected_path(folder, family)
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())["checks"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path}: not a reference file written by kernkit compat --refresh ({exc})"
        ) from None


def _check_table(path: Path, where: str, raw: Any, allowed: set[str]) -> None:
    """A table with only ``allowed`` keys, or a one-line ConfigError naming the first other."""
    if not isinstance(raw, dict):
        raise _fail(path, where, "expected a table")
    unknown = set(raw) - allowed
    if unknown:
        raise _fail(
            path, f"{where}.{sorted(unknown)[0]}", f"unknown key; allowed: {', '.join(sorted(allowed))}"
        )


def _xfail(path: Path, where: str, value: Any) -> dict[str, str]:
    """Why a check is expected to fail: one reason, or a table by program or layout ("*": the
    others; "" clears a family's reason for one check)."""
    table = {"*": value} if isinstance(value, str) else value
    if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
        raise _fail(path, where, 'expected a reason, or a table of them ("*" for the rest)')
    return table


def _table(path: Path, data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise _fail(path, key, f"expected [{key}.NAME] tables")
    return value


def _strings(path: Path, data: dict[str, Any], key: str, where: str = "") -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(path, f"{where}.{key}" if where else key, "expected a list of strings")
    return value


def _number(path: Path, where: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _fail(path, where, f"expected a number above 0, got {value!r}")
    return float(value)


def _options(path: Path, where: str, value: Any) -> tuple[tuple[str, Any], ...]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and "." in k for k in value):
        raise _fail(path, where, 'expected a table of dotted options, e.g. {"machine.memory" = "256M"}')
    return tuple(value.items())


def _root(path: Path, where: str, value: Any, folder: Path) -> dict[str, str]:
    """Namespace path -> host path; a relative host path is relative to the suite folder."""
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise _fail(path, where, 'expected a table of namespace path = file, e.g. {"/data" = "busybox/data"}')
    root = {}
    for at, host in value.items():
        if not at.startswith("/"):
            raise _fail(path, f"{where}.{at}", "expected an absolute namespace path")
        resolved = Path(host) if host.startswith("/") else folder / host
        if not resolved.exists():
            raise _fail(path, f"{where}.{at}", f"{host}: no such file or folder")
        root[at] = str(resolved.resolve())
    return root
