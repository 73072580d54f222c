"""An idle kernel costs the host nothing, whatever ran before: the guest web servers (pthreads and
uthreads on an MCP) and the 9P export are loaded from the host, the load stops, and the kernel
process's own CPU time over the next seconds stays near zero.

The one timed assertion of the suite, with a generous bound: an idle kernel blocks in
``epoll_wait`` (0 CPU); the bug this guards against (uhttpd's idle vcores spinning after a few
seconds of wrk, their yields refused for ever) used 30-100% of a core.
"""

from __future__ import annotations

import os
import re
import threading
import time
from pathlib import Path

import pytest
from support import CONFIGS, kernel_process, until_serving, wrk_load

pytest.importorskip("kernkit.plugins.net")
pytest.importorskip("kernkit.plugins.ninep")

LOAD_SECONDS = 2
SETTLE_SECONDS = 0.5
IDLE_SECONDS = 2.0
#: Generous: the promise is < 1% of a core; CI hosts are shared and ticks are 10 ms.
IDLE_CPU_BOUND = 0.05 * IDLE_SECONDS
FORWARD = re.compile(r"net: forwarding 127\.0\.0\.1:(\d+) to guest port 80")
EXPORT = re.compile(r"9P export on 127\.0\.0\.1:(\d+)")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process ``pid`` has used (from /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(pid: int) -> float:
    """CPU seconds ``pid`` uses over IDLE_SECONDS, once the load has had time to drain."""
    time.sleep(SETTLE_SECONDS)
    before = cpu_seconds(pid)
    time.sleep(IDLE_SECONDS)
    return cpu_seconds(pid) - before


def announced(proc, pattern: re.Pattern) -> int:  # noqa: ANN001
    line = proc.stderr.readline().decode()
    match = pattern.search(line)
    assert match, line + (proc.stderr.read().decode() if proc.poll() is not None else "")
    return int(match.group(1))


#: wrk connections of each load in turn: the spin came from a race between vcores yielding and
#: asking for cores back, so uhttpd gets several loads that rise and fall.
LOADS = {"uhttpd": (16, 64, 4), "httpd": (16,)}


@pytest.mark.parametrize("server", sorted(LOADS))
def test_a_guest_web_server_is_idle_once_the_load_stops(tmp_path, server):
    config = tmp_path / f"{server}.toml"
    config.write_text(
        f'extends = "{CONFIGS / f"{server}.toml"}"\n'
        f'[namespace]\nroot = {{ "/bin" = "@programs", "/www" = "{CONFIGS / "www"}" }}\n'
    )
    with kernel_process("--set", 'net.forward=[{host="127.0.0.1:0", guest=80}]', str(config)) as proc:
        port = announced(proc, FORWARD)
        until_serving(port)  # the forward listens from boot; calls before the server does are reset
        used = []
        for connections in LOADS[server]:
            assert wrk_load(port, 2, connections, LOAD_SECONDS) > 0
            used.append(round(idle_cpu(proc.pid), 2))
        assert proc.poll() is None, proc.stderr.read().decode()
    assert max(used) < IDLE_CPU_BOUND, (
        f"{server}: {used} s of CPU in {IDLE_SECONDS} s with no client, after each load"
    )


def test_the_9p_export_is_idle_once_its_clients_stop():
    from kernkit.plugins.ninep.client import Client

    stop = threading.Event()
    served: list[int] = []
    failures: list[BaseException] = []

    def client(port: int) -> None:
        try:
            c = Client.connect("127.0.0.1", port, msize=65536)
            root, _ = c.attach("/")
            while not stop.is_set():
                fid, _ = c.walk(root, ["proc", "1", "status"])
                c.open(fid, os.O_RDONLY)
                assert b"idle" in c.read(fid, 0, 4096)
                c.clunk(fid)
                listing, _ = c.walk(root, ["proc"])
                c.open(listing, os.O_RDONLY)
                assert "1" in [name for name, _ in c.readdir(listing)]
                c.clunk(listing)
                served.append(1)
            c.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    export = CONFIGS / "export.toml"
    with kernel_process(str(export), "--set", "export9p.listen=127.0.0.1:0") as proc:
        port = announced(proc, EXPORT)
        clients = [threading.Thread(target=client, args=(port,)) for _ in range(4)]
        for thread in clients:
            thread.start()
        time.sleep(LOAD_SECONDS)
        stop.set()
        for thread in clients:
            thread.join(30)
        assert not failures, failures
        assert served
        used = idle_cpu(proc.pid)
        assert proc.poll() is None, proc.stderr.read().decode()
    assert used < IDLE_CPU_BOUND, f"9P export: {used:.2f} s of CPU in {IDLE_SECONDS} s with no client"
