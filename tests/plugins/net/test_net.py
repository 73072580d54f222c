"""Networking: guests talking TCP and UDP through sockets and /net files, and the host bridge."""

from __future__ import annotations

import contextlib
import hashlib
import re
import shutil
import socket
import subprocess
import threading

import pytest
from support import CONFIGS, USER_BIN, host_answerer, kernel_process, kernkit_cli, run_kernel, wrk_load

from kernkit.core.errors import ConfigError

pytest.importorskip("kernkit.plugins.net")


def nettest(*args: str, **overrides):
    result = run_kernel("nettest", *args, **overrides)
    assert result.status == 0, result.out + result.err
    return result.out


def test_loopback_echo_across_processes():
    out = nettest("echo", "7000", "20")
    assert "local 127.0.0.1:49152 -> remote 127.0.0.1:7000" in out
    assert "echo ok 20 round trips" in out


def test_many_concurrent_connections_to_an_epoll_server():
    assert "many ok 100/100 connections, server exit 0" in nettest("many", "100")


def test_signal_in_blocked_accept_and_recv_as_on_linux():
    """A signal while accept and recv wait: EINTR without SA_RESTART; with it the call goes on and
    returns the connection or the bytes that came later (the wake completes the waiting call)."""
    native = subprocess.run([str(USER_BIN / "nettest"), "intr"], capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    assert "recv, SA_RESTART: late, handler ran 1\n" in native.stdout
    assert nettest("intr") == native.stdout


def test_signal_in_blocked_read_poll_select_and_epoll_as_on_linux():
    """A signal while read() waits on a pipe or a socket: EINTR, or with SA_RESTART the bytes
    that came later; poll, select and epoll_wait end with EINTR even under SA_RESTART. Each then
    waits for bytes that come later (the wake completes the waiting call), a timed poll times
    out, and ppoll puts the caller's own mask back."""
    native = subprocess.run([str(USER_BIN / "nettest"), "intrio"], capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    assert "select, SA_RESTART: Interrupted system call, handler ran 1\n" in native.stdout
    assert "readv until bytes come: 4: ve|ct\n" in native.stdout
    assert nettest("intrio") == native.stdout


def test_socketpair_behaves_as_on_linux():
    """socketpair(AF_UNIX, SOCK_STREAM): the same program prints the same facts here and on Linux."""
    native = subprocess.run([str(USER_BIN / "nettest"), "pair"], capture_output=True, text=True, timeout=60)
    assert native.returncode == 0, native.stderr
    assert "from a forked child: from the child\n" in native.stdout
    assert nettest("pair") == native.stdout


def test_refused_and_unreachable():
    out = nettest("refused", "9")
    assert "connect to 9: Connection refused" in out
    assert "connect to own address: Connection refused" in out
    assert "connect to 192.0.2.1: Network unreachable" in out  # host access is off by default


def test_closing_with_unread_input_resets_the_peer():
    out = nettest("reset")
    # as on Linux: the reset is reported once, then the connection is closed for writing
    assert "read after reset: -1 (Connection reset by peer)" in out
    assert "send after reset: -1 (Broken pipe)" in out


def test_half_close_then_reply_then_eof():
    assert "halfclose: got 7 bytes: request (then 0)" in nettest("halfclose")


def test_large_transfer_byte_for_byte():
    out = nettest("big", str(8 << 20))
    assert "big ok: sent 8388608 received 8388608 mismatches 0 checksum equal" in out


def test_flow_control_holds_a_writer_to_the_buffer():
    # a 64 KiB buffer still moves 1 MiB intact: writers wait for the reader
    assert "big ok" in nettest("big", str(1 << 20), net__buffer="64K")


def test_udp_datagrams():
    out = nettest("udp")
    assert "udp: 4 bytes 'ping' from 127.0.0.1:9001" in out
    assert "udp: truncated to 2 'po'" in out
    assert "udp: connected reply 'reply'" in out
    assert "udp: empty queue: Resource temporarily unavailable" in out


def test_net_files_and_malformed_ctl_writes():
    out = nettest("files")
    assert "clone: conversation 0" in out
    assert "ctl 'frobnicate': Invalid argument -- unknown ctl message 'frobnicate'" in out
    assert "ctl 'connect 127.0.0.1': Invalid argument -- '127.0.0.1': expected ADDR!PORT" in out
    assert "'300.1.2.3' is not an IPv4 address" in out
    assert "ctl 'announce 99999': Invalid argument" in out
    assert "ctl '': Invalid argument -- empty ctl message" in out
    assert "ctl 'announce 7005': ok" in out
    assert "data: 'hello over /net'" in out
    assert re.search(r"status: Established .*rcvd 15 eof", out)


def test_select_and_poll():
    out = nettest("select")
    assert "select on idle listener, 5 ms: 0" in out
    assert "select after a connect: 1, listener ready 1" in out
    assert "poll now: 1 in=0 out=1" in out
    assert "poll for input: 1 in=1" in out
    assert "poll at EOF: 1 in=1 hup=0" in out  # the peer's FIN shuts reading only: no POLLHUP (Linux)


def test_a_guest_leaking_sockets_hits_limits_and_the_kernel_survives():
    out = nettest("leak")
    assert "leak: 1021 sockets, then No file descriptors available" in out
    assert "echo ok 3 round trips" in out and "leak: child exit 0" in out


def test_kernel_wide_conversation_limit():
    out = nettest("leak", net__max_conversations=100)
    assert "leak: 100 sockets, then Too many open files in system" in out


def test_net_is_in_the_namespace_and_conversations_go_with_their_files():
    result = run_kernel("run", "ls /net /net/tcp", "cat /net/ndb /net/ipifc/0/local")
    assert result.status == 0, result.err
    assert "clone" in result.out and "ipifc" in result.out and "udp" in result.out
    assert "ip=10.0.2.15 ipmask=255.255.255.0" in result.out
    assert run_kernel("run", "ls /net/tcp").out.split() == ["clone", "stats"]


def test_runs_without_host_traffic_are_deterministic():
    first = run_kernel("nettest", "many", "20", trace=True)
    second = run_kernel("nettest", "many", "20", trace=True)
    assert first.kernel.tracer.digest == second.kernel.tracer.digest
    assert not first.kernel.hostio.active


def test_bad_net_config_is_a_one_line_error(tmp_path):
    bad = tmp_path / "k.toml"
    bad.write_text(
        'extends = "%s"\n[[net.forward]]\nhost = "0.0.0.0:80"\nguest = 80\n' % (CONFIGS / "minimal.toml")
    )
    result = kernkit_cli("check", str(bad))
    assert result.returncode == 2
    assert "[net]: forward: item 0: host: 0.0.0.0 is not a loopback address" in result.stderr.decode()
    bad.write_text('extends = "%s"\n[[net.forward]]\nhost = "127.0.0.1:80"\n' % (CONFIGS / "minimal.toml"))
    assert "expected both host" in kernkit_cli("check", str(bad)).stderr.decode()
    with pytest.raises(ConfigError, match="net.address: expected an IPv4 address"):
        run_kernel("hello", net__address="nope")


# --- the host bridge ---------------------------------------------------------------------------

ANNOUNCE = re.compile(r"net: forwarding 127\.0\.0\.1:(\d+) to guest port (\d+)")


@contextlib.contextmanager
def booted(tmp_path, init: list[str], guest_port: int, extra: str = ""):
    config = tmp_path / "net.toml"
    config.write_text(
        f'extends = "{CONFIGS / "minimal.toml"}"\n[machine]\ncores = 2\nmemory = "256M"\n'
        f'[init]\nprogram = "{init[0]}"\nargs = {init[1:]!r}\n'.replace("'", '"')
        + f'[namespace]\nroot = {{ "/bin" = "@programs", "/www" = "{CONFIGS / "www"}" }}\n'
        + f'[net]\n{extra}\n[[net.forward]]\nhost = "127.0.0.1:0"\nguest = {guest_port}\n'
    )
    with kernel_process(str(config)) as proc:  # Ctrl-C ends it
        line = proc.stderr.readline().decode()
        match = ANNOUNCE.search(line)
        assert match, line + (proc.stderr.read().decode() if proc.poll() is not None else "")
        yield int(match.group(1)), proc


def _connect(port: int) -> socket.socket:
    for _ in range(200):
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=30)
        except ConnectionRefusedError:
            threading.Event().wait(0.05)
    raise AssertionError("no forward")


def test_forward_reaches_a_guest_server(tmp_path):
    with booted(tmp_path, ["nettest", "serve", "7000"], 7000) as (port, _):
        with _connect(port) as sock:
            sock.sendall(b"hello guest")
            sock.shutdown(socket.SHUT_WR)
            got = b""
            while chunk := sock.recv(4096):
                got += chunk
        assert got == b"hello guest"


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_forward_refuses_host_clients_exactly_while_no_guest_listens():
    """As a guest client would be (and a Linux one, of a port nobody listens on): refused
    before the guest program listens and after it stops; the port stays reserved meanwhile."""
    from kernkit.core.assemble import assemble, boot
    from kernkit.plugins.net import BRIDGE
    from kernkit.plugins.net.stack import stack_of

    kernel = assemble(None, overrides={"net.forward": [{"host": "127.0.0.1:0", "guest": 7000}]})
    boot(kernel)  # no guest code runs in this test: the calls below are what a guest's make
    try:
        (host, port), stack = BRIDGE.get(kernel).addresses[0], stack_of(kernel)
        assert _refused(port)
        with pytest.raises(OSError), socket.socket() as squatter:
            squatter.bind((host, port))
            squatter.listen()
        other = stack.new_conv("tcp")
        other.bind("0.0.0.0", 7001)
        other.announce(4)  # another port: this forward does not listen for it
        assert _refused(port)
        listener = stack.new_conv("tcp")
        listener.bind("0.0.0.0", 7000)
        listener.announce(4)
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        listener.release()  # its last file closed
        assert _refused(port)
        listener = stack.new_conv("tcp")
        listener.bind("127.0.0.1", 7000)
        listener.announce(4)  # listening again, on the loopback address
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    finally:
        kernel.shutdown()


def test_a_kernel_bug_while_taking_a_host_client_closes_its_connection(monkeypatch):
    """The forward holds accepted host connections as bare descriptors: a kernel error between
    the host's accept and the connection's guest end must not leak one (the client sees EOF)."""
    from kernkit.core.assemble import assemble, boot
    from kernkit.plugins.net import BRIDGE
    from kernkit.plugins.net.stack import stack_of

    kernel = assemble(None, overrides={"net.forward": [{"host": "127.0.0.1:0", "guest": 7000}]})
    boot(kernel)
    try:
        bridge, stack = BRIDGE.get(kernel), stack_of(kernel)
        listener = stack.new_conv("tcp")
        listener.bind("0.0.0.0", 7000)
        listener.announce(4)
        (fd,) = bridge.listeners
        client = socket.create_connection(bridge.addresses[0], timeout=5)

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("a kernel bug")

        monkeypatch.setattr(stack, "new_conv", broken)
        with pytest.raises(RuntimeError, match="a kernel bug"):
            bridge._accept(fd)
        assert client.recv(1) == b""
        client.close()
    finally:
        kernel.shutdown()


@pytest.mark.slow
def test_forward_under_load_loses_and_corrupts_nothing(tmp_path):
    payload = bytes(range(256)) * (16 << 10)  # 4 MiB
    results: list[bytes] = []
    with booted(tmp_path, ["nettest", "serve", "7000"], 7000) as (port, _), _connect(port) as sock:

        def reader():
            got = bytearray()
            while chunk := sock.recv(1 << 16):
                got += chunk
            results.append(bytes(got))

        thread = threading.Thread(target=reader)
        thread.start()
        sock.sendall(payload)
        sock.shutdown(socket.SHUT_WR)
        thread.join(120)
    assert len(results[0]) == len(payload)
    assert hashlib.sha256(results[0]).digest() == hashlib.sha256(payload).digest()


def test_host_access_is_off_by_default_and_loopback_when_on(tmp_path):
    with host_answerer() as port:
        off = run_kernel("nettest", "dial", "10.0.2.2", str(port), "hi")
        assert f"dial 10.0.2.2:{port}: Network unreachable" in off.out
        on = run_kernel("nettest", "dial", "10.0.2.2", str(port), "hi", net__host_access=True)
        assert on.status == 0, on.err
        assert "got 12: host says hi" in on.out
    refused = run_kernel("nettest", "dial", "10.0.2.2", str(port), "hi", net__host_access=True)
    assert "Connection refused" in refused.out  # the host's listener is gone


# --- httpd with real clients ------------------------------------------------------------------


def test_httpd_with_curl(tmp_path):
    curl = shutil.which("curl")
    if curl is None:
        pytest.skip("curl is not installed (apt-get install curl)")
    with booted(tmp_path, ["httpd", "80", "/www"], 80) as (port, _):
        _connect(port).close()
        url = f"http://127.0.0.1:{port}/"
        page = subprocess.run(
            [curl, "-sS", "--max-time", "30", url, url + "index.html"], capture_output=True, timeout=60
        )
        assert page.returncode == 0, page.stderr
        assert page.stdout.count(b"Hello from kernkit!") == 2  # two requests on one connection
        missing = subprocess.run(
            [curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", url + "nope"],
            capture_output=True,
            timeout=60,
        )
        assert missing.stdout == b"404"


@pytest.mark.slow
def test_httpd_under_wrk(tmp_path):
    with booted(tmp_path, ["httpd", "80", "/www"], 80) as (port, _):
        _connect(port).close()
        assert wrk_load(port, threads=1, connections=8, seconds=2) > 50


def _get(sock: socket.socket, close: bool = False) -> bytes:
    header = b"Connection: close\r\n" if close else b""
    sock.sendall(b"GET / HTTP/1.1\r\nHost: k\r\n" + header + b"\r\n")
    got = b""
    while b"Hello from kernkit!" not in got:
        chunk = sock.recv(4096)
        if not chunk:
            break
        got += chunk
    return got


def test_httpd_with_reused_threads_grows_past_its_spare_workers(tmp_path):
    # 2 spare workers wait in accept(); 5 keep-alive connections held open at once are each
    # served while the others stay open, so the pool made more workers as it ran out
    with booted(tmp_path, ["httpd", "80", "/www", "2"], 80) as (port, _):
        _connect(port).close()
        held = [_connect(port) for _ in range(5)]
        try:
            for _ in range(2):
                for sock in held:
                    assert b"200 OK" in _get(sock)
        finally:
            for sock in held:
                sock.close()
        for _ in range(20):  # and with a connection a request, the workers are reused
            with _connect(port) as sock:
                reply = _get(sock, close=True)
                assert b"200 OK" in reply and b"Connection: close" in reply
                assert sock.recv(1) == b""  # the server closed it
