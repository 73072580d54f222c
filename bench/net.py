"""Network benchmarks, with the native peers from the same run: wrk against the guest httpd
(pthreads: a thread per connection, and pre-threaded), the guest uhttpd (uthreads on an MCP)
and busybox httpd running natively, with keep-alive and with ``Connection: close``, runs
interleaved; loopback TCP between two guest processes against the same program natively and
under qemu-user.

Prints one JSON object on stdout; progress goes to stderr. Missing peers (wrk, busybox,
qemu-user) are reported under "skipped"; missed targets are reported, not judged.

    python bench/net.py                  # wrk 5 s a run, 3 runs each, 64 MiB streams
    python bench/net.py --quick          # wrk 2 s, 1 run, 16 MiB
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MIB = 1 << 20
#: httpd's SPARE argument for the pre-threaded run (wrk holds 16 connections).
POOL_SPARE = 16
WWW = ROOT / "configs" / "www"
#: Each guest figure over busybox httpd's (native) or over the native stream's.
TARGETS = {
    "keepalive_vs_busybox": 0.75,
    "close_vs_busybox": 0.5,
    "p99_vs_busybox_at_most": 2.0,
    "loopback_vs_native": 0.6,
}
NOTES = {
    "requests_s": "wrk -t2 -c16, GET / (209 bytes), median of the runs; guests through a "
    "[[net.forward]], deterministic mode: httpd (user/httpd.c, a thread per connection, "
    "configs/httpd.toml: 2 cores), httpd_pool (the same program and config with SPARE = 16: "
    "pre-threaded, its threads reused across connections, each waiting in accept()), "
    "uhttpd (user/uhttpd.c, uthreads on an MCP, configs/uhttpd.toml: "
    "4 cores, 3 vcores); busybox: busybox httpd -f on the host serving the same directory (it "
    "forks a process per connection and closes every connection, so its keep-alive and close "
    "figures are the same server)",
    "close": "the same with wrk -H 'Connection: close': a connection per request",
    "latency_ms": "wrk --latency percentiles of the median run (p50, p99)",
    "host_cpu_us_per_request": "host CPU time serving the load / requests, median of the runs: "
    "guests, the bench process's own (the kernels run on its threads; wrk is another process); "
    "busybox, its process and the children it forked and waited for (clock ticks). Steadier than "
    "the rates when the host is shared: a server needing more CPU a request loses more to others",
    "syscalls_per_request": "guest system calls during the runs / requests wrk completed",
    "guest_instructions_per_request": "guest instructions retired on every core / requests",
    "loopback_mib_s": "nettest stream N: one process writes 128 KiB buffers to another over "
    "127.0.0.1 and waits for the count back; kernkit: MiB / host seconds of kernel.run() (2 cores, "
    "in this process: fork, transfer and exits); native and qemu-user: the program's own figure "
    "(MiB / real seconds from its first write to the count coming back)",
}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise RuntimeError(f"wrk printed a latency kernkit cannot read: {text!r}")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def wrk(port: int, seconds: int, close: bool) -> dict:
    """One wrk run: requests/s, requests, p50 and p99 latency (ms), errors."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency"]
    if close:
        command += ["-H", "Connection: close"]
    run = subprocess.run(
        [*command, f"http://127.0.0.1:{port}/"], capture_output=True, text=True, timeout=seconds + 60
    )
    out = run.stdout
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rate": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": _ms(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)),
        "p99": _ms(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)),
        "errors": errors.group(1).strip() if errors else "",
        "non2xx": bool(re.search(r"Non-2xx", out)),
    }


def process_cpu(pid: int) -> float:
    """CPU seconds of a process and of the children it waited for (busybox forks per client)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


class Server:
    """Something wrk can load on a port, and the host CPU time serving it takes (``cpu``);
    guests also count their kernel's work."""

    def __init__(self, name: str, port: int, cpu: Callable[[], float], kernel=None) -> None:  # noqa: ANN001
        self.name, self.port, self.cpu, self.kernel = name, port, cpu, kernel
        self.calls = self.instructions = self.requests = 0

    def run(self, seconds: int, close: bool) -> dict:
        kernel = self.kernel
        if kernel is not None:
            calls, insns = kernel.dispatcher.count, kernel.instructions
        cpu = self.cpu()
        result = wrk(self.port, seconds, close)
        result["cpu_us_per_request"] = (self.cpu() - cpu) / max(result["requests"], 1) * 1e6
        if kernel is not None:
            self.calls += kernel.dispatcher.count - calls
            self.instructions += kernel.instructions - insns
            self.requests += result["requests"]
        return result


@contextlib.contextmanager
def guest(name: str, args: list[str] | None = None, label: str | None = None) -> Iterator[Server]:
    """configs/NAME.toml's server (its init given ``args`` if set), in this process on a thread,
    on a free forward port; its figures are named ``label`` (default NAME)."""
    from kernkit.core.assemble import assemble, boot

    port = free_port()
    config = Path(tempfile.mkdtemp()) / f"{name}.toml"
    config.write_text(
        f'extends = "{ROOT / "configs" / f"{name}.toml"}"\n'
        f'[namespace]\nroot = {{ "/bin" = "@programs", "/www" = "{WWW}" }}\n'
    )
    overrides: dict = {"net.forward": [{"host": f"127.0.0.1:{port}", "guest": 80}]}
    if args is not None:
        overrides["init.args"] = args
    kernel = assemble(
        config, overrides=overrides, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO()
    )
    boot(kernel)
    thread = threading.Thread(target=kernel.run, daemon=True)
    thread.start()
    try:
        wait_port(port)
        yield Server(label or name, port, time.process_time, kernel)  # the other guests idle meanwhile
    finally:
        kernel.finished = True
        with contextlib.suppress(OSError):  # host input wakes a kernel idling for it
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        thread.join(30)


@contextlib.contextmanager
def busybox() -> Iterator[Server]:
    port = free_port()
    proc = subprocess.Popen(
        ["busybox", "httpd", "-f", "-p", f"127.0.0.1:{port}", "-h", str(WWW)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield Server("busybox", port, lambda: process_cpu(proc.pid))
    finally:
        proc.terminate()
        proc.wait(10)


def web_figures(seconds: int, repeat: int) -> tuple[dict, dict]:
    """wrk against busybox, httpd and uhttpd, keep-alive then close, runs interleaved."""
    figures: dict = {}
    samples: dict = {}
    with (
        busybox() as bb,
        guest("httpd") as httpd,
        guest("httpd", ["80", "/www", str(POOL_SPARE)], "httpd_pool") as pool,
        guest("uhttpd") as uhttpd,
    ):
        servers = [bb, httpd, pool, uhttpd]
        for server in servers[1:]:  # warm-up: the guests' first requests fault their pages in
            wrk(server.port, 1, False)
        for mode, close in (("keepalive", False), ("close", True)):
            runs: dict[str, list[dict]] = {s.name: [] for s in servers}
            for index in range(repeat):
                for server in servers:
                    log(f"wrk {seconds}s {mode} against {server.name} ({index + 1}/{repeat})")
                    runs[server.name].append(server.run(seconds, close))
            for name, results in runs.items():
                median = sorted(results, key=lambda r: r["rate"])[len(results) // 2]
                figures[f"{name}_{mode}_requests_s"] = round(median["rate"])
                figures[f"{name}_{mode}_latency_ms"] = {"p50": median["p50"], "p99": median["p99"]}
                errors = [r["errors"] for r in results if r["errors"] or r["non2xx"]]
                if errors:
                    figures[f"{name}_{mode}_errors"] = errors
                samples[f"{name}_{mode}_requests_s"] = [round(r["rate"]) for r in results]
                cpu = statistics.median(r["cpu_us_per_request"] for r in results)
                figures[f"{name}_{mode}_host_cpu_us_per_request"] = round(cpu)
        for server in servers[1:]:
            per = max(server.requests, 1)
            figures[f"{server.name}_syscalls_per_request"] = round(server.calls / per, 1)
            figures[f"{server.name}_guest_instructions_per_request"] = round(server.instructions / per)
    return figures, samples


def kernkit_stream(size: int) -> float:
    """MiB per second of host time of ``kernel.run()`` (fork, transfer, exits; boot excluded)."""
    from kernkit.core.assemble import assemble, boot

    out = io.BytesIO()
    overrides = {"init.program": "nettest", "init.args": ["stream", str(size)], "machine.cores": 2}
    kernel = assemble(None, overrides=overrides, stdin=io.BytesIO(), stdout=out, stderr=io.BytesIO())
    boot(kernel)
    start = time.perf_counter()
    status = kernel.run()
    wall = time.perf_counter() - start
    if status != 0 or b"stream ok" not in out.getvalue():
        raise RuntimeError(out.getvalue().decode(errors="replace"))
    return size / wall / MIB


def process_stream(size: int, prefix: list[str]) -> float:
    """The program's own figure: MiB per second of real time from its first write to the count
    coming back (natively and under qemu-user its clock is the host's)."""
    from kernkit.core.programs import packaged_programs_dir

    run = subprocess.run(
        [*prefix, str(packaged_programs_dir() / "nettest"), "stream", str(size)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    match = re.search(r"stream ok: \d+ bytes, ([\d.]+) MiB/s", run.stdout)
    if not match:
        raise RuntimeError(run.stdout + run.stderr)
    return float(match.group(1))


def qemu_user() -> str | None:
    return shutil.which("qemu-x86_64-static") or shutil.which("qemu-x86_64")


def stream_figures(size: int, repeat: int) -> tuple[dict, dict, dict]:
    peers = {"kernkit": kernkit_stream, "native": lambda n: process_stream(n, [])}
    skipped = {}
    qemu = qemu_user()
    if qemu:
        peers["qemu_user"] = lambda n: process_stream(n, [qemu])
    else:
        skipped["loopback_qemu_user_mib_s"] = "qemu-user is not installed (apt-get install qemu-user-static)"
    runs: dict[str, list[float]] = {name: [] for name in peers}
    for index in range(repeat):
        for name, measure in peers.items():
            log(f"loopback stream of {size // MIB} MiB: {name} ({index + 1}/{repeat})")
            runs[name].append(measure(size))
    figures = {f"loopback_{name}_mib_s": round(statistics.median(v), 1) for name, v in runs.items()}
    samples = {f"loopback_{name}_mib_s": [round(x, 1) for x in v] for name, v in runs.items()}
    return figures, samples, skipped


def judge(figures: dict) -> dict:
    met: dict = {}
    bb_keep = figures.get("busybox_keepalive_requests_s")
    bb_close = figures.get("busybox_close_requests_s")
    for name in ("httpd", "httpd_pool", "uhttpd"):
        if bb_keep and f"{name}_keepalive_requests_s" in figures:
            ratio = figures[f"{name}_keepalive_requests_s"] / bb_keep
            met[f"{name}_keepalive_vs_busybox"] = {
                "value": round(ratio, 2),
                "met": ratio >= TARGETS["keepalive_vs_busybox"],
            }
        if bb_close and f"{name}_close_requests_s" in figures:
            ratio = figures[f"{name}_close_requests_s"] / bb_close
            met[f"{name}_close_vs_busybox"] = {
                "value": round(ratio, 2),
                "met": ratio >= TARGETS["close_vs_busybox"],
            }
        for mode in ("keepalive", "close"):
            ours, theirs = figures.get(f"{name}_{mode}_latency_ms"), figures.get(f"busybox_{mode}_latency_ms")
            if ours and theirs:
                ratio = ours["p99"] / theirs["p99"]
                met[f"{name}_{mode}_p99_vs_busybox"] = {
                    "value": round(ratio, 2),
                    "met": ratio <= TARGETS["p99_vs_busybox_at_most"],
                }
    native = figures.get("loopback_native_mib_s")
    if native and "loopback_kernkit_mib_s" in figures:
        ratio = figures["loopback_kernkit_mib_s"] / native
        met["loopback_vs_native"] = {"value": round(ratio, 2), "met": ratio >= TARGETS["loopback_vs_native"]}
    return met


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="wrk 2 s, one run each, 16 MiB streams")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each figure (default 3)")
    args = parser.parse_args()
    seconds, size, repeat = (2, 16 * MIB, 1) if args.quick else (5, 64 * MIB, max(1, args.repeat))
    figures: dict = {}
    samples: dict = {}
    skipped: dict = {}
    stream, stream_samples, stream_skipped = stream_figures(size, repeat)
    figures.update(stream)
    samples.update(stream_samples)
    skipped.update(stream_skipped)
    if not shutil.which("wrk"):
        skipped["web"] = "wrk is not installed (apt-get install wrk)"
    elif not shutil.which("busybox"):
        skipped["web"] = "busybox is not installed (apt-get install busybox-static)"
    else:
        web, web_samples = web_figures(seconds, repeat)
        figures.update(web)
        samples.update(web_samples)
    report = {
        "figures": figures,
        "targets": TARGETS,
        "met": judge(figures),
        "notes": NOTES,
        "skipped": skipped,
        "samples": samples,
        "parameters": {"wrk_seconds": seconds, "repeat": repeat, "stream_bytes": size},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
