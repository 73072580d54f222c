"""Helpers for the 9P tests: in-process clients, real peers (diod, p9fs) and free ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from kernkit.plugins.ninep import proto
from kernkit.plugins.ninep.client import Client, RemoteError
from kernkit.plugins.ninep.proto import Message
from kernkit.plugins.ninep.server import Session

#: Where .ci/run puts the venv holding p9fs (it clashes with other 9P packages, so it lives alone).
P9FS_PYTHON_ENV = "KERNKIT_P9FS_PYTHON"


def local_client(root, version: str = "9P2000.L", writable: bool = True, msize: int = 65536):  # noqa: ANN001
    """A client talking to a fresh server session in this process (no sockets)."""
    session = Session(root, writable=writable)
    pending = bytearray()

    def send(data: bytes) -> None:
        pending.extend(session.receive(data))

    def recv(n: int) -> bytes:
        chunk = bytes(pending[:n])
        del pending[:n]
        return chunk

    return Client(send, recv, version=version, msize=msize), session


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port}")


def p9fs_python() -> str:
    """The python of the venv that has p9fs, or skip saying how to get one."""
    candidates = [os.environ.get(P9FS_PYTHON_ENV, "")]
    candidates.append(str(Path(sys.prefix).parent / "p9fs-venv" / "bin" / "python"))
    for candidate in candidates:
        if candidate and Path(candidate).exists():
            return candidate
    pytest.skip(
        f"p9fs is not installed: set {P9FS_PYTHON_ENV} to the python of a venv with "
        "'pip install p9fs' (.ci/run makes one)"
    )


def need(tool: str) -> str:
    path = shutil.which(tool) or (f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").exists() else None)
    if path is None:
        pytest.skip(f"{tool} is not installed (apt-get install diod)")
    return path


def run_p9fs(script: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run a Python ``script`` with p9fs's interpreter; its stdout is the result."""
    python = p9fs_python()
    result = subprocess.run(
        [python, "-c", script, *args], capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


@contextlib.contextmanager
def diod_server(directory: Path):
    """A real diod exporting ``directory`` on a free loopback port; yields the port."""
    diod = need("diod")
    port = free_port()
    proc = subprocess.Popen(
        [diod, "-f", "-n", "-l", f"127.0.0.1:{port}", "-e", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class LiveKernel:
    """A kernel running in a background thread, as ``kernkit boot`` would run it, that the test
    drives from outside: over 9P, and with commands on a socket the kernel serves between rounds
    (``spawn PROGRAM ARGS...`` starts a process, ``stop`` ends init)."""

    def __init__(self, config: Path, **overrides) -> None:  # noqa: ANN003
        import io
        import socket as socketmod
        import threading

        from kernkit.core.assemble import assemble, boot

        settings = {key.replace("__", "."): value for key, value in overrides.items()}
        self.stdout, self.stderr = io.BytesIO(), io.BytesIO()
        self.kernel = assemble(config, overrides=settings, stdin=io.BytesIO(), stdout=self.stdout,
                               stderr=self.stderr)
        boot(self.kernel)
        self._host, self._ours = socketmod.socketpair()
        self.kernel.hostio.add_reader(self._ours.fileno(), self._command)
        self.status: int | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.status = self.kernel.run()

    def _command(self) -> None:
        from kernkit.core.programs import resolve_program

        for line in self._ours.recv(4096).decode().splitlines():
            words = line.split()
            if words[0] == "spawn":
                path = resolve_program(words[1], self.kernel.config.base_dir)
                self.kernel.spawn(path, words[1:], [], parent=self.kernel.init)
            elif words[0] == "stop":
                self.kernel.exit_process(self.kernel.init, 0)

    @property
    def port(self) -> int:
        from kernkit.plugins.ninep.export import EXPORT

        return EXPORT.get(self.kernel).address[1]

    def spawn(self, *argv: str, expect: str, timeout: float = 30) -> str:
        """Run a guest program and wait until the output has ``expect`` in it; the output."""
        before = len(self.stdout.getvalue())
        self._host.sendall(("spawn " + " ".join(argv) + "\n").encode())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            out = self.stdout.getvalue()[before:].decode(errors="replace")
            if expect in out:
                return out
            time.sleep(0.05)
        raise AssertionError(f"{argv} printed {self.stdout.getvalue()[before:]!r}, not {expect!r}; "
                             f"stderr: {self.stderr.getvalue().decode(errors='replace')}")

    def stop(self, timeout: float = 30) -> int:
        self._host.sendall(b"stop\n")
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the kernel did not stop"
        self._host.close()
        self._ours.close()
        return self.status


def tree_of(client: Client, directory: int) -> dict[str, tuple[int, bytes | None]]:
    """What a client sees under the directory ``directory``: path -> (mode, contents; None for a
    directory), every level, read through the server."""
    seen: dict[str, tuple[int, bytes | None]] = {}

    def visit(fid: int, prefix: str) -> None:
        listing, _ = client.walk(fid, ())
        client.open(listing, 0)
        names = sorted(name for name, _ in client.readdir(listing))
        client.clunk(listing)
        for name in names:
            child, _ = client.walk(fid, (name,))
            mode = client.stat(child)["mode"]
            if mode & 0o170000 == 0o040000:
                seen[prefix + name] = (mode, None)
                visit(child, prefix + name + "/")
            else:
                client.open(child, 0)
                data, offset = b"", 0
                while chunk := client.read(child, offset, client.iounit):
                    data += chunk
                    offset += len(chunk)
                seen[prefix + name] = (mode, data)
            client.clunk(child)

    visit(directory, "")
    return seen


def changes_accepted(client: Client, directory: int, file: str, subdir: str) -> list[str]:
    """Try every request that changes a tree, on the directory ``directory`` holding the file
    ``file`` and the directory ``subdir``; the requests that did not fail (a read-only export
    must refuse them all)."""

    def fid_of(*names: str) -> int:
        return client.walk(directory, names)[0]

    def setattr_(valid: int, mode: int = 0, size: int = 0) -> Message:
        return Message("Tsetattr", fid=fid_of(file), valid=valid, mode=mode, uid=0, gid=0, size=size,
                       atime_sec=0, atime_nsec=0, mtime_sec=0, mtime_nsec=0)

    def wstat(**changes: object) -> Message:
        fields = {**proto.DONT_TOUCH, "qid": proto.Qid(0xFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF),
                  "name": "", "uid": "", "gid": "", "muid": "", **changes}
        return Message("Twstat", fid=fid_of(file), stat=proto.Stat(**fields))

    def open_then_clunk(mode: int) -> None:
        fid = fid_of(file)
        client.rpc(Message("Topen", fid=fid, mode=mode), "Ropen")
        client.clunk(fid)

    attempts: dict[str, Callable[[], object]] = {
        "create a file": lambda: client.create(fid_of(), "new", 0o644, 0o101),
        "make a directory": lambda: client.mkdir(directory, "newdir", 0o755),
        "open for writing": lambda: client.open(fid_of(file), 1),
        "open for reading and writing": lambda: client.open(fid_of(file), 2),
        "open with O_TRUNC": lambda: client.open(fid_of(file), 0o1000),
        "remove the file": lambda: client.remove(fid_of(file)),
        "remove the directory": lambda: client.remove(fid_of(subdir)),
    }
    if client.linux:
        attempts |= {
            "unlinkat the file": lambda: client.rpc(
                Message("Tunlinkat", dirfid=directory, name=file, flags=0), "Runlinkat"),
            "unlinkat the directory": lambda: client.rpc(
                Message("Tunlinkat", dirfid=directory, name=subdir, flags=0x200), "Runlinkat"),
            "renameat": lambda: client.rpc(Message("Trenameat", olddirfid=directory, oldname=file,
                                                   newdirfid=directory, newname="renamed"), "Rrenameat"),
            "rename": lambda: client.rpc(Message("Trename", fid=fid_of(file), dfid=directory, name="renamed"),
                                         "Rrename"),
            "setattr mode": lambda: client.rpc(setattr_(0x1, mode=0o600), "Rsetattr"),
            "setattr size": lambda: client.rpc(setattr_(0x8, size=0), "Rsetattr"),
            "symlink": lambda: client.rpc(Message("Tsymlink", fid=directory, name="link", symtgt=file, gid=0),
                                          "Rsymlink"),
            "mknod": lambda: client.rpc(Message("Tmknod", dfid=directory, name="node", mode=0o100644, major=0,
                                                minor=0, gid=0), "Rmknod"),
            "link": lambda: client.rpc(Message("Tlink", dfid=directory, fid=fid_of(file), name="hard"),
                                       "Rlink"),
            "xattrcreate": lambda: client.rpc(Message("Txattrcreate", fid=fid_of(file), name="user.x",
                                                      attr_size=1, flags=0), "Rxattrcreate"),
        }
    else:
        attempts |= {
            "create a directory": lambda: client.rpc(
                Message("Tcreate", fid=fid_of(), name="newdir", perm=proto.DMDIR | 0o755, mode=0), "Rcreate"),
            "open with ORCLOSE, then clunk": lambda: open_then_clunk(proto.ORCLOSE),
            "wstat rename": lambda: client.rpc(wstat(name="renamed"), "Rwstat"),
            "wstat length": lambda: client.rpc(wstat(length=0), "Rwstat"),
            "wstat mode": lambda: client.rpc(wstat(mode=0o600), "Rwstat"),
        }
    accepted = []
    for what, attempt in attempts.items():
        try:
            attempt()
        except RemoteError:
            continue
        accepted.append(what)
    return accepted
