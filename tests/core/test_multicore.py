"""Several processes on several cores: they run in parallel in virtual time, under rr."""

from __future__ import annotations

import pytest
from support import run_kernel


def run_four_spinners(cores: int) -> tuple[object, bytes]:
    run = run_kernel("spin", "4000000", machine__cores=cores, also=[["spin", "1000000"]] * 3)
    assert run.status == 0
    return run.kernel, run.stdout


@pytest.mark.parametrize("cores", [1, 4])
def test_every_process_finishes(cores):
    _, out = run_four_spinners(cores)
    assert out.count(b"spin 1000000 result") == 3 and out.count(b"spin 4000000 result") == 1


def test_four_cores_run_four_processes_at_once():
    one, _ = run_four_spinners(1)
    four, _ = run_four_spinners(4)
    assert one.instructions == four.instructions  # the same work...
    # ...done in parallel: init alone takes ~32M instructions (ns), the others 8M each
    assert four.now() < 0.8 * one.now()
    assert four.now() < 1.05 * 32_000_000 + 4 * four.quantum


def test_a_single_core_time_shares_with_rr_timeslices():
    kernel, _ = run_four_spinners(1)
    # four processes on one core: many more switches than processes
    assert kernel.context_switches > 4
