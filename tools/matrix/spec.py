"""The matrix file: a base config, axes of option values, exclusions, inclusions, workloads."""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from kernkit.core.config import read_toml
from kernkit.core.errors import ConfigError

#: The axis whose values are whole config files (relative to the matrix file).
CONFIG_AXIS = "config"
WORKLOAD_KEYS = {
    "name",
    "program",
    "args",
    "env",
    "stdin",
    "expect_status",
    "expect_output",
    "expect_output_regex",
    "max_instructions",
    "max_virtual_ms",
    "metrics",
    "timeout_s",
    "argv0",
    "options",
    "xfail",
    "skip",
    "compare",
    "host_command",
}
#: How a workload's output is judged: exactly, or as unittest results (``python -m unittest -v``).
COMPARES = ("exact", "unittest")
#: What a cell can report about its run (all of them unless a workload's ``metrics`` narrows it).
METRICS = (
    "exit_status",
    "virtual_ns",
    "instructions",
    "syscalls",
    "context_switches",
    "wall_s",
    "trace_hash",
)


@attrs.frozen
class Workload:
    """A program to run in every kernel variant and what it must do there."""

    name: str
    program: str
    args: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    stdin: str = ""
    expect_status: int = 0
    expect_output: str | None = None
    expect_output_regex: str | None = None
    max_instructions: int = 0
    max_virtual_ms: float = 0.0
    metrics: tuple[str, ...] = METRICS
    timeout_s: float = 120.0
    #: argv[0] (default: the program's file name)
    argv0: str = ""
    #: config options this workload needs, as dotted keys (the variant's own options win)
    options: tuple[tuple[str, Any], ...] = ()
    #: why the workload is expected to fail: it must fail (XFAIL); passing is XPASS, a failure
    xfail: str = ""
    #: why the workload cannot run here (a program missing): SKIP without booting
    skip: str = ""
    compare: str = "exact"
    #: a host command run while the kernel runs ({port}: the host port of the first [[net.forward]]);
    #: what it prints is judged after what the guest printed
    host_command: tuple[str, ...] = ()


@attrs.frozen
class Cell:
    """One kernel variant running one workload."""

    id: str
    config: str
    params: tuple[tuple[str, Any], ...]
    workload: Workload

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "config": self.config,
            "params": dict(self.params),
            "workload": attrs.asdict(self.workload),
        }


@attrs.frozen
class Matrix:
    path: Path
    cells: tuple[Cell, ...]


def _fail(path: Path, where: str, problem: str) -> ConfigError:
    return ConfigError(f"{path}: {where}: {problem}")


def load_matrix(path: str | Path) -> Matrix:
    """Read a matrix file; ConfigError (one line) for anything malformed."""
    path = Path(path)
    data = read_toml(path, "matrix")
    unknown = set(data) - {"base", "axes", "exclude", "include", "workload", "suite"}
    if unknown:
        raise _fail(
            path,
            sorted(unknown)[0],
            "unknown key; a matrix has base, axes, exclude, include, workload, suite",
        )
    base = data.get("base", "")
    if not isinstance(base, str):
        raise _fail(path, "base", "expected a config file name")
    axes = data.get("axes", {})
    if not isinstance(axes, dict) or not all(isinstance(v, list) and v for v in axes.values()):
        raise _fail(path, "axes", 'expected a table of non-empty lists, e.g. "machine.cores" = [1, 2]')
    workloads = [_workload(path, i, w) for i, w in enumerate(data.get("workload", []))]
    if "suite" in data:
        if not isinstance(data["suite"], str):
            raise _fail(path, "suite", "expected a compatibility suite folder (relative to this file)")
        from kernkit.tools.compat.workloads import suite_workloads

        workloads.extend(suite_workloads(path.parent / data["suite"]))
    if not workloads:
        raise _fail(path, "workload", "expected at least one [[workload]] (or a suite)")
    names = [w.name for w in workloads]
    if len(set(names)) != len(names):
        raise _fail(path, "workload", "two workloads have the same name")
    for value in axes.get(CONFIG_AXIS, []):
        if not isinstance(value, str):
            raise _fail(path, f"axes.{CONFIG_AXIS}", f"expected config file names, got {value!r}")
    excludes = _rows(path, data, "exclude")
    for index, row in enumerate(excludes):
        strange = sorted(set(row) - set(axes))
        if strange:
            raise _fail(path, f"exclude[{index}].{strange[0]}", f"not an axis; axes: {', '.join(axes)}")
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    combos = [c for c in combos if not any(_matches(c, e) for e in excludes)]
    for index, row in enumerate(_rows(path, data, "include")):
        if CONFIG_AXIS in row and not isinstance(row[CONFIG_AXIS], str):
            raise _fail(path, f"include[{index}].{CONFIG_AXIS}", "expected a config file name")
        combos.append(dict(row))
    cells = []
    seen: dict[str, int] = {}
    for index, combo in enumerate(combos):
        key = tuple(sorted((k, repr(v)) for k, v in combo.items()))
        if key in seen:
            raise _fail(
                path, "include", f"variant {dict(combo)} appears twice (rows {seen[key]} and {index})"
            )
        seen[key] = index
        config = combo.get(CONFIG_AXIS, base)
        params = tuple(sorted((k, v) for k, v in combo.items() if k != CONFIG_AXIS))
        config_path = str((path.parent / config).resolve()) if config else ""
        for workload in workloads:
            cells.append(Cell(cell_id(workload.name, combo), config_path, params, workload))
    ids = [cell.id for cell in cells]
    clash = next((i for i in ids if ids.count(i) > 1), None)
    if clash is not None:
        raise _fail(path, "axes", f"two variants share the id {clash!r}: name the axes or files apart")
    return Matrix(path, tuple(cells))


def cell_id(workload: str, combo: Mapping[str, Any]) -> str:
    """A readable id: ``hello[cores=2,policy=rr]`` (the last part of each dotted key)."""
    parts = []
    for key, value in sorted(combo.items()):
        shown = Path(value).stem if key == CONFIG_AXIS else value
        parts.append(f"{key.rsplit('.', 1)[-1]}={shown}")
    return f"{workload}[{','.join(parts)}]" if parts else workload


def _matches(combo: Mapping[str, Any], pattern: Mapping[str, Any]) -> bool:
    return all(combo.get(k) == v for k, v in pattern.items())


def _rows(path: Path, data: Mapping[str, Any], key: str) -> list[dict[str, Any]]:
    rows = data.get(key, [])
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise _fail(path, key, f"expected [[{key}]] tables")
    return rows


#: key -> (check, what it must be) for workload values.
_SCALARS: dict[str, tuple[Any, str]] = {
    "name": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "program": (lambda v: isinstance(v, str) and v != "", "a non-empty string"),
    "stdin": (lambda v: isinstance(v, str), "a string"),
    "expect_status": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255,
        "an integer from 0 to 255",
    ),
    "expect_output": (lambda v: isinstance(v, str), "a string"),
    "expect_output_regex": (lambda v: isinstance(v, str), "a string"),
    "argv0": (lambda v: isinstance(v, str), "a string"),
    "xfail": (lambda v: isinstance(v, str) and v != "", "a non-empty string (the reason)"),
    "skip": (lambda v: isinstance(v, str) and v != "", "a non-empty string (the reason)"),
    "compare": (lambda v: v in COMPARES, f"one of: {', '.join(COMPARES)}"),
    "options": (
        lambda v: isinstance(v, dict) and all(isinstance(k, str) and "." in k for k in v),
        'a table of dotted options, e.g. {"machine.memory" = "256M"}',
    ),
    "max_instructions": (
        lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
        "a whole number, 0 or more",
    ),
    "max_virtual_ms": (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1e12,
        "a number, 0 or more",
    ),
    "timeout_s": (
        lambda v: isinstance(v, int | float) and not isinstance(v, bool) and 0 < v <= 86400,
        "a number of seconds above 0 and at most 86400",
    ),
}


def _string_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _workload(path: Path, index: int, raw: Any) -> Workload:
    where = f"workload[{index}]"
    if not isinstance(raw, dict):
        raise _fail(path, where, "expected a table")
    unknown = set(raw) - WORKLOAD_KEYS
    if unknown:
        allowed = ", ".join(sorted(WORKLOAD_KEYS))
        raise _fail(path, f"{where}.{sorted(unknown)[0]}", f"unknown key; allowed: {allowed}")
    if "program" not in raw:
        raise _fail(path, where, "missing program")
    for key, (check, wanted) in _SCALARS.items():
        if key in raw and not check(raw[key]):
            raise _fail(path, f"{where}.{key}", f"expected {wanted}, got {raw[key]!r}")
    for key in ("args", "env", "host_command"):
        if key in raw and not _string_list(raw[key]):
            raise _fail(path, f"{where}.{key}", f"expected a list of strings, got {raw[key]!r}")
    metrics = raw.get("metrics", list(METRICS))
    if not isinstance(metrics, list) or any(m not in METRICS for m in metrics):
        raise _fail(path, f"{where}.metrics", f"expected a list of: {', '.join(METRICS)}")
    if "expect_output_regex" in raw:
        try:
            re.compile(raw["expect_output_regex"])
        except re.error as exc:
            raise _fail(path, f"{where}.expect_output_regex", f"bad regular expression: {exc}") from None
    return Workload(
        name=raw.get("name", Path(raw["program"]).name),
        program=raw["program"],
        args=tuple(raw.get("args", ())),
        env=tuple(raw.get("env", ())),
        stdin=raw.get("stdin", ""),
        expect_status=raw.get("expect_status", 0),
        expect_output=raw.get("expect_output"),
        expect_output_regex=raw.get("expect_output_regex"),
        max_instructions=raw.get("max_instructions", 0),
        max_virtual_ms=float(raw.get("max_virtual_ms", 0)),
        metrics=tuple(metrics),
        timeout_s=float(raw.get("timeout_s", 120.0)),
        argv0=raw.get("argv0", ""),
        options=tuple(sorted(raw.get("options", {}).items())),
        xfail=raw.get("xfail", ""),
        skip=raw.get("skip", ""),
        compare=raw.get("compare", "exact"),
        host_command=tuple(raw.get("host_command", ())),
    )
