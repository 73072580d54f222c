"""The benchmark script runs and reports every figure (slow: it times real runs)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow


def test_quick_benchmark_prints_every_measurement():
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick"], capture_output=True, timeout=600
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    report = json.loads(result.stdout)
    for key in (
        "guest_mips_deterministic",
        "guest_mips_fast",
        "getpid_roundtrip_us",
        "boot_hello_in_process_ms",
        "boot_hello_whole_process_ms",
        "peak_rss_mb_8core_256M",
        "getpid_traced_vs_untraced",
        "gdb_step_roundtrip_ms",
        "tmpfs_open_read_close_us",
    ):
        assert isinstance(report[key], int | float) and report[key] > 0, key
    assert set(report["targets"]) >= {
        "getpid_roundtrip_us",
        "guest_mips_deterministic",
        "tracing_off_overhead_pct",
    }
    assert report["tracing_off_overhead_pct"] is not None and report["tracing_off_overhead_pct"] >= 0
