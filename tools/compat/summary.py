"""What ``kernkit compat`` prints after a run: one line per program (passes, tried, qemu-user
passes), the per-module counts of test suites, and the system calls that answered -ENOSYS."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from kernkit.tools.compat.suite import Check
from kernkit.tools.compat.table import program_of, syscall_names

#: Statuses of a cell that ran and passed (an expected failure that passed did pass).
PASSED = ("PASS", "XPASS")


def summarise(report: dict[str, Any], checks: Iterable[Check]) -> str:
    by_name = {check.name: check for check in checks}
    rows: dict[str, Counter[str]] = defaultdict(Counter)
    tests: list[str] = []
    for cell in report["cells"]:
        program = program_of(cell["workload"])
        counts = rows[program]
        if cell["status"] == "SKIP":
            counts["skipped"] += 1
            continue
        counts["tried"] += 1
        counts["passes"] += cell["status"] in PASSED
        check = by_name.get(cell["workload"])
        counts["qemu"] += bool(check is not None and check.qemu_passes)
        if cell.get("tests"):
            tests.append(_test_line(cell))
    width = max([len("program"), *map(len, rows)])
    lines = [f"{'program':<{width}}  passes  tried  qemu-user  skipped"]
    for program, counts in rows.items():
        lines.append(
            f"{program:<{width}}  {counts['passes']:>6}  {counts['tried']:>5}  {counts['qemu']:>9}  "
            f"{counts['skipped']:>7}"
        )
    if tests:
        lines += ["", "test modules (kernkit: passed/failed/skipped; of those that pass under qemu-user):"]
        lines += tests
    lines += ["", *enosys_lines(report["cells"])]
    return "\n".join(lines)


def _test_line(cell: dict[str, Any]) -> str:
    t = cell["tests"]
    return (
        f"  {cell['id']}: {t['passed']}/{t['failed']}/{t['skipped']}; "
        f"{t['expected_passed_passing']} of {t['expected_passed']} pass"
    )


def enosys_lines(cells: Iterable[dict[str, Any]]) -> list[str]:
    """The system calls answered -ENOSYS during the run, most frequent first, with how many
    workloads made them."""
    calls: Counter[int] = Counter()
    workloads: dict[int, set[str]] = defaultdict(set)
    for cell in cells:
        for number, count in (cell.get("enosys") or {}).items():
            calls[int(number)] += count
            workloads[int(number)].add(cell["workload"])
    if not calls:
        return ["no system call answered -ENOSYS"]
    names = syscall_names()
    lines = ["system calls that answered -ENOSYS (calls, workloads that made them):"]
    for number, count in calls.most_common():
        who = sorted(workloads[number])
        shown = ", ".join(who[:3]) + (f" and {len(who) - 3} more" if len(who) > 3 else "")
        lines.append(f"  {names.get(number, '?')} ({number}): {count} calls, {len(who)} workloads: {shown}")
    return lines
