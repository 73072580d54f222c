"""Fast mode is exact: the host timer's preemption lands between translated blocks, never inside
an instruction, so guest locks hold however loaded the host is (docs/architecture.md)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import run_kernel

RUNS = 200
SPINNERS = 3


@pytest.mark.slow
def test_locked_counters_stay_exact_in_fast_mode_on_a_loaded_host():
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(SPINNERS)]
    try:
        outputs = [
            run_kernel(
                "procs", "threads", "8", machine__cores=4, machine__mode="fast", machine__slice_us=200
            ).out
            for _ in range(RUNS)
        ]
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    wrong = [out for out in outputs if out != "threads: 8 joined, counter 36000 (expected 36000)\n"]
    assert wrong == [], f"{len(wrong)} of {RUNS} runs lost updates: {wrong[:3]}"
