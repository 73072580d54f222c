"""A suite's checks as matrix workloads (a matrix file's ``suite = "FOLDER"``)."""

from __future__ import annotations

from pathlib import Path

from kernkit.tools.compat.suite import Check, load_suite
from kernkit.tools.matrix.spec import Workload


def suite_workloads(folder: str | Path) -> list[Workload]:
    return [workload(check) for family in load_suite(folder) for check in family.checks]


def workload(check: Check) -> Workload:
    """The kernkit side of a check: init is the program (loaded from its host file, named as the
    namespace names it), the namespace holds the check's files, the environment is the check's
    alone; it must print what the reference printed, within its virtual-time budget."""
    options = (
        ("namespace.root", dict(check.root)),
        ("init.env", list(check.env)),
        *check.options,
    )
    return Workload(
        name=check.name,
        program=check.host_program or check.program,
        args=check.argv[1:],
        argv0=check.argv[0],
        stdin=check.stdin,
        expect_status=check.expect_status,
        expect_output=check.expect_output,
        max_virtual_ms=check.budget_ms,
        timeout_s=check.timeout_s,
        options=tuple(sorted(options)),
        xfail=check.xfail,
        skip=check.skip,
        compare=check.compare,
        host_command=check.host_command,
    )
