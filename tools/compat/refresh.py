"""Recording the expected outputs: each check run under qemu-user (the reference kernkit is
compared with) and natively (Linux, which says whether qemu-user got it right), written to
``expected/FAMILY.json`` in the suite folder. Where qemu-user differs from Linux (it reverses the
environment, it cannot see the processes it runs as themselves), Linux's run is the expected one
and qemu-user's is kept beside it: qemu-user does not pass that check."""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from kernkit.tools.compat.reference import Run, qemu_version, run_reference
from kernkit.tools.compat.suite import Check, Family, expected_path, load_suite, read_expected
from kernkit.tools.matrix.judge import judge_tests

SCHEMA = "kernkit-compat-reference/1"


def refresh(folder: Path, pattern: str | None, jobs: int, say: Callable[[str], None] = print) -> list[str]:
    """Record the reference runs of every check matching ``pattern`` (default: all); returns
    the checks whose reference could not be recorded or where qemu-user differs from Linux."""
    version = qemu_version()
    problems: list[str] = []
    for family in load_suite(folder):
        chosen = [
            c for c in family.checks if (pattern is None or fnmatch.fnmatch(c.name, pattern)) and _runnable(c)
        ]
        if not chosen:
            continue
        records = read_expected(folder, family.name)
        if pattern is None:  # a whole refresh forgets the checks that are gone
            names = {check.name for check in family.checks}
            records = {name: record for name, record in records.items() if name in names}
        with ThreadPoolExecutor(max(1, jobs)) as pool:
            for check, (qemu, native) in zip(chosen, pool.map(_both, chosen), strict=True):
                record, problem = _record(check, qemu, native)
                if record is None:
                    records.pop(check.name, None)
                else:
                    records[check.name] = record
                if problem:
                    problems.append(f"{check.name}: {problem}")
                say(f"{check.name}: {problem or 'recorded'}")
                _write(family, folder, version, records)  # as it goes: a long refresh keeps what it did
    return problems


def _runnable(check: Check) -> bool:
    """A check can be recorded unless its program is missing (a skip that is not about references)."""
    return not check.skip or check.skip.startswith("no reference output recorded")


def _both(check: Check) -> tuple[Run, Run]:
    return run_reference(check, under_qemu=True), run_reference(check, under_qemu=False)


def _record(check: Check, qemu: Run, native: Run) -> tuple[dict[str, Any] | None, str]:
    if qemu.status < 0 and native.status < 0:
        return None, f"not recorded: {qemu.stderr} under qemu-user and natively"
    if check.compare == "unittest":
        same = judge_tests(native.stdout, qemu.stdout).status == "PASS"
    else:
        same = (qemu.status, qemu.stdout) == (native.status, native.stdout)
    if same or native.status < 0:
        return {"status": qemu.status, "stdout": qemu.stdout, "qemu_passes": same}, ""
    record: dict[str, Any] = {"status": native.status, "stdout": native.stdout, "qemu_passes": False}
    record["qemu"] = {"status": qemu.status, "stdout": qemu.stdout}
    differs = f"qemu-user (status {qemu.status}) differs from Linux (status {native.status})"
    return record, f"{differs}: Linux's run expected"


def _write(family: Family, folder: Path, version: str, records: dict[str, Any]) -> None:
    path = expected_path(folder, family.name)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"schema": SCHEMA, "reference": version, "checks": dict(sorted(records.items()))}
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
