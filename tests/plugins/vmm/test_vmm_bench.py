"""bench/vmm.py runs and prints its figures as JSON (small counts: this checks the script, not
the speed, so a busy host cannot fail it)."""

from __future__ import annotations

import subprocess
import sys

from support import ROOT, run_bench


def test_the_vmm_benchmark_reports_exit_rate_and_guest_mips_as_json():
    report = run_bench("vmm.py", "--repeat", "1", "--exits", "400", "--spin", "100000", timeout=300)
    assert report["errors"] == {}  # every run printed what it must and reflected every exit
    # the structure, not the speed: on a busy host a slope may be missing, and then says why
    runs = {
        "exits": ["vm_exits_per_s", "us_per_exit", "vm_exits_per_cpu_s"],
        "guest_spin": ["guest_mips"],
        "process_spin": ["process_mips"],
    }
    assert set(report["unmeasured"]) <= set(runs)
    for run, figures in runs.items():
        assert len(report["samples"][run]["wall"]) == 2, run  # a small and a large count
        for key in figures:
            value = report[key]
            assert (value is None) == (run in report["unmeasured"]), key
            assert value is None or (isinstance(value, int | float) and value > 0), key
    ratio = report["guest_mips_ratio"]
    assert (ratio is None) == bool({"guest_spin", "process_spin"} & set(report["unmeasured"]))
    assert set(report["targets"]) == {"vm_exits_per_s", "guest_mips_ratio"}
    assert report["parameters"] == {"repeat": 1, "exits": [20, 400], "spin": [5000, 100000]}


def test_bad_arguments_are_refused_with_a_usage_error():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "vmm.py"), "--exits", "0"], capture_output=True, timeout=60
    )
    assert result.returncode == 2
    assert b"--repeat, --exits and --spin must be positive" in result.stderr
