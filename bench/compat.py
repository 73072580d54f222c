"""Host time per program of the compatibility suite: kernkit against qemu-user and Linux itself.

For every check of the suite that kernkit passes (not marked expected-fail, not skipped), runs
it under kernkit (in-process: assemble, boot and run, deterministic mode), under qemu-user and
natively (each in the chroot the references are recorded in, timing the program alone), in turn,
and sums the host CPU and wall seconds per program. Prints one JSON object on stdout; progress
goes to stderr. Needs what recording references needs (root or user namespaces, unshare,
qemu-x86_64-static).

    python bench/compat.py > /tmp/compat-bench.json       # every passing check (~10 min on 2 cores)
    python bench/compat.py --filter 'lua.*'               # one program
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from kernkit.tools.compat.reference import qemu_version, run_reference
from kernkit.tools.compat.suite import Check, load_suite
from kernkit.tools.compat.table import program_of
from kernkit.tools.compat.workloads import workload
from kernkit.tools.matrix.spec import Cell
from kernkit.tools.matrix.worker import run_cell

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "compat"
MINIMAL = ROOT / "configs" / "minimal.toml"


def kernkit_times(check: Check) -> tuple[str, float, float]:
    """(status, CPU seconds, wall seconds) of one in-process kernkit run of ``check``."""
    cell = Cell(check.name, str(MINIMAL), (), workload(check))
    cpu, wall = time.process_time(), time.perf_counter()
    result = run_cell(cell.as_dict())
    return result["status"], time.process_time() - cpu, time.perf_counter() - wall


def measure(checks: list[Check]) -> dict[str, Any]:
    per_check: dict[str, dict[str, Any]] = {}
    for index, check in enumerate(checks, 1):
        print(f"[{index}/{len(checks)}] {check.name}", file=sys.stderr)
        status, cpu, wall = kernkit_times(check)
        qemu = run_reference(check, under_qemu=True)
        native = run_reference(check, under_qemu=False)
        per_check[check.name] = {
            "kernkit_status": status,
            "kernkit_cpu_s": round(cpu, 4),
            "kernkit_wall_s": round(wall, 4),
            "qemu_cpu_s": round(qemu.cpu_s, 4),
            "qemu_wall_s": round(qemu.wall_s, 4),
            "native_cpu_s": round(native.cpu_s, 4),
            "native_wall_s": round(native.wall_s, 4),
        }
    programs: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for name, row in per_check.items():
        totals = programs[program_of(name)]
        totals["checks"] += 1
        for key, value in row.items():
            if key.endswith("_s"):
                totals[key] += value
    summary = {}
    for program, totals in programs.items():
        row = {key: round(value, 3) for key, value in totals.items()}
        row["checks"] = int(totals["checks"])
        row["kernkit_vs_qemu_cpu"] = _ratio(totals["kernkit_cpu_s"], totals["qemu_cpu_s"])
        row["kernkit_vs_native_cpu"] = _ratio(totals["kernkit_cpu_s"], totals["native_cpu_s"])
        summary[program] = row
    return {"programs": summary, "checks": per_check}


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 1) if b > 0 else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--filter", metavar="GLOB", help="only checks whose name matches, e.g. 'lua.*'")
    args = parser.parse_args(argv)
    checks = [
        check
        for family in load_suite(SUITE)
        for check in family.checks
        if not check.skip
        and not check.xfail
        and (args.filter is None or fnmatch.fnmatch(check.name, args.filter))
    ]
    report = {
        "schema": "kernkit-compat-bench/1",
        "qemu": qemu_version(),
        "note": "host seconds: kernkit in-process (assemble, boot, run; deterministic mode) against the "
        "program alone under qemu-user and natively; CPU time includes the program's children",
        **measure(checks),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
