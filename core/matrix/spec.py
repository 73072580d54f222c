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
}
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
    data = read_toml(path)
    unknown = set(data) - {"base", "axes", "exclude", "include", "workload"}
    if unknown:
        raise _fail(
            path, sorted(unknown)[0], "unknown key; a matrix has base, axes, exclude, include, workload"
        )
    base = data.get("base", "")
    if not isinstance(base, str):
        raise _fail(path, "base", "expected a config file name")
    axes = data.get("axes", {})
    if not isinstance(axes, dict) or not all(isinstance(v, list) and v for v in axes.values()):
        raise _fail(path, "axes", 'expected a table of non-empty lists, e.g. "machine.cores" = [1, 2]')
    workloads = [_workload(path, i, w) for i, w in enumerate(data.get("workload", []))]
    if not workloads:
        raise _fail(path, "workload", "expected at least one [[workload]]")
    names = [w.name for w in workloads]
    if len(set(names)) != len(names):
        raise _fail(path, "workload", "two workloads have the same name")
    combos = [dict(zip(axes, values, strict=True)) for values in itertools.product(*axes.values())]
    combos = [c for c in combos if not any(_matches(c, e) for e in _rows(path, data, "exclude"))]
    combos += [dict(row) for row in _rows(path, data, "include")]
    cells = []
    for combo in combos:
        config = combo.get(CONFIG_AXIS, base)
        params = tuple(sorted((k, v) for k, v in combo.items() if k != CONFIG_AXIS))
        config_path = str((path.parent / config).resolve()) if config else ""
        for workload in workloads:
            cells.append(Cell(cell_id(workload.name, combo), config_path, params, workload))
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


def _workload(path: Path, index: int, raw: Any) -> Workload:
    where = f"workload[{index}]"
    if not isinstance(raw, dict):
        raise _fail(path, where, "expected a table")
    unknown = set(raw) - WORKLOAD_KEYS
    if unknown:
        raise _fail(
            path, f"{where}.{sorted(unknown)[0]}", f"unknown key; allowed: {', '.join(sorted(WORKLOAD_KEYS))}"
        )
    if "program" not in raw:
        raise _fail(path, where, "missing program")
    metrics = raw.get("metrics", list(METRICS))
    if not isinstance(metrics, list) or any(m not in METRICS for m in metrics):
        raise _fail(path, f"{where}.metrics", f"expected a list of: {', '.join(METRICS)}")
    if raw.get("expect_output_regex") is not None:
        try:
            re.compile(raw["expect_output_regex"])
        except re.error as exc:
            raise _fail(path, f"{where}.expect_output_regex", f"bad regular expression: {exc}") from None
    try:
        return Workload(
            name=str(raw.get("name", Path(str(raw["program"])).name)),
            program=str(raw["program"]),
            args=tuple(str(a) for a in raw.get("args", [])),
            env=tuple(str(e) for e in raw.get("env", [])),
            stdin=str(raw.get("stdin", "")),
            expect_status=int(raw.get("expect_status", 0)),
            expect_output=raw.get("expect_output"),
            expect_output_regex=raw.get("expect_output_regex"),
            max_instructions=int(raw.get("max_instructions", 0)),
            max_virtual_ms=float(raw.get("max_virtual_ms", 0)),
            metrics=tuple(metrics),
            timeout_s=float(raw.get("timeout_s", 120.0)),
        )
    except (TypeError, ValueError) as exc:
        raise _fail(path, where, str(exc)) from None
