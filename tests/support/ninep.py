"""Helpers for the 9P tests: in-process clients, real peers (diod, p9fs) and free ports."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernkit.plugins.ninep.client import Client
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
