"""bench/micro.py runs and prints every figure as JSON (small counts: the structure, not the speed)."""

from __future__ import annotations

from support import run_bench

FIGURES = (
    "context_restore_us",
    "context_update_us",
    "reg_read_us",
    "page_walk_us",
    "tlb_fill_us",
    "tlb_fill_share",
)


def test_the_micro_benchmark_prints_every_figure():
    report = run_bench("micro.py", "--quick", "--repeat", "1", "--increments", "100000", timeout=300)
    for key in FIGURES:
        assert isinstance(report[key], float) and report[key] > 0, key
    assert report["memtest_tlb_fills"] > 4096  # 16 MiB touched, a fill per page at least
    assert report["fast_stops"] >= 0 and report["fast_stop_extra"] >= 0
    assert report["parameters"] == {"repeat": 1, "calls": 2000, "increments": 100000}
    assert set(report["samples"]) == {*FIGURES, "memtest_tlb_fills", "fast_stop_extra", "fast_stops"}
