"""bench/vmm.py runs and prints its figures as JSON (small counts: this checks the script, not
the speed)."""

from __future__ import annotations

import json
import subprocess
import sys

from support import ROOT


def test_the_vmm_benchmark_reports_exit_rate_and_guest_mips_as_json():
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "vmm.py"),
            "--repeat",
            "2",  # the fastest of two: one busy moment of a loaded host does not invert a slope
            "--exits",
            "2000",
            "--spin",
            "4000000",  # a process runs 10x faster than a guest pcore: enough to time
        ],
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    report = json.loads(result.stdout)
    assert report["errors"] == {}
    for key in (
        "vm_exits_per_s",
        "us_per_exit",
        "vm_exits_per_cpu_s",
        "guest_mips",
        "process_mips",
        "guest_mips_ratio",
    ):
        assert isinstance(report[key], int | float) and report[key] > 0, key
    assert set(report["targets"]) == {"vm_exits_per_s", "guest_mips_ratio"}
    assert report["parameters"] == {"repeat": 2, "exits": [100, 2000], "spin": [200000, 4000000]}


def test_bad_arguments_are_refused_with_a_usage_error():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "vmm.py"), "--exits", "0"], capture_output=True, timeout=60
    )
    assert result.returncode == 2
    assert b"--repeat, --exits and --spin must be positive" in result.stderr
