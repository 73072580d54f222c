"""FD taps (SYS_tap_fds) and uhttpd: uthreads on an MCP that park on /net files, served to real
host clients (curl) through a [[net.forward]]."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess

import pytest
from support import CONFIGS, kernel_process, run_kernel, until_serving, wrk_load

from kernkit.core.errors import KernkitError
from kernkit.core.wait import unwatch_readiness, wake_pollers, watch_readiness

pytest.importorskip("kernkit.plugins.net")

MCP4 = {
    "kernel__personalities": ["linux", "akaros"],
    "sched__policy": "mcp",
    "machine__cores": 4,
}
RESULT = re.compile(r"PASSED (\w+)|FAILED (\w+): (.*)")
RULES = (
    "bad_fd_is_ebadf",
    "bad_request_pointer_is_efault",
    "too_many_requests_is_einval",
    "a_file_that_never_waits_is_enosys",
    "loopback_pair",
    "unsupported_filter_is_einval",
    "ev_id_beyond_an_event_type_is_einval",
    "bad_event_queue_is_efault",
    "read_only_event_queue_is_efault",
    "unknown_command_is_enosys",
    "tap_added",
    "no_event_while_nothing_to_read",
    "a_second_tap_on_the_fd_is_ebusy",
    "data_arriving_sends_the_event_with_the_filter",
    "indir_sends_ev_event_with_the_queue",
    "still_readable_is_no_new_event",
    "read_takes_both_writes",
    "nonblocking_read_of_an_empty_conversation_is_eagain",
    "readable_again_fires_again",
    "a_file_ready_already_fires_at_once",
    "a_failing_second_request_returns_one",
    "events_of_one_fd_coalesce_in_the_ceq",
    "writing_to_a_closed_peer_is_epipe_not_a_signal",
    "closing_the_fd_removed_its_tap",
    "nonblocking_listen_without_a_call_is_eagain",
    "an_mcp_uthread_parks_until_its_tap_fires",
    "it_parked",
    "the_writer_exited",
    "a_reused_descriptor_gets_a_new_tap",
)


@pytest.fixture(scope="module")
def tap_run():
    return run_kernel("tap_check", trace=True, **MCP4)


def test_tap_check_passes_every_rule(tap_run):
    lines = tap_run.out.splitlines()
    assert lines[0] == "BEGIN tap_check" and lines[-1] == "END tap_check", tap_run.out + tap_run.err
    found = {}
    for line in lines[1:-1]:
        match = RESULT.fullmatch(line)
        assert match, f"not a result line: {line!r}"
        found[match[1] or match[2]] = "PASSED" if match[1] else match[3]
    assert list(found) == list(RULES)
    assert {name: why for name, why in found.items() if why != "PASSED"} == {}
    assert tap_run.status == 0


def test_the_parked_mcp_waits_with_no_core_until_its_tap_fires(tap_run):
    events = [json.loads(line) for line in tap_run.trace.splitlines()]
    pid = next(e["pid"] for e in events if e["ev"] == "spawn" and e["argv"][1:] == [])
    mine = [e for e in events if e.get("pid") == pid]
    waiting = [i for i, e in enumerate(mine) if e["ev"] == "state" and e["to"] == "WAITING"]
    assert waiting, "the MCP never went WAITING while its uthreads were parked"
    for at in waiting:  # every wake-up came from a tap's event
        woken = next(i for i, e in enumerate(mine[at:], at) if e["ev"] == "state" and e["from"] == "WAITING")
        assert "fdtap" in [e["ev"] for e in mine[at:woken]]


def test_a_tap_fires_for_each_frame_on_a_device_that_does_not_signal_drains():
    """#ether wakes pollers when a frame arrives, not when a read drains the queue: the reader's
    EAGAIN re-arms the tap, so no frame after the first is lost."""
    run = run_kernel("tap_check", "ether", ether__nics=["52:54:00:12:34:56"], **MCP4)
    assert run.out.splitlines() == [
        "BEGIN tap_check",
        "PASSED ether_connections",
        "PASSED ether_tap_added",
        "PASSED each_frame_after_a_drain_fires",
        "END tap_check",
    ], run.out + run.err
    assert run.status == 0


def test_tap_check_runs_the_same_twice(tap_run):
    again = run_kernel("tap_check", trace=True, **MCP4)
    assert again.trace == tap_run.trace


def test_readiness_watchers_are_called_by_wake_pollers_until_unwatched():
    class FakeKernel:
        data: dict = {}

    kernel = FakeKernel()
    calls = []

    def watcher() -> None:
        calls.append(1)

    watch_readiness(kernel, watcher)
    watch_readiness(kernel, watcher)  # once only
    wake_pollers(kernel)
    unwatch_readiness(kernel, watcher)
    wake_pollers(kernel)
    assert calls == [1]


def test_uhttpd_without_the_akaros_personality_is_a_clear_error():
    with pytest.raises(KernkitError, match=r"add 'akaros' to \[kernel\] personalities"):
        run_kernel("uhttpd")


# --- uhttpd with real clients ----------------------------------------------------------------

ANNOUNCE = re.compile(r"net: forwarding 127\.0\.0\.1:(\d+) to guest port (\d+)")


@contextlib.contextmanager
def uhttpd(tmp_path):
    config = tmp_path / "uhttpd.toml"
    config.write_text(
        f'extends = "{CONFIGS / "uhttpd.toml"}"\n'
        f'[namespace]\nroot = {{ "/bin" = "@programs", "/www" = "{CONFIGS / "www"}" }}\n'
    )
    with kernel_process("--set", 'net.forward=[{host="127.0.0.1:0", guest=80}]', str(config)) as proc:
        line = proc.stderr.readline().decode()
        match = ANNOUNCE.search(line)
        assert match, line + (proc.stderr.read().decode() if proc.poll() is not None else "")
        port = int(match.group(1))
        until_serving(port)
        yield port, proc


def _curl() -> str:
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    return curl


def test_uhttpd_keep_alive_404_and_methods_with_curl(tmp_path):
    curl = _curl()
    with uhttpd(tmp_path) as (port, _):
        url = f"http://127.0.0.1:{port}/"
        urls = [url, url + "index.html", url + "nope", url, url + "index.html"]
        run = subprocess.run(
            [curl, "-sS", "--max-time", "30", "-w", "\n%{http_code} %{num_connects}\n", *urls],
            capture_output=True,
            timeout=60,
        )
        assert run.returncode == 0, run.stderr
        out = run.stdout.decode()
        assert out.count("Hello from kernkit!") == 4
        codes = re.findall(r"^(\d{3}) (\d+)$", out, re.M)
        # five requests, one connection: only the first one connected
        assert codes == [("200", "1"), ("200", "0"), ("404", "0"), ("200", "0"), ("200", "0")]
        head = subprocess.run([curl, "-sS", "-I", url], capture_output=True, timeout=60)
        assert b"Content-Length: 209" in head.stdout and b"Server: kernkit-uhttpd" in head.stdout
        post = subprocess.run(
            [curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-d", "x", url],
            capture_output=True,
            timeout=60,
        )
        assert post.stdout == b"501"
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"nonsense\r\n\r\n")
            assert s.recv(100).startswith(b"HTTP/1.1 400 Bad Request")


def test_uhttpd_serves_many_concurrent_connections(tmp_path):
    curl = _curl()
    with uhttpd(tmp_path) as (port, _):
        # 64 connections open at once, each with three requests, interleaved: a uthread that
        # waits for its next request must not hold up the others
        socks = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(64)]
        try:
            for _round in range(3):
                for s in socks:
                    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                for s in socks:
                    got = b""
                    while not got.endswith(b"</html>\n"):
                        chunk = s.recv(4096)
                        assert chunk, "connection closed"
                        got += chunk
                    assert got.startswith(b"HTTP/1.1 200 OK") and b"Connection: keep-alive" in got
        finally:
            for s in socks:
                s.close()
        url = f"http://127.0.0.1:{port}/"
        run = subprocess.run(
            [curl, "-s", "--parallel", "--parallel-max", "50", "-w", "\ncode=%{http_code}\n"] + [url] * 100,
            capture_output=True,
            timeout=120,
        )
        out = run.stdout.decode()
        assert re.findall(r"^code=(\d+)$", out, re.M) == ["200"] * 100
        assert out.count("Hello from kernkit!") == 100


@pytest.mark.slow
def test_uhttpd_under_wrk(tmp_path):
    with uhttpd(tmp_path) as (port, _):
        assert wrk_load(port, threads=2, connections=50, seconds=3) > 50
