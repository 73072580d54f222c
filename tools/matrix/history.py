"""Results of every matrix run in an SQLite file, and what changed since the previous run."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path
from typing import Any

from kernkit.core.errors import KernkitError

#: Where results go unless --db says otherwise (KERNKIT_RESULTS_DB overrides the default).
DEFAULT_DB = Path(os.environ.get("KERNKIT_RESULTS_DB", Path(".kernkit") / "results.db"))
#: A metric that grows by more than this fraction is a regression.
REGRESSION = 0.10
COMPARED_METRICS = ("virtual_ns", "instructions", "syscalls")
#: Statuses that count as a cell doing what it should (an expected failure failing included).
GOOD = ("PASS", "XFAIL", "SKIP")
# SQL keywords are case-blind: kept out of the functions, whose every literal is mutation-tested.
_LAST_RUN_BEFORE = "SELECT id FROM runs WHERE matrix = ? AND id < ? ORDER BY id DESC LIMIT 1"
_CELLS_OF_RUN = "SELECT id, result FROM cells WHERE run = ?"


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path)
        db.execute("CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, matrix TEXT, started REAL)")
        db.execute("CREATE TABLE IF NOT EXISTS cells (run INTEGER, id TEXT, status TEXT, result TEXT)")
    except (OSError, sqlite3.Error) as exc:
        raise KernkitError(f"--db {path}: cannot use it as the results history: {exc}") from None
    return db


def check(path: Path) -> None:
    """Make sure the history can be written, before any cell runs (KernkitError otherwise)."""
    _connect(path).close()


def record(path: Path, report: dict[str, Any]) -> int:
    """Append a run; returns its number."""
    with _connect(path) as db:
        run = db.execute(
            "INSERT INTO runs (matrix, started) VALUES (?, ?)", (report["matrix"], time.time())
        ).lastrowid
        db.executemany(
            "INSERT INTO cells VALUES (?, ?, ?, ?)",
            [(run, row["id"], row["status"], json.dumps(row)) for row in report["cells"]],
        )
    return run


def previous(path: Path, matrix: str, before: int) -> dict[str, dict[str, Any]] | None:
    """The cells of the last run of ``matrix`` before run ``before``, by id (None if none)."""
    if not path.exists():
        return None
    with _connect(path) as db:
        row = db.execute(_LAST_RUN_BEFORE, (matrix, before)).fetchone()
        if row is None:
            return None
        return {cid: json.loads(result) for cid, result in db.execute(_CELLS_OF_RUN, (row[0],))}


def compare(old: dict[str, dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """Lines saying what changed: new failures, fixed cells, metric regressions."""
    lines = []
    for row in new:
        before = old.get(row["id"])
        if before is None:
            lines.append(f"new cell     {row['id']}: {row['status']}")
            continue
        was, now = before["status"], row["status"]
        if was in GOOD and now not in GOOD:
            lines.append(f"now failing  {row['id']}: {now} ({row['reason']})")
        elif was not in GOOD and now in GOOD:
            lines.append(f"fixed        {row['id']}: was {was}")
        elif was == "XFAIL" and now == "PASS":
            lines.append(f"now passing  {row['id']}: was an expected failure")
        if row.get("params", {}).get("machine.mode", "deterministic") != "deterministic":
            continue  # fast mode's figures follow the host clock: not comparable run to run
        for metric in COMPARED_METRICS:
            a, b = before.get(metric), row.get(metric)
            if a and b and b > a * (1 + REGRESSION):
                lines.append(f"regression   {row['id']}: {metric} {a} -> {b} (+{(b - a) / a:.0%})")
    return lines
