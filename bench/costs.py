"""What looking inside costs: tracing off and on, and a gdb single step over the wire.

Used by ``run.py``; each function returns raw timings and leaves the statistics to the caller.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import re
import shutil
import subprocess
import tempfile
import time
import timeit
from collections.abc import Sequence
from pathlib import Path

from kernkit.core.assemble import assemble, boot
from kernkit.core.kernel import Kernel
from kernkit.core.programs import packaged_programs_dir
from kernkit.plugins.gdb.client import GdbClient


class Unavailable(Exception):
    """A tool the measurement needs is missing (the caller reports it as skipped)."""


def _kernel(program: str, args: Sequence[str], trace: io.TextIOBase | None = None) -> Kernel:
    settings = {"init.program": program, "init.args": list(args)}
    quiet = {"stdin": io.BytesIO(), "stdout": io.BytesIO(), "stderr": io.BytesIO()}
    kernel = assemble(None, overrides=settings, trace=trace, **quiet)
    boot(kernel)
    return kernel


def getpid_run_seconds(calls: int, traced: bool) -> float:
    """CPU seconds of ``kernel.run()`` for ``syscall_loop CALLS``, tracing to a real file or not
    (the process's own time, the writes' system time included: steadier than wall time on a
    shared host, like the other in-process figures)."""
    with tempfile.TemporaryDirectory(prefix="kernkit-trace-") as scratch:
        sink = open(Path(scratch) / "t.jsonl", "w") if traced else contextlib.nullcontext()  # noqa: SIM115
        with sink as trace:
            kernel = _kernel("syscall_loop", [str(calls)], trace)
            gc.collect()
            start = time.process_time()
            status = kernel.run()
            elapsed = time.process_time() - start
    if status != 0:
        raise RuntimeError(f"syscall_loop {calls} exited {status}")
    return elapsed


def trace_checks(calls: int) -> int:
    """How many times the kernel asks whether it is tracing during ``syscall_loop CALLS`` with
    tracing off (every ``kernel.tracing`` read, counted by a property standing in for it)."""
    kernel = _kernel("syscall_loop", [str(calls)])
    reads = [0]

    class Counting(Kernel):
        @property
        def tracing(self) -> bool:
            reads[0] += 1
            return False

    kernel.__class__ = Counting
    kernel.run()
    return reads[0]


def trace_check_ns() -> float:
    """Nanoseconds one ``if kernel.tracing:`` costs (the check, minus an empty statement)."""
    kernel = _kernel("hello", [])
    loops = 2_000_000
    checked = min(timeit.repeat("if k.tracing: pass", globals={"k": kernel}, number=loops, repeat=5))
    empty = min(timeit.repeat("pass", number=loops, repeat=5))
    kernel.shutdown()
    return max(checked - empty, 0.0) / loops * 1e9


def poll_hook_us() -> float:
    """Microseconds of the run loop's ``kernkit_poll`` call, made once per scheduling round
    (the console's implementation included), with no key pressed."""
    kernel = _kernel("hello", [])
    loops = 200_000
    notify = kernel.plugins.notify
    best = min(timeit.repeat(lambda: notify("kernkit_poll", kernel=kernel), number=loops, repeat=5))
    kernel.shutdown()
    return best / loops * 1e6


WAITING = re.compile(rb"gdb: waiting on ([\d.]+):(\d+)")


class DebuggedGuest:
    """``kernkit boot --gdb 127.0.0.1:0 -- gdbdemo spin`` in a subprocess, waiting for gdb."""

    def __init__(self, kernkit: Sequence[str]) -> None:
        self.scratch = tempfile.TemporaryDirectory(prefix="kernkit-gdb-")
        self.err_path = Path(self.scratch.name) / "err"
        demo = str(packaged_programs_dir() / "gdbdemo")
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [*kernkit, "boot", "--gdb", "127.0.0.1:0", "--", demo, "spin"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
            )
        deadline = time.monotonic() + 60
        while not (found := WAITING.search(self.err_path.read_bytes())):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"kernkit did not wait for gdb: {self.err_path.read_text()[-500:]}")
            time.sleep(0.02)
        self.host, self.port = found.group(1).decode(), int(found.group(2))
        self.demo = demo

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self.scratch.cleanup()


def gdb_step_ms(kernkit: Sequence[str], steps: int, with_registers: bool) -> list[float]:
    """Milliseconds per single step, request to stop reply, over TCP in no-ack mode (as gdb runs
    it); ``with_registers`` adds the ``g`` (all registers) gdb may read after a step."""
    guest = DebuggedGuest(kernkit)
    try:
        client = GdbClient(guest.host, guest.port)
        client.request("qSupported:swbreak+")
        client.request("?")
        client.no_ack()
        for _ in range(20):  # warm up: translations, first faults
            client.request("vCont;s:1;c")
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            reply = client.request("vCont;s:1;c")
            if with_registers:
                client.request("g")
            times.append((time.perf_counter() - start) * 1e3)
            if not reply.startswith(b"T05"):
                raise RuntimeError(f"a step answered {reply!r}")
        client.send("vKill;1")
        client.reply()
        client.close()
        return times
    finally:
        guest.close()


def gdb_stepi_seconds(kernkit: Sequence[str], steps: int) -> float:
    """Wall seconds of a whole ``gdb -batch`` session doing ``steps`` stepi commands."""
    gdb = shutil.which("gdb")
    if gdb is None:
        raise Unavailable("gdb not found (apt-get install gdb)")
    guest = DebuggedGuest(kernkit)
    try:
        args = [gdb, "-batch", "-nx", guest.demo, "-ex", f"target remote {guest.host}:{guest.port}"]
        args += ["-ex", "break main", "-ex", "continue"]
        for _ in range(steps):
            args += ["-ex", "stepi"]
        args += ["-ex", "kill"]
        start = time.perf_counter()
        result = subprocess.run(args, capture_output=True, timeout=600, env=os.environ.copy())
        elapsed = time.perf_counter() - start
        if result.returncode != 0 or b"Breakpoint 1, main" not in result.stdout:
            raise RuntimeError(f"gdb failed: {result.stdout[-300:]!r} {result.stderr[-300:]!r}")
        return elapsed
    finally:
        guest.close()
