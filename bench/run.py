"""kernkit benchmarks: guest speed, syscall cost, boot time and memory, with peers for scale.

Prints one JSON object on stdout; progress goes to stderr. Every figure is the median of
``--repeat`` repetitions. Missed targets are reported, not judged: the exit status is 0 unless
a kernkit measurement itself failed (then 1, with the reason under "errors").

    python bench/run.py                          # full run
    python bench/run.py --quick                  # smoke run with fewer iterations
    python bench/run.py --qiling-python /tmp/qlvenv/bin/python
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import costs

from kernkit.core.assemble import assemble, boot
from kernkit.core.programs import packaged_programs_dir

ROOT = Path(__file__).resolve().parent.parent
MINIMAL = ROOT / "configs" / "minimal.toml"
SUBPROCESS_TIMEOUT_S = 900

#: name -> (comparison, threshold); "<=" means lower is better.
TARGETS: dict[str, tuple[str, float]] = {
    "getpid_roundtrip_us": ("<=", 3.0),
    "guest_mips_deterministic": (">=", 60.0),
    "guest_mips_fast": (">=", 800.0),
    "boot_hello_whole_process_ms": ("<=", 200.0),
    "boot_hello_in_process_ms": ("<=", 15.0),
    "peak_rss_mb_8core_256M": ("<=", 200.0),
    "thread_switch_futex_us": ("<=", 15.0),
    "matrix_cells_per_minute": (">=", 300.0),
    "matrix_runner_overhead": ("<=", 0.10),
    "aggregate_mips_8core_8threads": (">=", 50.0),
    "tracing_off_overhead_pct": ("<=", 3.0),
    "getpid_traced_vs_untraced": ("<=", 2.0),
    "gdb_step_roundtrip_ms": ("<=", 5.0),
    "tmpfs_open_read_close_us": ("<=", 15.0),
}

NOTES = {
    "guest_mips_fast": "fast mode counts no instructions (kernel.instructions is 0); the figure is the "
    "instruction count of the deterministic run of the same program and arguments divided by the "
    "fast run's wall time",
    "guest_mips": "instructions / wall seconds of kernel.run() only (assemble and boot excluded)",
    "getpid_us": "(t(N_large) - t(N_small)) / (N_large - N_small), each t the median over repeats; "
    "kernkit and Qiling time the run call in-process, native and qemu-user time the whole process",
    "peak_rss_mb_8core_256M": "MiB, ru_maxrss of the one child process (os.wait4), compared with the "
    "200 target as MiB",
    "ratios": "getpid_vs_X = kernkit getpid_roundtrip_us / X's getpid us",
    "thread_switch_futex_us": "threads pingpong: host microseconds per kernel thread switch, "
    "(t(N_large) - t(N_small)) / 2(N_large - N_small), one core, rr",
    "aggregate_mips_8core_8threads": "threads spin 8 on 8 cores: all guest instructions / wall seconds",
    "matrix_cells_per_minute": "kernkit matrix of N hello cells on one core each, -j = all host cores, "
    "whole command wall time",
    "example_matrix_cells_per_minute": "kernkit matrix configs/matrix.toml, -j = host cores, whole command",
    "matrix_runner_overhead": "per cell, (worker seconds - the cell's own boot+run seconds) / its boot+run "
    "seconds, from the difference of a matrix of N and N/2 cells so fixed start-up costs cancel",
    "idle_core_cost_ratio": "host time of one busy thread on an 8-core machine / on a 1-core machine "
    "(1.0: idle cores cost nothing)",
    "tracing_off_overhead_pct": "tracing off: kernel.tracing reads per getpid round trip (counted by a "
    "property standing in for the flag, from syscall_loop N_large - N_small) x the measured cost of one "
    "such check, over getpid_roundtrip_us; an untraced kernel dispatches through a dispatcher class "
    "without trace code, chosen at boot",
    "getpid_traced_vs_untraced": "getpid round trip tracing to a file / untraced, both measured in the "
    "same interleaved repetitions (getpid_roundtrip_traced_us and details.getpid_untraced_us_interleaved)",
    "gdb_step_roundtrip_ms": "kernkit boot --gdb: median of vCont;s single steps, request sent to stop "
    "reply received, over TCP on localhost, no-ack mode (as gdb runs it), a Python client",
    "gdb_step_with_registers_ms": "the same plus reading every register (g) after each step",
    "poll_hook_us_per_round": "details: host microseconds of the kernkit_poll call the run loop makes once "
    "per round (a round is [machine] quantum instructions per core, about 1 ms of host time)",
    "gdb_stepi_ms": "Debian gdb in batch mode: (session with N stepi - session with 1 stepi) / (N - 1); "
    "gdb's own work included",
    "tmpfs_open_read_close_us": "openloop: a guest opens, reads (64 bytes) and closes /tmp/f (#tmpfs) in a "
    "loop; host microseconds per open+read+close, (t(N_large) - t(N_small)) / (N_large - N_small)",
}


class Skip(Exception):
    """A peer that is not available here: reported under "skipped", not an error."""


class BenchError(Exception):
    """A measurement that failed: reported under "errors"."""


@dataclass(frozen=True)
class Plan:
    """How much work each measurement does."""

    repeat: int
    quick: bool
    spin_iterations: int
    getpid_small: int
    getpid_large: int
    native_large: int
    qemu_large: int
    qiling_large: int
    matrix_cells: int = 300
    switch_small: int = 200
    switch_large: int = 5_000
    thread_iterations: int = 2_000_000
    open_small: int = 500
    open_large: int = 20_000

    @classmethod
    def make(cls, repeat: int | None, quick: bool) -> Plan:
        if quick:
            return cls(
                repeat or 2, True, 2_000_000, 1_000, 20_000, 500_000, 200_000, 5_000, 60, 100, 1_000, 200_000
            )
        return cls(repeat or 5, False, 20_000_000, 1_000, 200_000, 5_000_000, 2_000_000, 50_000)


@dataclass
class Report:
    """Everything measured so far, in the order it will be printed."""

    values: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, Any] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def measure(self, key: str, action: Callable[[], float], digits: int = 3) -> float | None:
        """Run ``action`` and record its figure under ``key`` (None when skipped or failed)."""
        log(f"{key} ...")
        start = time.perf_counter()
        try:
            value = round(action(), digits)
        except Skip as why:
            self.skipped[key] = str(why)
            log(f"{key}: skipped: {why}")
            value = None
        except Exception as exc:  # report it and go on with the other measurements
            self.errors[key] = f"{type(exc).__name__}: {exc}"
            log(f"{key}: error: {self.errors[key]}")
            value = None
        else:
            log(f"{key} = {value} ({time.perf_counter() - start:.1f} s)")
        self.values[key] = value
        return value


# --- helpers ------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def program_path(name: str) -> Path:
    return packaged_programs_dir() / name


def kernkit_command() -> list[str]:
    """The ``kernkit`` launcher beside this interpreter, else on PATH, else ``python -m``."""
    beside = Path(sys.executable).parent / "kernkit"
    if beside.is_file() and os.access(beside, os.X_OK):
        return [str(beside)]
    found = shutil.which("kernkit")
    if found:
        return [found]
    return [sys.executable, "-m", "kernkit.tools.cli"]


def user_environment() -> dict[str, str]:
    """The environment a user's shell has: Python may cache byte code (some sandboxes forbid it,
    which makes every start compile every module again)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def wall_seconds(command: Sequence[str]) -> float:
    """Wall time of one subprocess run; BenchError when it exits non-zero."""
    start = time.perf_counter()
    proc = subprocess.run(
        command,
        env=user_environment(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        tail = proc.stderr.decode(errors="replace").strip()[-500:]
        raise BenchError(f"{' '.join(command)} exited {proc.returncode}: {tail}")
    return elapsed


def per_call_us(times_small: Sequence[float], times_large: Sequence[float], small: int, large: int) -> float:
    return (median(times_large) - median(times_small)) / (large - small) * 1e6


# --- in-process kernkit runs --------------------------------------------------------------------


@dataclass
class GuestRun:
    status: int
    seconds: float
    instructions: int
    stdout: bytes


def run_in_process(program: str, args: Sequence[str], overrides: dict[str, Any] | None = None) -> GuestRun:
    """Assemble and boot the default config with ``program`` as init; time ``kernel.run()`` only."""
    settings: dict[str, Any] = {"init.program": program, "init.args": list(args), **(overrides or {})}
    out, err = io.BytesIO(), io.BytesIO()
    kernel = assemble(None, overrides=settings, stdin=io.BytesIO(), stdout=out, stderr=err)
    boot(kernel)
    gc.collect()
    start = time.perf_counter()
    status = kernel.run()
    seconds = time.perf_counter() - start
    if status != 0:
        tail = err.getvalue().decode(errors="replace").strip()[-500:]
        raise BenchError(f"{program} {' '.join(args)} exited {status}: {tail}")
    return GuestRun(status, seconds, kernel.instructions, out.getvalue())


def boot_hello_seconds() -> float:
    """assemble() + boot() + run() of the default config (hello), stdout captured."""
    out = io.BytesIO()
    gc.collect()
    start = time.perf_counter()
    kernel = assemble(None, stdin=io.BytesIO(), stdout=out, stderr=io.BytesIO())
    boot(kernel)
    status = kernel.run()
    elapsed = time.perf_counter() - start
    if status != 0 or b"Hello" not in out.getvalue():
        raise BenchError(f"hello exited {status} and printed {out.getvalue()!r}")
    return elapsed


def bench_boot_in_process(plan: Plan, report: Report) -> float:
    boot_hello_seconds()  # warm-up: imports, plugin discovery, page cache
    times = [boot_hello_seconds() for _ in range(plan.repeat)]
    report.samples["boot_hello_in_process_s"] = times
    return median(times) * 1e3


def bench_mips(plan: Plan, report: Report, mode: str) -> float:
    """Guest MIPS of ``spin``; fast mode borrows the deterministic run's instruction count."""
    args = [str(plan.spin_iterations)]
    runs = [run_in_process("spin", args, {"machine.mode": mode}) for _ in range(plan.repeat)]
    report.samples[f"spin_{mode}_s"] = [r.seconds for r in runs]
    if mode == "deterministic":
        counts = {r.instructions for r in runs}
        if len(counts) != 1:
            raise BenchError(f"deterministic instruction counts differ between runs: {sorted(counts)}")
        report.details["spin_instructions"] = counts.pop()
    instructions = report.details.get("spin_instructions")
    if not instructions:
        raise BenchError("no instruction count: the deterministic spin run did not succeed")
    return instructions / median([r.seconds for r in runs]) / 1e6


def bench_getpid_kernkit(plan: Plan, report: Report) -> float:
    small, large = plan.getpid_small, plan.getpid_large
    times_small, times_large = [], []
    for _ in range(plan.repeat):
        times_small.append(run_in_process("syscall_loop", [str(small)]).seconds)
        times_large.append(run_in_process("syscall_loop", [str(large)]).seconds)
    report.samples["getpid_kernkit_s"] = {str(small): times_small, str(large): times_large}
    return per_call_us(times_small, times_large, small, large)


def bench_thread_switch(plan: Plan, report: Report) -> float:
    small, large = plan.switch_small, plan.switch_large
    times_small, times_large = [], []
    for _ in range(plan.repeat):
        times_small.append(run_in_process("threads", ["pingpong", str(small)]).seconds)
        times_large.append(run_in_process("threads", ["pingpong", str(large)]).seconds)
    report.samples["thread_switch_s"] = {str(small): times_small, str(large): times_large}
    return per_call_us(times_small, times_large, 2 * small, 2 * large)


def bench_tmpfs_open(plan: Plan, report: Report) -> float:
    small, large = plan.open_small, plan.open_large if not plan.quick else plan.open_large // 4
    times_small, times_large = [], []
    for _ in range(plan.repeat):
        times_small.append(run_in_process("openloop", ["/tmp/f", str(small)]).seconds)
        times_large.append(run_in_process("openloop", ["/tmp/f", str(large)]).seconds)
    report.samples["tmpfs_open_read_close_s"] = {str(small): times_small, str(large): times_large}
    return per_call_us(times_small, times_large, small, large)


def bench_aggregate_mips(plan: Plan, report: Report) -> float:
    args = ["spin", "8", str(plan.thread_iterations)]
    runs = [run_in_process("threads", args, {"machine.cores": 8}) for _ in range(plan.repeat)]
    report.samples["aggregate_8core_s"] = [r.seconds for r in runs]
    return runs[0].instructions / median([r.seconds for r in runs]) / 1e6


def bench_idle_cores(plan: Plan, report: Report) -> float:
    args = [str(plan.spin_iterations // 4)]
    one = [run_in_process("spin", args, {"machine.cores": 1}).seconds for _ in range(plan.repeat)]
    eight = [run_in_process("spin", args, {"machine.cores": 8}).seconds for _ in range(plan.repeat)]
    report.samples["idle_cores_s"] = {"1": one, "8": eight}
    return median(eight) / median(one)


def matrix_command(matrix: Path, scratch: str, jobs: int) -> list[str]:
    return [
        *kernkit_command(),
        "matrix",
        str(matrix),
        "-j",
        str(jobs),
        "--progress",
        "lines",
        "--json",
        str(Path(scratch) / "r.json"),
        "--db",
        str(Path(scratch) / "h.db"),
    ]


def matrix_run(cells: int, jobs: int) -> tuple[float, float]:
    """(wall seconds of ``kernkit matrix`` over ``cells`` hello cells, sum of the cells' own seconds)."""
    with tempfile.TemporaryDirectory() as scratch:
        matrix = Path(scratch) / "bench.toml"
        seeds = ", ".join(str(i) for i in range(cells))
        workload = '[[workload]]\nname = "hello"\nprogram = "hello"\n'
        matrix.write_text(f'base = "{MINIMAL}"\n[axes]\n"kernel.seed" = [{seeds}]\n' + workload)
        wall = wall_seconds(matrix_command(matrix, scratch, jobs))
        rows = json.loads((Path(scratch) / "r.json").read_text())["cells"]
    return wall, sum(row["wall_s"] or 0 for row in rows)


def bench_matrix(plan: Plan, report: Report) -> float:
    """Cells per minute of a large matrix; the runner's overhead per cell from the difference
    between it and one half its size (fixed start-up costs cancel out)."""
    jobs = os.cpu_count() or 1
    small, large = plan.matrix_cells // 2, plan.matrix_cells
    wall_small, busy_small = matrix_run(small, jobs)
    wall_large, busy_large = matrix_run(large, jobs)
    per_cell_busy = (busy_large - busy_small) / (large - small)
    per_cell_worker = (wall_large - wall_small) * jobs / (large - small)
    report.details["matrix"] = {
        "cells": [small, large],
        "jobs": jobs,
        "wall_s": [wall_small, wall_large],
        "cell_s": [busy_small, busy_large],
    }
    report.values["matrix_runner_overhead"] = round(
        max(per_cell_worker - per_cell_busy, 0) / per_cell_busy, 3
    )
    return large / wall_large * 60


def bench_example_matrix(plan: Plan, report: Report) -> float:
    """Cells per minute of configs/matrix.toml (variants of the built-ins x three workloads)."""
    jobs = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as scratch:
        command = matrix_command(ROOT / "configs" / "matrix.toml", scratch, jobs)
        times = [wall_seconds(command) for _ in range(plan.repeat)]
        cells = len(json.loads((Path(scratch) / "r.json").read_text())["cells"])
    report.samples["example_matrix_s"] = times
    return cells / median(times) * 60


# --- whole-process kernkit runs -----------------------------------------------------------------


def bench_boot_whole_process(plan: Plan, report: Report) -> float:
    command = [*kernkit_command(), "boot", str(MINIMAL)]
    report.details["kernkit_command"] = command
    wall_seconds(command)  # warm-up: byte-compiled modules, page cache
    times = [wall_seconds(command) for _ in range(plan.repeat)]
    report.samples["boot_hello_whole_process_s"] = times
    return median(times) * 1e3


def child_peak_rss_mib(command: Sequence[str]) -> float:
    """Peak RSS of one child process, from the rusage that wait4 returns for that child alone."""
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            command,
            env=user_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode(errors="replace").strip()[-500:]
            raise BenchError(f"{' '.join(command)} exited {proc.returncode}: {tail}")
    return usage.ru_maxrss / 1024  # KiB on Linux


def bench_peak_rss(plan: Plan, report: Report) -> float:
    command = [
        *kernkit_command(),
        "boot",
        str(MINIMAL),
        "--set",
        "machine.cores=8",
        "--set",
        "machine.memory=256M",
    ]
    values = [child_peak_rss_mib(command) for _ in range(plan.repeat)]
    report.samples["peak_rss_mib_8core_256M"] = values
    return median(values)


# --- what looking inside costs (bench/costs.py) -------------------------------------------------


def bench_tracing_off(plan: Plan, report: Report) -> float:
    small, large = plan.getpid_small, plan.getpid_large // 4
    checks = costs.trace_checks(large) - costs.trace_checks(small)
    per_call = checks / (large - small)
    check_ns = costs.trace_check_ns()
    roundtrip_us = report.values.get("getpid_roundtrip_us") or bench_getpid_kernkit(plan, report)
    report.details["trace_checks_per_getpid"] = per_call
    report.details["trace_check_ns"] = round(check_ns, 2)
    report.details["poll_hook_us_per_round"] = round(costs.poll_hook_us(), 3)
    return per_call * check_ns / (roundtrip_us * 1e3) * 100


def bench_tracing_on(plan: Plan, report: Report) -> float:
    """Traced and untraced getpid round trips in the same interleaved repetitions."""
    small, large = plan.getpid_small, plan.getpid_large // 2
    times: dict[bool, dict[int, list[float]]] = {False: {small: [], large: []}, True: {small: [], large: []}}
    for _ in range(plan.repeat):
        for traced in (False, True):
            for calls in (small, large):
                times[traced][calls].append(costs.getpid_run_seconds(calls, traced))
    off = per_call_us(times[False][small], times[False][large], small, large)
    on = per_call_us(times[True][small], times[True][large], small, large)
    report.samples["getpid_traced_s"] = {str(k): v for k, v in times[True].items()}
    report.samples["getpid_untraced_interleaved_s"] = {str(k): v for k, v in times[False].items()}
    report.details["getpid_untraced_us_interleaved"] = round(off, 3)
    report.values["getpid_roundtrip_traced_us"] = round(on, 3)
    return on / off


def bench_gdb_step(plan: Plan, report: Report, with_registers: bool) -> float:
    steps = 100 if plan.quick else 500
    times = costs.gdb_step_ms(kernkit_command(), steps, with_registers)
    report.samples["gdb_step_with_registers_ms" if with_registers else "gdb_step_ms"] = times
    return median(times)


def bench_gdb_stepi(plan: Plan, report: Report) -> float:
    small, large = 1, 51 if plan.quick else 201
    try:
        one = [costs.gdb_stepi_seconds(kernkit_command(), small) for _ in range(plan.repeat)]
        many = [costs.gdb_stepi_seconds(kernkit_command(), large) for _ in range(plan.repeat)]
    except costs.Unavailable as why:
        raise Skip(str(why)) from None
    report.samples["gdb_stepi_session_s"] = {str(small): one, str(large): many}
    return (median(many) - median(one)) / (large - small) * 1e3


# --- peers --------------------------------------------------------------------------------------


def subprocess_getpid_us(plan: Plan, report: Report, key: str, prefix: Sequence[str], large: int) -> float:
    """getpid cost of ``syscall_loop`` run as a whole process (after ``prefix``, if any)."""
    binary = str(program_path("syscall_loop"))
    small = plan.getpid_small
    wall_seconds([*prefix, binary, str(small)])  # warm-up
    times_small, times_large = [], []
    for _ in range(plan.repeat):
        times_small.append(wall_seconds([*prefix, binary, str(small)]))
        times_large.append(wall_seconds([*prefix, binary, str(large)]))
    report.samples[f"{key}_s"] = {str(small): times_small, str(large): times_large}
    return per_call_us(times_small, times_large, small, large)


def bench_native(plan: Plan, report: Report) -> float:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise Skip(f"host is {platform.system()} {platform.machine()}, not x86-64 Linux")
    return subprocess_getpid_us(plan, report, "native_getpid", [], plan.native_large)


def bench_qemu_user(plan: Plan, report: Report) -> float:
    qemu = shutil.which("qemu-x86_64")
    if qemu is None:
        raise Skip("qemu-x86_64 not found (Debian package qemu-user)")
    version = subprocess.run([qemu, "--version"], capture_output=True, text=True, check=False)
    report.details["qemu_user_version"] = version.stdout.splitlines()[0] if version.stdout else "unknown"
    return subprocess_getpid_us(plan, report, "qemu_user_getpid", [qemu], plan.qemu_large)


QILING_SCRIPT = """
import json, sys, time
from importlib import metadata
from qiling import Qiling
from qiling.const import QL_VERBOSE

binary, rootfs, out, small, large, repeat = sys.argv[1:7]
times = {small: [], large: []}

def once(n):
    ql = Qiling([binary, n], rootfs, verbose=QL_VERBOSE.DISABLED)
    start = time.perf_counter()
    ql.run()
    return time.perf_counter() - start

once(small)
for _ in range(int(repeat)):
    for n in (small, large):
        times[n].append(once(n))
versions = {name: metadata.version(name) for name in ("qiling", "unicorn")}
with open(out, "w") as f:
    json.dump({"times": times, "versions": versions}, f)
"""


def bench_qiling(plan: Plan, report: Report, python: str | None) -> float:
    """getpid cost under Qiling, in a separate interpreter (Qiling pins its own Unicorn)."""
    if not python:
        raise Skip("no --qiling-python given")
    if not Path(python).is_file():
        raise Skip(f"--qiling-python {python}: no such file")
    small, large = plan.getpid_small, plan.qiling_large
    with tempfile.TemporaryDirectory(prefix="kernkit-qiling-") as tmp:
        rootfs, out = Path(tmp) / "rootfs", Path(tmp) / "times.json"
        rootfs.mkdir()
        command = [python, "-c", QILING_SCRIPT, str(program_path("syscall_loop")), str(rootfs), str(out)]
        proc = subprocess.run(
            [*command, str(small), str(large), str(plan.repeat)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )
        if proc.returncode != 0 or not out.exists():
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-5:]
            raise Skip(f"qiling run failed (exit {proc.returncode}): {' | '.join(tail)}")
        result = json.loads(out.read_text())
    report.details["qiling_versions"] = result["versions"]
    times = result["times"]
    report.samples["qiling_getpid_s"] = times
    return per_call_us(times[str(small)], times[str(large)], small, large)


# --- the report ---------------------------------------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


def targets(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = {}
    for key, (op, threshold) in TARGETS.items():
        value = values.get(key)
        met = None if value is None else (value <= threshold if op == "<=" else value >= threshold)
        result[key] = {"value": value, "target": f"{op} {threshold:g}", "met": met}
    return result


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain"], capture_output=True, text=True, check=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{rev}-dirty" if dirty else rev


def machine_info() -> dict[str, Any]:
    return {
        "cpu_model": cpu_model(),
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "unicorn": metadata.version("unicorn"),
        "kernkit": metadata.version("kernkit"),
        "kernkit_revision": git_revision(),
        "platform": platform.platform(),
    }


def run_all(plan: Plan, qiling_python: str | None) -> Report:
    report = Report()
    report.measure("boot_hello_in_process_ms", lambda: bench_boot_in_process(plan, report), 2)
    report.measure("guest_mips_deterministic", lambda: bench_mips(plan, report, "deterministic"), 1)
    report.measure("guest_mips_fast", lambda: bench_mips(plan, report, "fast"), 1)
    report.measure("getpid_roundtrip_us", lambda: bench_getpid_kernkit(plan, report))
    report.measure("tracing_off_overhead_pct", lambda: bench_tracing_off(plan, report), 4)
    report.measure("getpid_traced_vs_untraced", lambda: bench_tracing_on(plan, report), 2)
    report.measure("gdb_step_roundtrip_ms", lambda: bench_gdb_step(plan, report, False))
    report.measure("gdb_step_with_registers_ms", lambda: bench_gdb_step(plan, report, True))
    report.measure("gdb_stepi_ms", lambda: bench_gdb_stepi(plan, report))
    report.measure("thread_switch_futex_us", lambda: bench_thread_switch(plan, report))
    report.measure("tmpfs_open_read_close_us", lambda: bench_tmpfs_open(plan, report))
    report.measure("aggregate_mips_8core_8threads", lambda: bench_aggregate_mips(plan, report), 1)
    report.measure("idle_core_cost_ratio", lambda: bench_idle_cores(plan, report), 2)
    report.measure("boot_hello_whole_process_ms", lambda: bench_boot_whole_process(plan, report), 2)
    report.measure("matrix_cells_per_minute", lambda: bench_matrix(plan, report), 0)
    report.measure("example_matrix_cells_per_minute", lambda: bench_example_matrix(plan, report), 0)
    report.measure("peak_rss_mb_8core_256M", lambda: bench_peak_rss(plan, report), 1)
    report.measure("native_getpid_us", lambda: bench_native(plan, report), 4)
    report.measure("qemu_user_getpid_us", lambda: bench_qemu_user(plan, report))
    report.measure("qiling_getpid_us", lambda: bench_qiling(plan, report, qiling_python))
    return report


def render(plan: Plan, report: Report, elapsed: float) -> dict[str, Any]:
    values = report.values
    kernkit_us = values.get("getpid_roundtrip_us")
    return {
        **values,
        "getpid_vs_native": ratio(kernkit_us, values.get("native_getpid_us")),
        "getpid_vs_qemu_user": ratio(kernkit_us, values.get("qemu_user_getpid_us")),
        "getpid_vs_qiling": ratio(kernkit_us, values.get("qiling_getpid_us")),
        "targets": targets(values),
        "machine": machine_info(),
        "parameters": asdict(plan),
        "details": report.details,
        "notes": NOTES,
        "skipped": report.skipped,
        "errors": report.errors,
        "samples": report.samples,
        "elapsed_s": round(elapsed, 1),
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat", type=int, metavar="N", help="repetitions per figure (default 5; 2 with --quick)"
    )
    parser.add_argument("--quick", action="store_true", help="a fast smoke run with fewer iterations")
    parser.add_argument("--qiling-python", metavar="PATH", help="python of a venv with qiling installed")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = Plan.make(args.repeat, args.quick)
    log(f"plan: {plan}")
    start = time.perf_counter()
    report = run_all(plan, args.qiling_python)
    result = render(plan, report, time.perf_counter() - start)
    json.dump(result, sys.stdout, indent=2)
    print()
    log(f"done in {result['elapsed_s']} s")
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
