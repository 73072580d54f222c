"""kernkit benchmarks: guest speed, syscall cost, boot time and memory, with peers for scale.

Prints one JSON object on stdout; progress goes to stderr. Every figure is the median of
``--repeat`` repetitions, in CPU time (the machine it runs on may be shared) unless its note
says otherwise. Missed targets are reported, not judged: the exit status is 0 unless a kernkit
measurement itself failed (then 1, with the reason under "errors").

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
    "getpid_roundtrip_us": ("<=", 0.6),
    "guest_mips_deterministic": (">=", 1000.0),
    "guest_mips_deterministic_sha256": (">=", 1000.0),
    "guest_mips_fast": (">=", 1500.0),
    "boot_hello_whole_process_ms": ("<=", 100.0),
    "cli_help_ms": ("<=", 60.0),
    "boot_hello_in_process_ms": ("<=", 15.0),
    "peak_rss_mb_8core_1G": ("<=", 60.0),
    "thread_switch_futex_us": ("<=", 10.0),
    "anon_page_first_touch_us": ("<=", 3.0),
    "matrix_cells_per_minute": (">=", 300.0),
    "matrix_runner_overhead": ("<=", 0.10),
    "aggregate_mips_8core_8threads": (">=", 50.0),
    "tracing_off_overhead_pct": ("<=", 3.0),
    "getpid_traced_vs_untraced": ("<=", 2.0),
    "gdb_step_roundtrip_ms": ("<=", 5.0),
    "tmpfs_open_read_close_us": ("<=", 5.0),
}

NOTES = {
    "guest_mips_fast": "fast mode counts no instructions (kernel.instructions is 0); the figure is the "
    "instruction count of the deterministic run of the same program and arguments divided by the "
    "fast run's CPU time",
    "guest_mips": "instructions / CPU seconds of kernel.run() only (assemble and boot excluded); "
    "spin is the hash loop (an LCG, one 8-instruction block per round), sha256 hashes 64-byte blocks",
    "peers_mips": "qemu_user_/native_ MIPS: kernkit's deterministic instruction count of the same "
    "program at N_large - N_small, over the peer's CPU time at N_large - N_small (start-up cancels)",
    "anon_page_first_touch_us": "pagetouch N: one write to each of N fresh anonymous pages; CPU "
    "microseconds per page, (t(N_large) - t(N_small)) / (N_large - N_small)",
    "getpid_us": "(t(N_large) - t(N_small)) / (N_large - N_small), each t the median over repeats of CPU "
    "time; kernkit and Qiling time the run call in-process, native and qemu-user the whole process",
    "boot_hello_whole_process_ms": "CPU ms (user + system) of kernkit boot configs/minimal.toml, the "
    "whole process from interpreter start to exit, read from its rusage by a small fresh interpreter; "
    "cli_help_ms the same for kernkit --help",
    "peak_rss_mb_8core_1G": "MiB: the peak RSS of the kernkit process alone, started by a small "
    "interpreter that reports its child's ru_maxrss (a child forked from the bench would inherit "
    "the bench's own high-water mark)",
    "ratios": "getpid_vs_X = kernkit getpid_roundtrip_us / X's getpid us",
    "thread_switch_futex_us": "threads pingpong: CPU microseconds per kernel thread switch, "
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
    "loop; CPU microseconds per open+read+close, (t(N_large) - t(N_small)) / (N_large - N_small); "
    "peers open a file in the host's /tmp",
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
    sha_iterations: int = 50_000
    pages_small: int = 200
    pages_large: int = 5_000

    @classmethod
    def make(cls, repeat: int | None, quick: bool) -> Plan:
        if quick:
            return cls(
                repeat or 2,
                True,
                2_000_000,
                1_000,
                20_000,
                500_000,
                200_000,
                5_000,
                60,
                100,
                1_000,
                200_000,
                500,
                5_000,
                5_000,
                100,
                1_000,
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


def cpu_seconds(command: Sequence[str]) -> float:
    """User + system CPU time of one subprocess run (from its own rusage); BenchError when it
    exits non-zero."""
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
    return usage.ru_utime + usage.ru_stime


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
    start = time.process_time()
    status = kernel.run()
    seconds = time.process_time() - start
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


#: Compute workloads: name -> (program, iterations of the plan's full run).
COMPUTE = {"spin": lambda plan: plan.spin_iterations, "sha256": lambda plan: plan.sha_iterations}


def bench_mips(plan: Plan, report: Report, mode: str, program: str = "spin") -> float:
    """Guest MIPS of a compute workload; fast mode borrows the deterministic run's count."""
    args = [str(COMPUTE[program](plan))]
    runs = [run_in_process(program, args, {"machine.mode": mode}) for _ in range(plan.repeat)]
    report.samples[f"{program}_{mode}_s"] = [r.seconds for r in runs]
    if mode == "deterministic":
        counts = {r.instructions for r in runs}
        if len(counts) != 1:
            raise BenchError(f"deterministic instruction counts differ between runs: {sorted(counts)}")
        report.details[f"{program}_instructions"] = counts.pop()
    instructions = report.details.get(f"{program}_instructions")
    if not instructions:
        raise BenchError(f"no instruction count: the deterministic {program} run did not succeed")
    return instructions / median([r.seconds for r in runs]) / 1e6


def peer_mips(
    report: Report, program: str, sizes: tuple[int, int], times: tuple[list[float], list[float]]
) -> float:
    """A peer's MIPS on a compute workload: kernkit's instruction count for the difference of two
    sizes over the peer's CPU time for it (so process start-up cancels)."""
    counts = report.details.setdefault("instructions_by_size", {})
    for n in sizes:
        if f"{program} {n}" not in counts:
            counts[f"{program} {n}"] = run_in_process(program, [str(n)]).instructions
    instructions = counts[f"{program} {sizes[1]}"] - counts[f"{program} {sizes[0]}"]
    return instructions / (median(times[1]) - median(times[0])) / 1e6


def bench_peer_mips(plan: Plan, report: Report, prefix: Sequence[str], key: str, program: str) -> float:
    """A compute workload as a whole process (after ``prefix``, if any) at N and N/20."""
    large = COMPUTE[program](plan)
    small = large // 20
    binary = str(program_path(program))
    cpu_seconds([*prefix, binary, str(small)])  # warm-up
    times_small, times_large = [], []
    for _ in range(plan.repeat):
        times_small.append(cpu_seconds([*prefix, binary, str(small)]))
        times_large.append(cpu_seconds([*prefix, binary, str(large)]))
    report.samples[f"{key}_s"] = {str(small): times_small, str(large): times_large}
    return peer_mips(report, program, (small, large), (times_small, times_large))


def in_process_per_op_us(
    plan: Plan,
    report: Report,
    sample_key: str,
    program: str,
    args: Callable[[int], list[str]],
    sizes: tuple[int, int],
    per: int = 1,
) -> float:
    """CPU microseconds per operation of ``program`` run in-process at two sizes (``per``
    operations each): the difference, so boot and start-up cancel."""
    small, large = sizes
    times_small, times_large = [], []
    for _ in range(plan.repeat):
        times_small.append(run_in_process(program, args(small)).seconds)
        times_large.append(run_in_process(program, args(large)).seconds)
    report.samples[sample_key] = {str(small): times_small, str(large): times_large}
    return per_call_us(times_small, times_large, per * small, per * large)


def bench_getpid_kernkit(plan: Plan, report: Report) -> float:
    sizes = (plan.getpid_small, plan.getpid_large)
    return in_process_per_op_us(plan, report, "getpid_kernkit_s", "syscall_loop", lambda n: [str(n)], sizes)


def bench_thread_switch(plan: Plan, report: Report) -> float:
    sizes = (plan.switch_small, plan.switch_large)
    args = lambda n: ["pingpong", str(n)]  # noqa: E731
    return in_process_per_op_us(plan, report, "thread_switch_s", "threads", args, sizes, per=2)


def bench_page_touch(plan: Plan, report: Report) -> float:
    sizes = (plan.pages_small, plan.pages_large)
    key = "anon_page_first_touch_s"
    return in_process_per_op_us(plan, report, key, "pagetouch", lambda n: [str(n)], sizes)


def bench_tmpfs_open(plan: Plan, report: Report) -> float:
    sizes = (plan.open_small, plan.open_large if not plan.quick else plan.open_large // 4)
    args = lambda n: ["/tmp/f", str(n)]  # noqa: E731
    return in_process_per_op_us(plan, report, "tmpfs_open_read_close_s", "openloop", args, sizes)


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
    return _median_cpu_ms(command, plan, report, "boot_hello_whole_process_cpu_ms")


def bench_cli_help(plan: Plan, report: Report) -> float:
    return _median_cpu_ms([*kernkit_command(), "--help"], plan, report, "cli_help_cpu_ms")


def _median_cpu_ms(command: Sequence[str], plan: Plan, report: Report, sample: str) -> float:
    child_usage(command)  # warm-up: byte-compiled modules, page cache, entry-point cache
    times = [child_usage(command)[0] for _ in range(plan.repeat)]
    report.samples[sample] = times
    return median(times)


#: Run by a fresh interpreter: starts the command, waits for it and prints its ru_maxrss (KiB)
#: and its CPU time (user + system seconds).
#: Forked from this small process, the command's peak cannot include the bench's own (Linux
#: keeps the pre-exec high-water mark of a forked child in ru_maxrss).
PEAK_RSS_SCRIPT = """
import os, sys
pid = os.fork()
if pid == 0:
    fd = os.open(os.devnull, os.O_RDWR)
    os.dup2(fd, 0); os.dup2(fd, 1)
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(os.waitstatus_to_exitcode(status), usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""


def child_usage(command: Sequence[str]) -> tuple[float, float]:
    """(CPU ms, peak RSS MiB) of ``command`` alone, measured from a small fresh interpreter."""
    proc = subprocess.run(
        [sys.executable, "-S", "-c", PEAK_RSS_SCRIPT, *command],
        env=user_environment(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    fields = proc.stdout.split()
    if proc.returncode != 0 or len(fields) != 3 or fields[0] != b"0":
        tail = proc.stderr.decode(errors="replace").strip()[-500:]
        raise BenchError(f"{' '.join(command)} failed ({proc.stdout!r}): {tail}")
    return float(fields[2]) * 1e3, int(fields[1]) / 1024  # ru_maxrss is in KiB on Linux


def bench_peak_rss(plan: Plan, report: Report) -> float:
    command = [
        *kernkit_command(),
        "boot",
        str(MINIMAL),
        "--set",
        "machine.cores=8",
        "--set",
        "machine.memory=1G",
    ]
    values = [child_usage(command)[1] for _ in range(plan.repeat)]
    report.samples["peak_rss_mib_8core_1G"] = values
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


#: Per-operation workloads a peer runs as a whole process: name -> (program, args for N,
#: operations per N, the plan's (small, large) N).
PEER_OPS: dict[str, tuple[str, Callable[[int, str], list[str]], int, Callable[[Plan], tuple[int, int]]]] = {
    "getpid": (
        "syscall_loop",
        lambda n, _tmp: [str(n)],
        1,
        lambda plan: (plan.getpid_small, plan.getpid_large),
    ),
    "tmpfs_open_read_close": (
        "openloop",
        lambda n, tmp: [f"{tmp}/f", str(n)],
        1,
        lambda plan: (plan.open_small, plan.open_large),
    ),
    "anon_page_first_touch": (
        "pagetouch",
        lambda n, _tmp: [str(n)],
        1,
        lambda plan: (plan.pages_small * 10, plan.pages_large * 10),
    ),
    "thread_switch_futex": (
        "threads",
        lambda n, _tmp: ["pingpong", str(n)],
        2,
        lambda plan: (plan.switch_small * 10, plan.switch_large * 10),
    ),
}


def subprocess_per_op_us(
    plan: Plan, report: Report, key: str, prefix: Sequence[str], op: str, large: int | None = None
) -> float:
    """CPU microseconds per operation of a PEER_OPS workload run as a whole process (after
    ``prefix``, if any): the difference between two sizes, so start-up cancels."""
    program, args, per, sizes = PEER_OPS[op]
    small, default_large = sizes(plan)
    large = large or default_large
    binary = str(program_path(program))
    with tempfile.TemporaryDirectory(prefix="kernkit-bench-") as tmp:
        cpu_seconds([*prefix, binary, *args(small, tmp)])  # warm-up
        times_small, times_large = [], []
        for _ in range(plan.repeat):
            times_small.append(cpu_seconds([*prefix, binary, *args(small, tmp)]))
            times_large.append(cpu_seconds([*prefix, binary, *args(large, tmp)]))
    report.samples[f"{key}_s"] = {str(small): times_small, str(large): times_large}
    return per_call_us(times_small, times_large, per * small, per * large)


def host_is_x86_64_linux() -> None:
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "AMD64"):
        raise Skip(f"host is {platform.system()} {platform.machine()}, not x86-64 Linux")


def qemu_user(report: Report) -> str:
    qemu = shutil.which("qemu-x86_64") or shutil.which("qemu-x86_64-static")
    if qemu is None:
        raise Skip("qemu-x86_64 not found (Debian package qemu-user or qemu-user-static)")
    if "qemu_user_version" not in report.details:
        version = subprocess.run([qemu, "--version"], capture_output=True, text=True, check=False)
        report.details["qemu_user_version"] = version.stdout.splitlines()[0] if version.stdout else "unknown"
    return qemu


def bench_native(plan: Plan, report: Report, op: str = "getpid") -> float:
    host_is_x86_64_linux()
    large = plan.native_large if op == "getpid" else None
    return subprocess_per_op_us(plan, report, f"native_{op}", [], op, large)


def bench_qemu_user(plan: Plan, report: Report, op: str = "getpid") -> float:
    qemu = qemu_user(report)
    large = plan.qemu_large if op == "getpid" else None
    return subprocess_per_op_us(plan, report, f"qemu_user_{op}", [qemu], op, large)


def bench_native_mips(plan: Plan, report: Report, program: str) -> float:
    host_is_x86_64_linux()
    return bench_peer_mips(plan, report, [], f"native_{program}", program)


def bench_qemu_user_mips(plan: Plan, report: Report, program: str) -> float:
    return bench_peer_mips(plan, report, [qemu_user(report)], f"qemu_user_{program}", program)


QILING_SCRIPT = """
import json, sys, time
from importlib import metadata
from qiling import Qiling
from qiling.const import QL_VERBOSE

binary, rootfs, out, small, large, repeat = sys.argv[1:7]
prefix = sys.argv[7:]
times = {small: [], large: []}

def once(n):
    ql = Qiling([binary, *prefix, n], rootfs, verbose=QL_VERBOSE.DISABLED)
    start = time.process_time()
    ql.run()
    return time.process_time() - start

once(small)
for _ in range(int(repeat)):
    for n in (small, large):
        times[n].append(once(n))
versions = {name: metadata.version(name) for name in ("qiling", "unicorn")}
with open(out, "w") as f:
    json.dump({"times": times, "versions": versions}, f)
"""


def qiling_times(
    plan: Plan, report: Report, python: str | None, program: str, sizes: tuple[int, int], *prefix: str
) -> tuple[list[float], list[float]]:
    """CPU seconds of ``ql.run()`` for ``program *prefix N`` at the two sizes, in a separate
    interpreter (Qiling pins its own Unicorn)."""
    if not python:
        raise Skip("no --qiling-python given")
    if not Path(python).is_file():
        raise Skip(f"--qiling-python {python}: no such file")
    small, large = sizes
    with tempfile.TemporaryDirectory(prefix="kernkit-qiling-") as tmp:
        rootfs, out = Path(tmp) / "rootfs", Path(tmp) / "times.json"
        rootfs.mkdir()
        command = [python, "-c", QILING_SCRIPT, str(program_path(program)), str(rootfs), str(out)]
        proc = subprocess.run(
            [*command, str(small), str(large), str(plan.repeat), *prefix],
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
    report.samples[f"qiling_{program}_s"] = times
    return times[str(small)], times[str(large)]


def bench_qiling(plan: Plan, report: Report, python: str | None) -> float:
    """getpid cost under Qiling."""
    sizes = (plan.getpid_small, plan.qiling_large)
    return per_call_us(*qiling_times(plan, report, python, "syscall_loop", sizes), *sizes)


def bench_qiling_mips(plan: Plan, report: Report, python: str | None, program: str) -> float:
    """A compute workload under Qiling (a quarter of the native and qemu-user sizes)."""
    large = COMPUTE[program](plan) // 4
    sizes = (large // 20, large)
    return peer_mips(report, program, sizes, qiling_times(plan, report, python, program, sizes))


# --- the report ---------------------------------------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return round(numerator / denominator, 3)


PEERS = ("native", "qemu_user", "qiling")
#: Each targeted figure -> the peers' keys for the same thing in this run, by peer.
PEER_KEYS = {
    **{
        f"guest_mips_{mode}{suffix}": {peer: f"{peer}_mips_{program}" for peer in PEERS}
        for mode in ("deterministic", "fast")
        for program, suffix in (("spin", ""), ("sha256", "_sha256"))
    },
    **{
        f"{op}_us" if op != "getpid" else "getpid_roundtrip_us": {
            "native": f"native_{op}_us",
            "qemu_user": f"qemu_user_{op}_us",
            **({"qiling": "qiling_getpid_us"} if op == "getpid" else {}),
        }
        for op in ("getpid", "tmpfs_open_read_close", "anon_page_first_touch", "thread_switch_futex")
    },
}


def peer_table(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per targeted figure: kernkit's value, its target, and each peer's value from this run."""
    table = {}
    for key, peers in PEER_KEYS.items():
        op, threshold = TARGETS.get(key, ("", None))
        target = f"{op} {threshold:g}" if threshold is not None else None
        row: dict[str, Any] = {"kernkit": values.get(key), "target": target}
        row.update({peer: values.get(peer_key) for peer, peer_key in peers.items()})
        table[key] = row
    return table


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
    for program, suffix in (("spin", ""), ("sha256", "_sha256")):
        for mode in ("deterministic", "fast"):
            report.measure(
                f"guest_mips_{mode}{suffix}", lambda m=mode, p=program: bench_mips(plan, report, m, p), 1
            )
    report.measure("getpid_roundtrip_us", lambda: bench_getpid_kernkit(plan, report))
    report.measure("tracing_off_overhead_pct", lambda: bench_tracing_off(plan, report), 4)
    report.measure("getpid_traced_vs_untraced", lambda: bench_tracing_on(plan, report), 2)
    report.measure("gdb_step_roundtrip_ms", lambda: bench_gdb_step(plan, report, False))
    report.measure("gdb_step_with_registers_ms", lambda: bench_gdb_step(plan, report, True))
    report.measure("gdb_stepi_ms", lambda: bench_gdb_stepi(plan, report))
    report.measure("thread_switch_futex_us", lambda: bench_thread_switch(plan, report))
    report.measure("tmpfs_open_read_close_us", lambda: bench_tmpfs_open(plan, report))
    report.measure("anon_page_first_touch_us", lambda: bench_page_touch(plan, report))
    report.measure("aggregate_mips_8core_8threads", lambda: bench_aggregate_mips(plan, report), 1)
    report.measure("idle_core_cost_ratio", lambda: bench_idle_cores(plan, report), 2)
    report.measure("boot_hello_whole_process_ms", lambda: bench_boot_whole_process(plan, report), 2)
    report.measure("cli_help_ms", lambda: bench_cli_help(plan, report), 2)
    report.measure("matrix_cells_per_minute", lambda: bench_matrix(plan, report), 0)
    report.measure("example_matrix_cells_per_minute", lambda: bench_example_matrix(plan, report), 0)
    report.measure("peak_rss_mb_8core_1G", lambda: bench_peak_rss(plan, report), 1)
    for peer, per_op, mips in (
        ("native", bench_native, bench_native_mips),
        ("qemu_user", bench_qemu_user, bench_qemu_user_mips),
    ):
        for program in COMPUTE:
            report.measure(f"{peer}_mips_{program}", lambda p=program, f=mips: f(plan, report, p), 1)
        for op in PEER_OPS:
            report.measure(f"{peer}_{op}_us", lambda o=op, f=per_op: f(plan, report, o), 4)
    report.measure("qiling_getpid_us", lambda: bench_qiling(plan, report, qiling_python))
    for program in COMPUTE:
        report.measure(
            f"qiling_mips_{program}", lambda p=program: bench_qiling_mips(plan, report, qiling_python, p), 1
        )
    return report


def render(plan: Plan, report: Report, elapsed: float) -> dict[str, Any]:
    values = report.values
    kernkit_us = values.get("getpid_roundtrip_us")
    return {
        **values,
        "getpid_vs_native": ratio(kernkit_us, values.get("native_getpid_us")),
        "getpid_vs_qemu_user": ratio(kernkit_us, values.get("qemu_user_getpid_us")),
        "getpid_vs_qiling": ratio(kernkit_us, values.get("qiling_getpid_us")),
        "peers": peer_table(values),
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
