"""The 9P client against real servers: Debian's diod (9P2000.L) and py9p's server (9P2000), first
from Python, then mounted with [[mount9p]] so guest programs copy files through it."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import textwrap

import pytest
from support import run_kernel
from support.ninep import diod_server, free_port, p9fs_python, wait_for_port

from kernkit.plugins.ninep.client import Client, RemoteError


@contextlib.contextmanager
def py9p_server(directory):
    """py9p's own 9P2000 file server (it comes with p9fs) serving ``directory``, writable."""
    python = p9fs_python()
    port = free_port()
    proc = subprocess.Popen(
        [python, "-m", "py9p", "-p", str(port), "-a", "127.0.0.1", "-r", str(directory), "-w"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def served_dir(tmp_path):
    directory = tmp_path / "served"
    directory.mkdir()
    (directory / "hello.txt").write_bytes(b"hello from the host\n")
    (directory / "sub").mkdir()
    (directory / "sub" / "deep.txt").write_bytes(b"deep\n")
    return directory


@pytest.fixture(params=["diod", "py9p"])
def server(request, served_dir):
    """(port, version, aname) of a real server exporting ``served_dir``."""
    if request.param == "diod":
        with diod_server(served_dir) as port:
            yield port, "9P2000.L", str(served_dir)
    else:
        with py9p_server(served_dir) as port:
            yield port, "9P2000", ""


def test_the_client_reads_writes_and_lists_a_real_server(server, served_dir):
    port, version, aname = server
    client = Client.connect("127.0.0.1", port, version=version)
    root, _ = client.attach(aname, uid=os.geteuid())
    fid, _ = client.walk(root, [])
    client.open(fid, 0)
    assert sorted(name for name, _ in client.readdir(fid)) == ["hello.txt", "sub"]
    client.clunk(fid)
    fid, _ = client.walk(root, ["sub", "deep.txt"])
    client.open(fid, 0)
    assert client.read(fid, 0, 100) == b"deep\n"
    client.clunk(fid)
    fid, _ = client.walk(root, [])
    client.create(fid, "made.bin", 0o644, 0o1)
    payload = os.urandom(200_000)
    assert client.write(fid, 0, payload) == len(payload)
    client.clunk(fid)
    assert (served_dir / "made.bin").read_bytes() == payload
    with pytest.raises(RemoteError) as info:
        client.walk(root, ["missing"])
    assert info.value.errno == 2
    client.unlink(root, "made.bin", False)
    assert not (served_dir / "made.bin").exists()
    client.close()


def mount_config(tmp_path, port, version, aname, program, *args):
    text = textwrap.dedent(
        f"""
        [[mount9p]]
        addr = "127.0.0.1:{port}"
        at = "/n/host"
        version = "{version}"
        aname = "{aname}"

        [init]
        program = "{program}"
        args = {list(args)!r}
        """
    ).replace("'", '"')
    path = tmp_path / "mount.toml"
    path.write_text(text)
    return path


def test_a_guest_copies_a_file_through_the_mount_byte_for_byte(server, served_dir, tmp_path):
    pytest.importorskip("kernkit.plugins.ns", reason="mounts go into the namespace plugin's tree")
    port, version, aname = server
    payload = os.urandom(3 * 65536 + 12345)  # several reads, the last one short
    (served_dir / "source.bin").write_bytes(payload)
    config = mount_config(tmp_path, port, version, aname, "cp", "-v", "/n/host/source.bin", "/n/host/copy.bin")
    run = run_kernel(config=config)
    assert run.status == 0, run.err
    assert run.out == f"copied {len(payload)} bytes\n"
    copied = (served_dir / "copy.bin").read_bytes()
    assert hashlib.sha256(copied).hexdigest() == hashlib.sha256(payload).hexdigest()


def test_guests_list_and_read_the_mount(server, tmp_path):
    pytest.importorskip("kernkit.plugins.ns", reason="mounts go into the namespace plugin's tree")
    port, version, aname = server
    config = mount_config(tmp_path, port, version, aname, "ls", "/n/host")
    run = run_kernel(config=config)
    assert run.status == 0, run.err
    assert run.out.split() == ["hello.txt", "sub"]
    run = run_kernel(config=mount_config(tmp_path, port, version, aname, "cat", "/n/host/sub/deep.txt"))
    assert run.out == "deep\n"


def test_errors_from_the_server_reach_the_guest(server, tmp_path):
    pytest.importorskip("kernkit.plugins.ns", reason="mounts go into the namespace plugin's tree")
    port, version, aname = server
    run = run_kernel(config=mount_config(tmp_path, port, version, aname, "cp", "/n/host/nope", "/n/host/x"))
    assert run.status == 1
    assert run.err.strip().endswith("cp: opening /n/host/nope: No such file or directory")


def test_a_server_that_is_not_there_is_a_one_line_error(tmp_path):
    pytest.importorskip("kernkit.plugins.ns", reason="mounts go into the namespace plugin's tree")
    from support import kernkit_cli, one_line_error

    port = free_port()
    config = mount_config(tmp_path, port, "9P2000.L", "", "hello")
    message = one_line_error(kernkit_cli("boot", str(config)))
    assert message == f"{config}: mount9p[0] 127.0.0.1:{port}: cannot connect to 127.0.0.1:{port}: Connection refused"


def test_a_server_that_stops_answering_fails_calls_with_eio(tmp_path):
    """A silent server: the mount gives up after its timeout and the guest sees EIO."""
    pytest.importorskip("kernkit.plugins.ns", reason="mounts go into the namespace plugin's tree")
    import socket
    import threading

    from kernkit.plugins.ninep import proto
    from kernkit.plugins.ninep.memfs import MemFS
    from kernkit.plugins.ninep.server import Session

    fs = MemFS()
    fs.add("/file", b"data")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]

    def serve():  # answers version, attach and walks, then nothing at all
        conn, _ = listener.accept()
        session = Session(fs)
        while True:
            data = conn.recv(65536)
            if not data:
                return
            size = int.from_bytes(data[:4], "little")
            if proto.BY_NUMBER.get(data[4]) in ("Tlopen", "Topen"):
                continue
            assert size == len(data)
            conn.sendall(session.receive(data))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    config = mount_config(tmp_path, port, "9P2000.L", "", "cp", "/n/host/file", "/tmp/x")
    text = config.read_text().replace('aname = ""', 'aname = ""\ntimeout = 0.5')
    config.write_text(text)
    run = run_kernel(config=config)
    listener.close()
    assert run.status == 1
    assert "cp: opening /n/host/file: I/O error" in run.err
    assert "the mount is dead" in run.err


def test_a_guest_using_a_mount_runs_the_same_however_fast_the_server_answers(served_dir, tmp_path):
    """Requests block the kernel, not virtual time: two runs give the same trace."""
    pytest.importorskip("kernkit.plugins.ns", reason="mounts go into the namespace plugin's tree")
    (served_dir / "source.bin").write_bytes(bytes(range(256)) * 1000)
    digests = []
    with diod_server(served_dir) as port:
        for _ in range(2):
            config = mount_config(tmp_path, port, "9P2000.L", str(served_dir), "cp", "/n/host/source.bin",
                                  "/n/host/copy.bin")
            run = run_kernel(config=config, trace=True)
            assert run.status == 0, run.err
            digests.append(run.kernel.tracer.digest)
    assert digests[0] and digests[0] == digests[1]


def test_guests_overwrite_make_move_and_remove_on_the_mount(server, served_dir, tmp_path):
    pytest.importorskip("kernkit.plugins.ns", reason="mounts go into the namespace plugin's tree")
    port, version, aname = server
    (served_dir / "old.txt").write_bytes(b"a longer text that gets overwritten\n")
    # 9P2000 renames only within a directory (wstat of the name)
    target = "/n/host/d/moved" if version == "9P2000.L" else "/n/host/renamed"
    steps = ["cp /n/host/hello.txt /n/host/old.txt", "mkdir /n/host/d", f"mv /n/host/old.txt {target}",
             f"cat {target}", "rm /n/host/sub/deep.txt", "ls /n/host/sub"]
    run = run_kernel(config=mount_config(tmp_path, port, version, aname, "run", *steps))
    assert run.status == 0, run.err
    assert run.out == "hello from the host\n"
    moved = served_dir / target.removeprefix("/n/host/")
    assert moved.read_bytes() == b"hello from the host\n"
    assert (served_dir / "d").is_dir() and not (served_dir / "old.txt").exists()
    assert list((served_dir / "sub").iterdir()) == []
