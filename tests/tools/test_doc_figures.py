"""Figures in docs/ that are deterministic (virtual cycles, instructions, system calls, gaps) are
what the script in bench/ that measures them prints today; host-time figures are only named with
their script (docs/testing.md)."""

from __future__ import annotations

import json
import re

import pytest
from support import ROOT, run_bench

DOCS = ROOT / "docs"


#: A figure measured in host time (or a rate of it): its section must name the script in bench/
#: that measures it, or its paragraph say it is an external source.
MEASURED = re.compile(
    r"\d[\d.,]*(?:-\d[\d.,]*)?\s?(?:us|µs|MIPS|GIPS|MiB/s|exits/s|requests/s|ms per|ns per)\b"
)


def test_every_measured_figure_names_the_script_that_measures_it():
    unattributed = []
    for page in sorted(DOCS.glob("*.md")):
        for section in re.split(r"(?m)^#+ ", page.read_text()):
            for paragraph in re.split(r"\n\s*\n", section):
                found = MEASURED.search(paragraph)
                if found and "bench/" not in section and "external source" not in paragraph:
                    unattributed.append(f"{page.name}: {found[0]} in {paragraph.strip()[:80]!r}")
    assert not unattributed, "\n".join(unattributed)


def row(page: str, starts: str) -> list[str]:
    """The cells of the table row of ``page`` that starts with ``starts``."""
    line = next(line for line in (DOCS / page).read_text().splitlines() if line.startswith(starts))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_thread_switch_figures_are_what_bench_mcp_prints():
    report = run_bench("mcp.py", "--deterministic", "--only", "switch")
    saved = json.loads((DOCS / "interference.json").read_text())
    for kind in ("uthread_switch", "kernel_thread_switch"):
        for key, value in report[kind].items():
            assert saved[kind][key] == value, f"docs/interference.json: {kind}.{key}"
    uthread = report["uthread_switch"]["virtual_cycles_per_switch"]
    kernel = report["kernel_thread_switch"]["virtual_cycles_per_switch"]
    parlib = (DOCS / "parlib.md").read_text()
    assert f"virtual cycles | {uthread:.0f} per switch, no system call" in parlib
    assert f"virtual cycles | ~{kernel:.0f} per switch" in parlib
    assert row("schedulers.md", "| uthreads")[1] == f"{uthread:.0f}"
    assert row("schedulers.md", "| kernel threads")[1] == f"{kernel:.0f}"
    assert row("schedulers.md", "| uthreads")[3] == f"{report['uthread_switch']['syscalls_per_switch']:.0f}"
    assert (
        row("schedulers.md", "| kernel threads")[3]
        == f"{report['kernel_thread_switch']['syscalls_per_switch']:.0f}"
    )


@pytest.mark.slow
def test_interference_figures_are_what_bench_mcp_prints():
    report = run_bench("mcp.py", "--deterministic", "--only", "interference")
    saved = json.loads((DOCS / "interference.json").read_text())
    assert saved["interference"] == report["interference"]
    for policy, label in (("mcp", "`mcp`"), ("rr", "`rr` (10 ms timeslice)")):
        result = report["interference"][policy]
        assert row("schedulers.md", f"| {label} |")[1:] == [
            str(result["gaps"]),
            f"{result['stolen_cycles']:,}",
        ]
    cycles = report["interference"]["mcp"]["cycles_per_read"]
    assert re.search(
        rf"rdtsc read-to-read in `interference` \| {cycles:g} virtual cycles",
        (DOCS / "parlib.md").read_text(),
    )


def test_memtest_tlb_fills_in_the_architecture_page_are_what_bench_micro_prints():
    fills = run_bench("micro.py", "--deterministic")["memtest_tlb_fills"]
    assert f"memtest: {fills:,} fills reach the kernel for 16 MiB touched" in " ".join(
        (DOCS / "architecture.md").read_text().split()
    )


@pytest.mark.slow
def test_web_server_figures_in_the_akaros_page_are_what_bench_akaros_prints():
    web = run_bench("akaros.py", "web", "--no-plot")["web"]
    rates = web["requests_per_virtual_s"]
    cells = row("akaros.md", "| web server:")
    assert (
        f"pinned to cores {web['load_generator_cores']} of a {web['machine_cores']}-core machine" in cells[0]
    )
    assert f"server on cores {web['server_cores']}" in cells[0]
    for name, label in (
        ("uhttpd", "`mcp`) "),
        ("httpd_pthreads_2ls", "pthreads 2LS "),
        ("httpd_kernel_threads", "0-3`) "),
    ):
        assert f"{label}{rates[name]:,}" in cells[1], name
    assert f"uhttpd at **{rates['uhttpd_over_httpd']:.2f}x**" in cells[1]
