"""The 9P export of a running kernel, used by real clients: diodls/diodcat (9P2000.L), p9fs
(9P2000 and 9P2000.L) and our own client; what they write, guests read through syscalls."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
import textwrap

import pytest
from support import ROOT, kernkit_process
from support.ninep import LiveKernel, need, run_p9fs

from kernkit.plugins.ninep.client import Client, RemoteError

pytest.importorskip("kernkit.plugins.ns", reason="the export serves the namespace plugin's tree")

EXPORT = ROOT / "configs" / "export.toml"
ANNOUNCE = re.compile(r"9P export on 127\.0\.0\.1:(\d+) \(/proc, /tmp, (read-write|read-only)\)")


@contextlib.contextmanager
def served(*settings: str):
    """``kernkit boot configs/export.toml`` on a free port, as a user runs it; Ctrl-C at the end."""
    args = ["boot", str(EXPORT), "--set", "export9p.listen=127.0.0.1:0", *[p for s in settings for p in ("--set", s)]]
    with kernkit_process(*args) as proc:
        line = proc.stderr.readline().decode()
        match = ANNOUNCE.search(line)
        assert match, line + proc.stderr.read().decode() if proc.poll() is not None else line
        yield int(match.group(1))
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err.decode()
    assert out == b"idle\n"
    assert "Traceback" not in err.decode() and err.decode().endswith("kernkit: interrupted\n")


def test_the_export_serves_until_interrupted_and_diodls_lists_it():
    diodls, diodcat = need("diodls"), need("diodcat")
    with served() as port:
        server = f"127.0.0.1:{port}"
        top = subprocess.run([diodls, "-s", server, "-a", "/", "-l", "/"], capture_output=True, text=True,
                             timeout=30)
        assert top.returncode == 0, top.stderr
        assert re.search(r"^dr.* proc$", top.stdout, re.M) and re.search(r"^drwx.* tmp$", top.stdout, re.M)
        procs = subprocess.run([diodls, "-s", server, "-a", "/proc"], capture_output=True, text=True, timeout=30)
        assert "1" in procs.stdout.split(), procs.stdout
        status = subprocess.run([diodcat, "-s", server, "-a", "/proc", "1/status"], capture_output=True,
                                text=True, timeout=30)
        assert status.returncode == 0, status.stderr
        assert "name idle" in status.stdout and "state WAITING" in status.stdout


P9FS_SCRIPT = textwrap.dedent(
    """
    import json, os, sys
    from p9fs import P9FileSystem
    port, version = int(sys.argv[1]), sys.argv[2]
    fs = P9FileSystem("127.0.0.1", port, "nobody", version=version)
    payload = bytes(range(256)) * 400 + b"end"
    with fs.open("tmp/from-p9fs", "wb") as f:
        f.write(payload)
    with fs.open("tmp/from-p9fs", "rb") as f:
        back = f.read()
    # /proc files are generated when read and say they are empty: read them to the end
    fid = fs._open_fid("proc/1/status", os.O_RDONLY)
    status = fs._read(1 << 16, 0, fid).decode()
    fs._release_fid(fid)
    result = {
        "top": sorted(fs.ls("/", detail=False)),
        "tmp": sorted(fs.ls("tmp", detail=False)),
        "proc": sorted(fs.ls("proc", detail=False)),
        "size": fs.info("tmp/from-p9fs")["size"],
        "same": back == payload,
        "status": status,
    }
    fs.mkdir("tmp/made-by-p9fs", create_parents=False)
    result["dir"] = fs.isdir("tmp/made-by-p9fs")
    print(json.dumps(result))
    """
)


@pytest.mark.parametrize("version", ["9P2000", "9P2000.L"])
def test_p9fs_lists_reads_and_writes_the_export(version):
    import json

    with served() as port:
        result = json.loads(run_p9fs(P9FS_SCRIPT, str(port), version).stdout)
    assert [name.strip("/") for name in result["top"]] == ["proc", "tmp"]
    assert "tmp/from-p9fs" in result["tmp"]
    assert result["size"] == 256 * 400 + 3 and result["same"]
    assert "name idle" in result["status"]
    assert result["dir"]


def test_what_a_host_client_writes_a_guest_reads(tmp_path):
    live = LiveKernel(EXPORT, export9p__listen="127.0.0.1:0")
    try:
        client = Client.connect("127.0.0.1", live.port, version="9P2000.L")
        root, _ = client.attach("/tmp")
        fid, _ = client.walk(root, [])
        client.create(fid, "note", 0o644, 0o1 | 0o100)
        client.write(fid, 0, b"written over 9P\n")
        client.clunk(fid)
        out = live.spawn("cat", "/tmp/note", expect="written over 9P")
        assert out == "written over 9P\n"
        # and the other way: what a guest writes, the host reads
        live.spawn("cp", "-v", "/tmp/note", "/tmp/copy", expect="copied 16 bytes")
        fid, _ = client.walk(root, ["copy"])
        client.open(fid, 0)
        assert client.read(fid, 0, 100) == b"written over 9P\n"
        client.clunk(fid)
        client.close()
    finally:
        status = live.stop()
    assert status == 0


def test_a_read_only_export_refuses_every_change():
    live = LiveKernel(EXPORT, export9p__listen="127.0.0.1:0", export9p__writable=False)
    try:
        for version in ("9P2000", "9P2000.L"):
            client = Client.connect("127.0.0.1", live.port, version=version)
            root, _ = client.attach("/")
            tmp, _ = client.walk(root, ["tmp"])
            with pytest.raises(RemoteError) as info:
                client.create(tmp, "x", 0o644, 1)
            assert info.value.errno == 30  # EROFS
            ctl, _ = client.walk(root, ["proc", "1", "ctl"])
            with pytest.raises(RemoteError):
                client.open(ctl, 1)
            status, _ = client.walk(root, ["proc", "1", "status"])
            client.open(status, 0)
            assert b"name idle" in client.read(status, 0, 4096)
            client.close()
    finally:
        assert live.stop() == 0


def test_a_host_client_can_kill_a_process_through_its_ctl_file():
    live = LiveKernel(EXPORT, export9p__listen="127.0.0.1:0")
    client = Client.connect("127.0.0.1", live.port, version="9P2000.L")
    root, _ = client.attach("/proc")
    ctl, _ = client.walk(root, ["1", "ctl"])
    client.open(ctl, 1)
    client.write(ctl, 0, b"kill")
    live._thread.join(30)
    assert live.status == 128 + 9
    client.close()


def test_paths_outside_the_export_cannot_be_attached_or_reached():
    live = LiveKernel(EXPORT, export9p__listen="127.0.0.1:0")
    try:
        client = Client.connect("127.0.0.1", live.port, version="9P2000.L")
        with pytest.raises(RemoteError):
            client.attach("/bin")
        root, _ = client.attach("/tmp")
        _, qids = client.walk(root, ["..", "..", ".."])
        assert qids[-1] == client.stat(root)["qid"]  # .. stops at the attach point
        with pytest.raises(RemoteError):
            client.walk(root, ["..", "bin"])
        client.close()
    finally:
        live.stop()


def test_a_listen_address_in_use_is_a_one_line_error():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "kernkit.tools.cli", "boot", str(EXPORT), "--set",
             f"export9p.listen=127.0.0.1:{port}"], capture_output=True, text=True, timeout=60, cwd=ROOT,
        )
    assert result.returncode == 2
    assert result.stderr.strip() == (
        f"kernkit: error: <command line>: export9p.listen: cannot listen on 127.0.0.1:{port}: "
        "address already in use"
    )
