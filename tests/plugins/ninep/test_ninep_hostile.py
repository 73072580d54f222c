"""The 9P export under attack and under resource pressure: malformed frames, clients that never
read, thousands of connections, no host descriptors left, every request with every bad fid and
tag. The kernel never goes down, one client never takes the others with it, and what one
connection holds stays under the documented cap."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import ROOT
from support.ninep import free_port

from kernkit.plugins.ninep import proto
from kernkit.plugins.ninep.client import Client
from kernkit.plugins.ninep.memfs import MemFS
from kernkit.plugins.ninep.proto import NOFID, NOTAG, Message
from kernkit.plugins.ninep.server import Session

EXPORT = ROOT / "configs" / "export.toml"
MSIZE = 512 << 10


@contextlib.contextmanager
def export(*settings: str, nofile: int | None = None):
    """``kernkit boot configs/export.toml`` as a user runs it, on a free port; yields (port, proc);
    SIGTERM at the end must end it cleanly (the listener closed, status 143)."""
    port = free_port()

    def limit() -> None:
        if nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    proc = subprocess.Popen(
        [sys.executable, "-m", "kernkit.tools.cli", "boot", str(EXPORT), "--set", f"export9p.listen=127.0.0.1:{port}",
         *[part for s in settings for part in ("--set", s)]],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, preexec_fn=limit,
    )
    try:
        line = proc.stderr.readline().decode()
        assert "9P export on" in line, line + (proc.stderr.read().decode() if proc.poll() is not None else "")
        yield port, proc
        assert proc.poll() is None, "the kernel went down: " + proc.stderr.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    text = err.decode()
    assert proc.returncode == 143, text
    assert "Traceback" not in text and "kernel panic" not in text and "internal error" not in text, text
    assert text.endswith("kernkit: terminated\n"), text
    export.log = text  # what the kernel said, for the test to look at
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass  # the listener is closed


def rss_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1)) << 10


def connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def client_on(sock: socket.socket) -> Client:
    def recv(n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = sock.recv(n - len(data))
            if not chunk:
                break
            data += chunk
        return bytes(data)

    return Client(sock.sendall, recv, version="9P2000.L", msize=MSIZE)


def still_serves(port: int) -> None:
    with connect(port) as sock:
        client = client_on(sock)
        root, _ = client.attach("/")
        fid, _ = client.walk(root, ["proc", "1", "status"])
        client.open(fid, 0)
        assert b"name idle" in client.read(fid, 0, 4096)


def frame(message: Message, dialect: str = "9P2000.L") -> bytes:
    return proto.encode(message, dialect)


def attach_and_open_big_file(sock: socket.socket) -> int:
    """A session with a 512K file in /tmp open as fid 3; returns the fid."""
    client = client_on(sock)
    root, _ = client.attach("/")
    fid, _ = client.walk(root, ["tmp"])
    client.rpc(Message("Tlcreate", fid=fid, name="big", flags=os.O_RDWR, mode=0o644, gid=0), "Rlcreate")
    for offset in range(0, MSIZE, 64 << 10):
        client.write(fid, offset, b"x" * (64 << 10))
    return fid


# --- clients that never read ---------------------------------------------------------------


def test_a_client_that_pipelines_big_reads_and_never_reads_stays_bounded():
    """2,000 Treads of 512K each, never read: the replies waiting are capped (export9p.max_buffer,
    4M, plus one reply), not 1 GiB, and the kernel goes on serving others."""
    with export() as (port, proc):
        still_serves(port)
        before = rss_of(proc.pid)
        sock = connect(port)
        fid = attach_and_open_big_file(sock)
        read = frame(Message("Tread", 5, fid=fid, offset=0, count=MSIZE))
        sock.sendall(read * 2000)
        time.sleep(2)
        still_serves(port)
        grown = rss_of(proc.pid) - before
        assert grown < 64 << 20, f"RSS grew by {grown >> 20} MiB"
        sock.close()
        still_serves(port)


def test_a_slow_reader_of_pipelined_reads_gets_every_reply_whole_and_in_order():
    """Replies go out as pieces (a read's data is not copied into its frame) and the pieces a
    full socket does not take wait: a client that pipelines 200 reads of a 512K file with varied
    bytes and reads the replies late, in small bites, gets each one whole, in order."""
    with export() as (port, _), connect(port) as sock:
        client = client_on(sock)
        root, _ = client.attach("/")
        fid, _ = client.walk(root, ["tmp"])
        client.rpc(
            Message("Tlcreate", fid=fid, name="varied", flags=os.O_RDWR, mode=0o644, gid=0), "Rlcreate"
        )
        content = bytes(range(251)) * (MSIZE // 251 + 1)
        chunk = client.iounit
        for offset in range(0, MSIZE, chunk):
            client.write(fid, offset, content[offset : min(offset + chunk, MSIZE)])
        counts = [chunk, 1, 0, 4097, chunk - 3] * 40
        offsets = [(i * 7919) % MSIZE for i in range(len(counts))]
        sock.sendall(
            b"".join(
                frame(Message("Tread", i, fid=fid, offset=o, count=c))
                for i, (o, c) in enumerate(zip(offsets, counts, strict=True))
            )
        )
        time.sleep(1)  # the socket fills; the rest of the replies wait in the export
        received = bytearray()
        for index, (offset, count) in enumerate(zip(offsets, counts, strict=True)):
            while len(received) < 4 or len(received) < struct.unpack_from("<I", received)[0]:
                received += sock.recv(1000)
            size = struct.unpack_from("<I", received)[0]
            reply = proto.decode(bytes(received[:size]), MSIZE, "9P2000.L")
            del received[:size]
            assert reply.type == "Rread" and reply.tag == index
            end = min(offset + count, MSIZE)
            assert reply.data == content[offset:end], index


def test_replies_of_reads_show_the_file_as_each_read_found_it_whatever_came_after():
    """A read of a #tmpfs file is answered from the file's frames without a copy when it is
    sent at once; a reply that waits (a later request in the same batch, a full socket) holds
    a copy. Pipelined reads around a write and a truncation, read back late while another
    client rewrites the file and fills new files (reusing the freed frames), each show the file
    as it was when that read was handled."""
    with export() as (port, _), connect(port) as sock, connect(port) as other_sock:
        client = client_on(sock)
        root, _ = client.attach("/")
        fid, _ = client.walk(root, ["tmp"])
        client.rpc(Message("Tlcreate", fid=fid, name="moving", flags=os.O_RDWR, mode=0o644, gid=0), "Rlcreate")
        old = bytes(range(251)) * (MSIZE // 251 + 1)
        old = old[:MSIZE]
        chunk = client.iounit
        for offset in range(0, MSIZE, chunk):
            client.write(fid, offset, old[offset : offset + chunk])
        new = b"N" * (64 << 10)
        reads = [((i * 7919) % MSIZE, [chunk, 4096, 100, 65536][i % 4]) for i in range(60)]
        batch, expected, content = [], [], old
        for tag, (offset, count) in enumerate(reads, 1):
            batch.append(frame(Message("Tread", tag, fid=fid, offset=offset, count=count)))
            expected.append(content[offset : offset + count])
            if tag == 20:
                batch.append(frame(Message("Twrite", 1000, fid=fid, offset=0, data=new)))
                content = new + content[len(new) :]
            if tag == 40:
                batch.append(frame(Message(
                    "Tsetattr", 1001, fid=fid, valid=0x8, mode=0, uid=0, gid=0, size=4096,
                    atime_sec=0, atime_nsec=0, mtime_sec=0, mtime_nsec=0,
                )))
                content = content[:4096]
        sock.sendall(b"".join(batch))
        time.sleep(1)  # the socket fills; the rest of the replies wait in the export
        other = client_on(other_sock)
        top, _ = other.attach("/")
        moving, _ = other.walk(top, ["tmp", "moving"])
        other.open(moving, os.O_RDWR)
        other.write(moving, 0, b"L" * 4096)
        for index in range(8):  # new files take the frames the truncation gave back
            spot, _ = other.walk(top, ["tmp"])
            other.rpc(Message("Tlcreate", fid=spot, name=f"filler{index}", flags=os.O_RDWR, mode=0o644, gid=0),
                      "Rlcreate")
            other.write(spot, 0, b"F" * (64 << 10))
        received, answers = bytearray(), {}
        while len(answers) < len(reads) + 2:
            while len(received) < 4 or len(received) < struct.unpack_from("<I", received)[0]:
                received += sock.recv(1 << 16)
            size = struct.unpack_from("<I", received)[0]
            reply = proto.decode(bytes(received[:size]), MSIZE, "9P2000.L")
            del received[:size]
            answers[reply.tag] = reply
        assert answers[1000].type == "Rwrite" and answers[1001].type == "Rsetattr"
        for tag, data in enumerate(expected, 1):
            assert answers[tag].type == "Rread" and answers[tag].data == data, tag


def test_a_client_that_keeps_sending_and_never_reads_is_disconnected():
    with export() as (port, proc):
        sock = connect(port)
        fid = attach_and_open_big_file(sock)
        read = frame(Message("Tread", 5, fid=fid, offset=0, count=MSIZE))
        sock.settimeout(30)
        with pytest.raises(OSError):  # reset or broken pipe once the kernel closes it
            for _ in range(10_000):  # 230 MB of requests if nobody stopped it
                sock.sendall(read * 1000)
        sock.close()
        still_serves(port)
    assert "9P export: closing connection: over its buffer limit (4M)" in export.log


# --- many clients, few descriptors ---------------------------------------------------------


def test_connections_past_the_limit_are_closed_and_the_rest_served():
    with export("export9p.max_connections=8") as (port, proc):
        held = [connect(port) for _ in range(8)]
        for sock in held:
            client_on(sock).attach("/")
        extra = [connect(port) for _ in range(40)]
        for sock in extra:  # each is accepted and closed at once
            sock.settimeout(30)
            assert sock.recv(1) == b""
            sock.close()
        for sock in held:  # the served ones still work
            client_on(sock).attach("/")
            sock.close()
        time.sleep(0.5)
        still_serves(port)
    assert export.log.count("refusing connections: 8 clients already (the export's limit)") == 1


def test_thousands_of_connections_one_after_another_leak_nothing():
    with export() as (port, proc):
        for _ in range(2000):
            with connect(port) as sock:
                sock.sendall(frame(Message("Tversion", NOTAG, msize=8192, version="9P2000.L")))
                assert sock.recv(64)
        deadline = time.monotonic() + 60  # the kernel closes them as it gets to them
        while (descriptors := len(os.listdir(f"/proc/{proc.pid}/fd"))) >= 40:
            assert time.monotonic() < deadline, f"{descriptors} descriptors still open"
            time.sleep(0.05)
        still_serves(port)


def test_no_host_descriptors_left_does_not_take_the_kernel_down():
    """Under RLIMIT_NOFILE = 48 most of 100 clients cannot get a descriptor: they are closed, the
    kernel goes on, and once they leave new clients are served."""
    with export(nofile=48) as (port, proc):
        crowd = []
        for _ in range(100):
            with contextlib.suppress(OSError):
                crowd.append(connect(port))
        time.sleep(1)
        assert proc.poll() is None
        for sock in crowd:
            sock.close()
        time.sleep(1)
        still_serves(port)
    assert "refusing connections: no file descriptors left on the host" in export.log


# --- malformed frames on a live connection --------------------------------------------------


@pytest.mark.parametrize(
    "garbage",
    [
        b"\x00\x00\x00\x00",  # a size below the header
        struct.pack("<I", 0xFFFFFFFF) + b"x" * 100,  # a size far past msize
        struct.pack("<IBH", 7, 255, 1),  # an unknown type
        struct.pack("<IBH", 11, 100, 0) + b"\xff\xff\xff\xff",  # a Tversion cut short
        os.urandom(4096),
    ],
    ids=["tiny", "huge", "unknown-type", "short-body", "noise"],
)
def test_malformed_frames_end_only_their_connection(garbage):
    with export() as (port, proc):
        bystander = connect(port)
        client_on(bystander).attach("/")
        with connect(port) as sock:
            sock.sendall(garbage)
            sock.settimeout(5)
            with contextlib.suppress(TimeoutError, ConnectionResetError):
                while sock.recv(65536):
                    pass
        client_on(bystander).attach("/")
        bystander.close()


# --- every request with every bad fid and tag -----------------------------------------------

FID_FIELDS = ("fid", "newfid", "dfid", "afid", "olddirfid", "newdirfid", "dirfid")
DEFAULTS = {"I": 0, "H": 0, "B": 0, "Q": 0, "s": "x", "W": ["x"], "D": b"d", "S": None, "q": None, "Y": []}


def _request(name: str, dialect: str, fid: int, tag: int) -> Message | None:
    layout = proto.L_LAYOUTS.get(name, proto.LAYOUTS[name]) if dialect == "9P2000.L" else proto.LAYOUTS[name]
    fields = {}
    for field, kind in layout[1]:
        if field in FID_FIELDS:
            fields[field] = fid
        elif kind == "S":
            return None  # Twstat's stat: covered by the server's own fuzz
        else:
            fields[field] = DEFAULTS[kind]
    if "aname" in fields:
        fields["aname"] = ""  # the export's root
    return Message(name, tag, **fields)


REQUESTS = sorted(name for name in proto.LAYOUTS if name[0] == "T" and name != "Tversion")


@pytest.mark.parametrize("dialect", ["9P2000", "9P2000.L"])
@pytest.mark.parametrize("fid", [0, 2, 77, NOFID], ids=["unused-0", "unused-2", "unused-77", "NOFID"])
@pytest.mark.parametrize("tag", [1, 0, 0xFFFE])
def test_every_request_with_a_bad_fid_is_an_error_reply(dialect, fid, tag):
    for name in REQUESTS:
        if dialect == "9P2000" and name in proto.L_ONLY:
            continue
        fs = MemFS()
        fs.add("/tmp/f", b"data")
        session = Session(fs, writable=True, max_msize=8192)
        session.receive(frame(Message("Tversion", NOTAG, msize=8192, version=dialect), dialect))
        attach = _request("Tattach", dialect, 1, 9)
        attach.fields["afid"] = NOFID
        assert proto.decode(session.receive(frame(attach, dialect)), 8192, dialect).type == "Rattach"
        message = _request(name, dialect, fid, tag)
        if message is None:
            continue
        if name == "Tattach":
            message.fields["afid"] = NOFID
        if name == "Tauth":
            message.fields["afid"] = fid
        reply = proto.decode(session.receive(frame(message, dialect)), 8192, dialect)
        expected = {"Tflush": "Rflush", "Tattach": "Rattach" if fid not in (1, NOFID) else None}.get(name)
        assert reply.tag == tag, (name, reply)
        if expected:
            assert reply.type == expected, (name, reply)
        else:
            assert reply.type in ("Rerror", "Rlerror"), (name, reply)
        assert not session.closed


@pytest.mark.parametrize("dialect", ["9P2000", "9P2000.L"])
def test_a_request_tagged_notag_closes_the_connection_unanswered(dialect):
    for name in REQUESTS:
        if dialect == "9P2000" and name in proto.L_ONLY:
            continue
        session = Session(MemFS(), writable=True, max_msize=8192)
        session.receive(frame(Message("Tversion", NOTAG, msize=8192, version=dialect), dialect))
        message = _request(name, dialect, 1, NOTAG)
        if message is None:
            continue
        if name in ("Tattach", "Tauth"):
            message.fields["afid"] = NOFID
        assert session.receive(frame(message, dialect)) == b"", name
        assert session.closed, name


def test_the_listener_closes_on_sigint_too():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernkit.tools.cli", "boot", str(EXPORT), "--set", f"export9p.listen=127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
    )
    assert "9P export on" in proc.stderr.readline().decode()
    held = connect(port)
    client_on(held).attach("/")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.decode().endswith("kernkit: interrupted\n"), err
    held.settimeout(10)
    assert held.recv(1) == b""  # the kernel closed its side
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
