"""Network benchmarks: wrk against the guest httpd (pthreads), the guest uhttpd (uthreads on an
MCP) and the host's python3 -m http.server in one run, kernel syscalls per request, and loopback
TCP throughput between two guest processes.

Prints one JSON object on stdout; progress goes to stderr. Missing peers (wrk) are reported under
"skipped"; missed targets are reported, not judged. Loopback only, bounded durations.

    python bench/net.py                  # wrk 5 s per server, 64 MiB stream
    python bench/net.py --quick          # wrk 2 s, 16 MiB
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MIB = 1 << 20
TARGETS = {"loopback_tcp_mib_s_host": 100.0}
NOTES = {
    "guest_httpd_requests_s": "wrk -t2 -c10, keep-alive, GET / (209 bytes) from user/httpd.c "
    "(thread per connection) through a [[net.forward]]; kernel on 2 cores, deterministic mode",
    "host_python_http_server_requests_s": "the same wrk against python3 -m http.server on the host "
    "serving the same file (a reference point: HTTP/1.0, a connection per request)",
    "syscalls_per_request": "kernel syscalls during the guest httpd wrk run / requests wrk completed",
    "guest_uhttpd_requests_s": "the same wrk against user/uhttpd.c (a uthread per connection on an "
    "MCP, parlib's FD taps for waiting) from configs/uhttpd.toml: 4 cores, the mcp ksched, 3 vcores",
    "uhttpd_syscalls_per_request": "kernel syscalls during the uhttpd wrk run / requests wrk completed",
    "uhttpd_tap_events_per_request": "FD tap events the kernel sent during the uhttpd run / requests",
    "guest_uhttpd_1_vcore_requests_s": "uhttpd asking for 1 vcore instead of 3 (same config otherwise)",
    "uhttpd_1_vcore_guest_instructions_per_request": "guest instructions per request of that run",
    "httpd_guest_instructions_per_request": "guest instructions retired on every core during the "
    "httpd run / requests (what the emulator executes; an idle kernel thread retires none)",
    "uhttpd_guest_instructions_per_request": "the same for uhttpd: its request path plus the 2LS, and "
    "idle vcores spinning before they yield (free on real cores, host time under emulation)",
    "loopback_tcp_mib_s_virtual": "nettest stream: one guest process writes 128 KiB buffers to "
    "another over 127.0.0.1; MiB per second of virtual time (what the guest measures; kernel work "
    "takes no virtual time, so this counts only the guests' instructions: not a transport figure)",
    "loopback_tcp_mib_s_host": "the same bytes per second of host wall time, boot included (the target)",
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


def wrk(port: int, seconds: int) -> tuple[float, int]:
    run = subprocess.run(
        ["wrk", "-t2", "-c10", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", run.stdout).group(1))
    total = int(re.search(r"(\d+) requests in", run.stdout).group(1))
    return rate, total


def guest_server(seconds: int, name: str, args: list[str] | None = None) -> tuple[float, float, float, int]:
    """wrk against configs/NAME.toml's server: requests/s; syscalls, tap events and guest
    instructions per request."""
    import io

    from kernkit.core.assemble import assemble, boot
    from kernkit.plugins.akaros_abi.taps import taps_fired

    port = free_port()
    config = Path(tempfile.mkdtemp()) / f"{name}.toml"
    config.write_text(
        f'extends = "{ROOT / "configs" / f"{name}.toml"}"\n'
        f'[namespace]\nroot = {{ "/bin" = "@programs", "/www" = "{ROOT / "configs" / "www"}" }}\n'
    )
    overrides: dict = {"net.forward": [{"host": f"127.0.0.1:{port}", "guest": 80}]}
    if args is not None:
        overrides["init.args"] = args
    kernel = assemble(
        config,
        overrides=overrides,
        stdin=io.BytesIO(),
        stdout=io.BytesIO(),
        stderr=io.BytesIO(),
    )
    boot(kernel)
    thread = threading.Thread(target=kernel.run, daemon=True)
    thread.start()
    wait_port(port)
    before, fired = kernel.dispatcher.count, taps_fired(kernel)
    retired = kernel.instructions
    rate, total = wrk(port, seconds)
    calls = kernel.dispatcher.count - before
    retired = kernel.instructions - retired
    fired = taps_fired(kernel) - fired
    kernel.finished = True  # stop it, so it takes no host time from the next measurement
    with contextlib.suppress(OSError):  # host input wakes a kernel idling for it
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    thread.join(30)
    per = max(total, 1)
    return rate, round(calls / per, 1), round(fired / per, 2), round(retired / per)


def guest_httpd(seconds: int) -> dict:
    rate, calls, _, insns = guest_server(seconds, "httpd")
    return {
        "guest_httpd_requests_s": round(rate),
        "syscalls_per_request": calls,
        "httpd_guest_instructions_per_request": insns,
    }


def guest_uhttpd(seconds: int) -> dict:
    rate, calls, taps, insns = guest_server(seconds, "uhttpd")
    return {
        "guest_uhttpd_requests_s": round(rate),
        "uhttpd_syscalls_per_request": calls,
        "uhttpd_tap_events_per_request": taps,
        "uhttpd_guest_instructions_per_request": insns,
    }


def guest_uhttpd_one_vcore(seconds: int) -> dict:
    rate, _, _, insns = guest_server(seconds, "uhttpd", ["80", "/www", "1"])
    return {
        "guest_uhttpd_1_vcore_requests_s": round(rate),
        "uhttpd_1_vcore_guest_instructions_per_request": insns,
    }


def host_server(seconds: int) -> float:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(ROOT / "configs" / "www"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        return wrk(port, seconds)[0]
    finally:
        proc.terminate()
        proc.wait(10)


def stream(size: int) -> dict:
    from kernkit.tools.testing import boot_kernel

    start = time.perf_counter()
    result = boot_kernel("nettest", "stream", str(size), machine__cores=2)
    wall = time.perf_counter() - start
    match = re.search(r"stream ok: (\d+) bytes, ([\d.]+) MiB/s virtual", result.out)
    if not match:
        raise RuntimeError(result.out + result.err)
    return {
        "loopback_tcp_mib_s_virtual": float(match.group(2)),
        "loopback_tcp_mib_s_host": round(size / wall / MIB, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    seconds, size = (2, 16 * MIB) if args.quick else (5, 64 * MIB)
    figures: dict = {}
    skipped: dict = {}
    log(f"loopback stream of {size // MIB} MiB")
    figures.update(stream(size))
    if shutil.which("wrk"):
        log(f"wrk {seconds}s against the guest httpd")
        figures.update(guest_httpd(seconds))
        log(f"wrk {seconds}s against the guest uhttpd")
        figures.update(guest_uhttpd(seconds))
        log(f"wrk {seconds}s against the guest uhttpd on 1 vcore")
        figures.update(guest_uhttpd_one_vcore(seconds))
        log(f"wrk {seconds}s against python3 -m http.server")
        figures["host_python_http_server_requests_s"] = round(host_server(seconds))
    else:
        skipped["wrk"] = "wrk is not installed (apt-get install wrk)"
    met = {k: figures.get(k, 0) >= v for k, v in TARGETS.items() if k in figures}
    if "guest_httpd_requests_s" in figures:
        met["guest_httpd_at_least_host_python"] = (
            figures["guest_httpd_requests_s"] >= figures["host_python_http_server_requests_s"]
        )
    print(
        json.dumps(
            {"figures": figures, "targets": TARGETS, "met": met, "notes": NOTES, "skipped": skipped}, indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
