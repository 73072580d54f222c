"""The compatibility suite in one run: passes and host time per program, kernkit against qemu-user
and Linux itself.

Every recorded check of the suite (expected failures included) runs under kernkit (in-process:
assemble, boot and run, deterministic mode, judged as the matrix judges it), under qemu-user and
natively (each in the chroot the references are recorded in, timing the program alone), in turn.
Per program it counts the checks each passes (prints what the recorded reference says) and sums
the host CPU and wall seconds of the checks kernkit passes, the only ones whose times compare.
Prints one JSON object on stdout; progress goes to stderr. Needs what recording references needs
(root or user namespaces, unshare, qemu-x86_64-static).

    python bench/compat.py > /tmp/compat-bench.json      # the whole suite (compat/)
    python bench/compat.py --filter 'lua.*'              # one program
    python bench/compat.py --suite compat/cpython        # CPython's regression test modules
    python bench/compat.py --table /tmp/compat-bench.json  # the table docs/compat.md shows
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

import attrs

from kernkit.tools.compat.reference import Run, qemu_version, run_reference
from kernkit.tools.compat.suite import Check, load_suite
from kernkit.tools.compat.table import program_of
from kernkit.tools.compat.workloads import workload
from kernkit.tools.matrix.judge import judge
from kernkit.tools.matrix.spec import Cell
from kernkit.tools.matrix.worker import run_cell

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "configs" / "minimal.toml"
#: kernkit's statuses that mean the program did what the reference did
KERNKIT_PASSED = ("PASS", "XPASS")
TIMES = ("kernkit_cpu_s", "kernkit_wall_s", "qemu_cpu_s", "qemu_wall_s", "native_cpu_s", "native_wall_s")


def kernkit_run(check: Check) -> tuple[str, float, float]:
    """(status, CPU seconds, wall seconds) of one in-process kernkit run of ``check``."""
    cell = Cell(check.name, str(MINIMAL), (), workload(check))
    cpu, wall = time.process_time(), time.perf_counter()
    result = run_cell(cell.as_dict())
    return result["status"], time.process_time() - cpu, time.perf_counter() - wall


def failure(check: Check, run: Run) -> str:
    """Why a reference run did not print what the check expects ("" when it did)."""
    if run.status < 0:
        return run.stderr
    return judge(attrs.asdict(workload(check)), run.status, run.stdout).reason


def measure_check(check: Check) -> dict[str, Any]:
    status, cpu, wall = kernkit_run(check)
    qemu, native = run_reference(check, under_qemu=True), run_reference(check, under_qemu=False)
    qemu_failure, native_failure = failure(check, qemu), failure(check, native)
    return {
        "kernkit_status": status,
        "kernkit_passes": status in KERNKIT_PASSED,
        "qemu_passes": not qemu_failure,
        "native_passes": not native_failure,
        **({"qemu_failure": qemu_failure} if qemu_failure else {}),
        **({"native_failure": native_failure} if native_failure else {}),
        "kernkit_cpu_s": round(cpu, 4),
        "kernkit_wall_s": round(wall, 4),
        "qemu_cpu_s": round(qemu.cpu_s, 4),
        "qemu_wall_s": round(qemu.wall_s, 4),
        "native_cpu_s": round(native.cpu_s, 4),
        "native_wall_s": round(native.wall_s, 4),
    }


def summarise(rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Pass counts over every check, times over the checks kernkit passes."""
    timed = [row for row in rows.values() if row["kernkit_passes"]]
    totals = {key: round(sum(row[key] for row in timed), 3) for key in TIMES}
    return {
        "checks": len(rows),
        "kernkit_passes": sum(row["kernkit_passes"] for row in rows.values()),
        "qemu_passes": sum(row["qemu_passes"] for row in rows.values()),
        "native_passes": sum(row["native_passes"] for row in rows.values()),
        "both_pass": sum(row["kernkit_passes"] and row["qemu_passes"] for row in rows.values()),
        "timed_checks": len(timed),
        **totals,
        "kernkit_vs_qemu_cpu": _ratio(totals["kernkit_cpu_s"], totals["qemu_cpu_s"]),
        "kernkit_vs_qemu_wall": _ratio(totals["kernkit_wall_s"], totals["qemu_wall_s"]),
        "kernkit_vs_native_cpu": _ratio(totals["kernkit_cpu_s"], totals["native_cpu_s"]),
    }


def measure(checks: list[Check]) -> dict[str, Any]:
    per_check: dict[str, dict[str, Any]] = {}
    if checks:
        kernkit_run(checks[0])  # untimed: the first run imports the plugins
    started = time.perf_counter()
    for index, check in enumerate(checks, 1):
        row = per_check[check.name] = measure_check(check)
        print(f"[{index}/{len(checks)}] {row['kernkit_status']:5} {check.name}", file=sys.stderr)
    by_program: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for name, row in per_check.items():
        by_program[program_of(name)][name] = row
    programs = {program: summarise(rows) for program, rows in by_program.items()}
    total = summarise(per_check)
    total["host_wall_s"] = round(time.perf_counter() - started, 1)
    return {"programs": programs, "total": total, "checks": per_check}


def _ratio(a: float, b: float) -> float | None:
    return round(a / b, 1) if b > 0 else None


def markdown_table(report: dict[str, Any]) -> str:
    """The report's programs (and total) as the table docs/compat.md shows."""
    lines = [
        "| program | checks | kernkit passes | qemu-user passes | Linux passes | kernkit CPU s "
        "| qemu-user CPU s | kernkit / qemu-user CPU | kernkit / qemu-user wall | kernkit / Linux CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    rows = [*report["programs"].items(), ("**all**", report["total"])]
    for program, row in rows:
        cells = [
            program,
            *(str(row[key]) for key in ("checks", "kernkit_passes", "qemu_passes", "native_passes")),
            *(f"{row[key]:.2f}" for key in ("kernkit_cpu_s", "qemu_cpu_s")),
            *(
                _times(row[key])
                for key in ("kernkit_vs_qemu_cpu", "kernkit_vs_qemu_wall", "kernkit_vs_native_cpu")
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:g}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suite", default=str(ROOT / "compat"), help="the suite folder (default: compat)")
    parser.add_argument("--filter", metavar="GLOB", help="only checks whose name matches, e.g. 'lua.*'")
    parser.add_argument("--table", metavar="FILE", help="print the markdown table of an earlier JSON report")
    args = parser.parse_args(argv)
    if args.table:
        try:
            print(markdown_table(json.loads(Path(args.table).read_text())), end="")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            print(f"compat.py: {args.table}: not a report of bench/compat.py ({exc})", file=sys.stderr)
            return 2
        return 0
    checks = [
        check
        for family in load_suite(Path(args.suite))
        for check in family.checks
        if check.recorded
        and not check.skip
        and (args.filter is None or fnmatch.fnmatch(check.name, args.filter))
    ]
    report = {
        "schema": "kernkit-compat-bench/2",
        "qemu": qemu_version(),
        "note": "passes: checks that print what the recorded reference says (kernkit deterministic, "
        "qemu-user, Linux); host seconds over the checks kernkit passes: kernkit in-process (assemble, "
        "boot, run) against the program alone under qemu-user and natively; CPU time includes children",
        **measure(checks),
    }
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
