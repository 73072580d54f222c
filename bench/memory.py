"""Memory benchmarks: fork, file mappings against read(), first touches, many small mappings.

Prints one JSON object on stdout; progress goes to stderr. Figures are CPU time (the process's
own, and its children's for the peers, so a loaded machine changes them little), medians of
``--repeat`` repetitions, each from two runs of different sizes so that start-up cancels. The
same guest program (user/membench.c) runs under kernkit, under qemu-user and natively in the
same run. Missed targets are reported, not judged (exit status 0 unless a measurement failed).

    python bench/memory.py             # 3 repetitions
    python bench/memory.py --quick     # smaller sizes, 1 repetition
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kernkit.core.assemble import assemble, boot
from kernkit.core.programs import packaged_programs_dir

MEMBENCH = packaged_programs_dir() / "membench"
MIB = 1 << 20
TARGETS = {
    "fork_exit_wait_us": ("<=", 300.0),
    "mapread_vs_read_tmpfs": ("<=", 2.0),
    "mapread_vs_read_host": ("<=", 2.0),
    "first_touch_us": ("<=", 3.0),
}
NOTES = {
    "fork_exit_wait_us": "membench fork N: fork, the child _exits, the parent waits; CPU per "
    "iteration from N = 1000 and 100 (kernel.run() of an in-process kernel; the peers' whole "
    "process with its children)",
    "mapread_vs_read_tmpfs": "a 64 MiB #tmpfs file added up word by word through a private "
    "mapping, over the same through read() in 64 KiB pieces; each from a run that also makes "
    "the file less a run that only makes it",
    "mapread_vs_read_host": "the same for a 64 MiB host file in #root (pages read from the host "
    "into the page cache when touched)",
    "first_touch_us": "membench touch N: map N anonymous pages and write a byte in each; CPU "
    "per page from N = 16384 and 1024",
    "maps_20000_vs_5000": "membench maps N (N one-page mappings, protections alternating, then "
    "unmapped): CPU for 20000 over CPU for 5000; 4 means linear",
}


class Skip(Exception):  # noqa: N818 - a measurement that cannot run here
    pass


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def timed_run(settings: dict[str, Any], what: str) -> tuple[float, Any]:
    """(CPU seconds of kernel.run(), the kernel) for a kernel of the default config with
    ``settings``; RuntimeError naming ``what`` if init does not exit 0."""
    err = io.BytesIO()
    kernel = assemble(None, overrides=settings, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=err)
    boot(kernel)
    gc.collect()
    start = time.process_time()
    status = kernel.run()
    spent = time.process_time() - start
    if status != 0:
        raise RuntimeError(f"{what} exited {status}: {err.getvalue().decode()[-300:]}")
    return spent, kernel


def kernkit_cpu(args: Sequence[str], program: str = "membench", **overrides: Any) -> float:
    """CPU seconds of kernel.run() for PROGRAM ARGS as init (default config + overrides)."""
    settings = {"init.program": program, "init.args": list(args), **overrides}
    return timed_run(settings, f"{program} {' '.join(args)}")[0]


def child_cpu(command: Sequence[str]) -> float:
    """CPU seconds of a host command and the children it waited for."""
    pid = os.fork()
    if pid == 0:
        try:
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.execvp(command[0], list(command))
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} exited {os.waitstatus_to_exitcode(status)}")
    return usage.ru_utime + usage.ru_stime


def per_unit(measure: Callable[[int], float], small: int, large: int, repeat: int) -> float:
    """Median over ``repeat`` of (measure(large) - measure(small)) / (large - small)."""
    return statistics.median((measure(large) - measure(small)) / (large - small) for _ in range(repeat))


def record(bench: Any, key: str, action: Callable[[], float], digits: int = 3) -> None:
    """Put ``action()``, rounded, in ``bench.values[key]``; a Skip goes in ``bench.skipped``, any
    other failure in ``bench.errors`` (reported, and the run goes on)."""
    log(f"{key} ...")
    try:
        bench.values[key] = round(action(), digits)
        log(f"{key} = {bench.values[key]}")
    except Skip as why:
        bench.values[key] = None
        bench.skipped[key] = str(why)
    except Exception as exc:  # report and go on
        bench.values[key] = None
        bench.errors[key] = f"{type(exc).__name__}: {exc}"
        log(f"{key}: error: {bench.errors[key]}")


def qemu() -> str:
    found = shutil.which("qemu-x86_64-static") or shutil.which("qemu-x86_64")
    if found is None:
        raise Skip("qemu-x86_64 not found (Debian package qemu-user-static)")
    return found


class Bench:
    def __init__(self, quick: bool, repeat: int) -> None:
        self.quick = quick
        self.repeat = repeat
        self.values: dict[str, Any] = {}
        self.skipped: dict[str, str] = {}
        self.errors: dict[str, str] = {}
        self.scratch = Path(tempfile.mkdtemp(prefix="kernkit-membench-"))

    def measure(self, key: str, action: Callable[[], float], digits: int = 3) -> None:
        record(self, key, action, digits)

    # --- fork ------------------------------------------------------------------------------

    def fork_kernkit(self) -> float:
        small, large = (50, 300) if self.quick else (100, 1000)
        return per_unit(lambda n: kernkit_cpu(["fork", str(n)]), small, large, self.repeat) * 1e6

    def fork_host(self, prefix: Sequence[str]) -> float:
        small, large = (50, 300) if self.quick else (100, 1000)
        return (
            per_unit(lambda n: child_cpu([*prefix, str(MEMBENCH), "fork", str(n)]), small, large, self.repeat)
            * 1e6
        )

    # --- first touch --------------------------------------------------------------------------

    def touch_kernkit(self) -> float:
        small, large = (1024, 4096) if self.quick else (1024, 16384)
        memory = {"machine.memory": "256M"}
        return per_unit(lambda n: kernkit_cpu(["touch", str(n)], **memory), small, large, self.repeat) * 1e6

    def touch_host(self, prefix: Sequence[str]) -> float:
        small, large = (1024, 16384), (1024, 65536)
        low, high = small if self.quick else large
        return (
            per_unit(lambda n: child_cpu([*prefix, str(MEMBENCH), "touch", str(n)]), low, high, self.repeat)
            * 1e6
        )

    # --- mapping a file against reading it ------------------------------------------------------

    def mapread_tmpfs(self) -> float:
        size = 8 if self.quick else 64
        settings = {"machine.memory": f"{2 * size + 64}M", "namespace.tmpfs_size": f"{size + 1}M"}

        def cpu(*steps: str) -> float:
            return kernkit_cpu([f"membench makefile /tmp/f {size}", *steps], "run", **settings)

        ratios = []
        for _ in range(self.repeat):
            made = cpu()
            mapped = cpu("membench mapread /tmp/f") - made
            read = cpu("membench read /tmp/f") - made
            ratios.append(mapped / read)
        self.values["mapread_tmpfs_s"] = round(mapped, 3)
        self.values["read_tmpfs_s"] = round(read, 3)
        return statistics.median(ratios)

    def host_file(self) -> Path:
        size = 8 if self.quick else 64
        path = self.scratch / "data" / "f"
        if not path.exists():
            path.parent.mkdir()
            child_cpu([str(MEMBENCH), "makefile", str(path), str(size)])
        return path

    def mapread_host(self) -> float:
        path = self.host_file()
        size = path.stat().st_size // MIB
        root = {"/bin": "@programs", "/data": str(path.parent)}
        settings = {"machine.memory": f"{size + 96}M", "namespace.root": root}
        ratios = []
        for _ in range(self.repeat):
            mapped = kernkit_cpu(["mapread", "/data/f"], **settings)
            read = kernkit_cpu(["read", "/data/f"], **settings)
            ratios.append(mapped / read)
        self.values["mapread_host_s"] = round(mapped, 3)
        self.values["read_host_s"] = round(read, 3)
        return statistics.median(ratios)

    def mapread_host_peer(self, prefix: Sequence[str]) -> float:
        path = self.host_file()
        return statistics.median(
            child_cpu([*prefix, str(MEMBENCH), "mapread", str(path)])
            / child_cpu([*prefix, str(MEMBENCH), "read", str(path)])
            for _ in range(self.repeat)
        )

    # --- many mappings --------------------------------------------------------------------------

    def maps_ratio(self) -> float:
        ratios = []
        for _ in range(self.repeat):
            base = kernkit_cpu(["maps", "1"])
            small = kernkit_cpu(["maps", "5000"]) - base
            large = kernkit_cpu(["maps", "20000"]) - base
            ratios.append(large / small)
        self.values["maps_20000_s"] = round(large, 3)
        return statistics.median(ratios)

    def run(self) -> None:
        self.measure("fork_exit_wait_us", self.fork_kernkit, 1)
        self.measure("qemu_user_fork_exit_wait_us", lambda: self.fork_host([qemu()]), 1)
        self.measure("native_fork_exit_wait_us", lambda: self.fork_host([]), 1)
        self.measure("first_touch_us", self.touch_kernkit, 2)
        self.measure("qemu_user_first_touch_us", lambda: self.touch_host([qemu()]), 2)
        self.measure("mapread_vs_read_tmpfs", self.mapread_tmpfs, 2)
        self.measure("mapread_vs_read_host", self.mapread_host, 2)
        self.measure("qemu_user_mapread_vs_read", lambda: self.mapread_host_peer([qemu()]), 2)
        self.measure("native_mapread_vs_read", lambda: self.mapread_host_peer([]), 2)
        self.measure("maps_20000_vs_5000", self.maps_ratio, 2)
        shutil.rmtree(self.scratch, ignore_errors=True)

    def report(self, elapsed: float) -> dict[str, Any]:
        targets = {}
        for key, (sense, threshold) in TARGETS.items():
            value = self.values.get(key)
            met = None if value is None else (value <= threshold if sense == "<=" else value >= threshold)
            targets[key] = {"value": value, "target": f"{sense} {threshold}", "met": met}
        return {
            "values": self.values,
            "targets": targets,
            "notes": NOTES,
            "skipped": self.skipped,
            "errors": self.errors,
            "parameters": {"quick": self.quick, "repeat": self.repeat},
            "elapsed_s": round(elapsed, 1),
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, one repetition")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (default 3, quick 1)")
    options = parser.parse_args(argv)
    bench = Bench(options.quick, options.repeat or (1 if options.quick else 3))
    start = time.perf_counter()
    bench.run()
    print(json.dumps(bench.report(time.perf_counter() - start), indent=2))
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
