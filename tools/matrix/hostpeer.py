"""A workload's host command: a client on the host (curl, say) talking to a guest server through
the kernel's first [[net.forward]] while the kernel runs."""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Sequence
from typing import Any

from kernkit.core.errors import KernkitError

PORT = "{port}"


#: Host seconds the command may go on once the kernel has finished (its server is gone).
GRACE_S = 5.0


class HostPeer:
    """Runs ``command`` from ``start`` on; ``output`` waits for it (``GRACE_S`` at most, the
    kernel being done) and says what it printed."""

    def __init__(self, command: Sequence[str]) -> None:
        self.command = list(command)
        self._process: subprocess.Popen[bytes] | None = None
        self._output = b""
        self._reader: threading.Thread | None = None

    def start(self, kernel: Any) -> None:
        port = forwarded_port(kernel)
        argv = [word.replace(PORT, str(port)) for word in self.command]
        try:
            self._process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        except OSError as exc:
            raise KernkitError(f"host_command {argv[0]}: cannot run it: {exc.strerror}") from None
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        self._output = self._process.stdout.read()

    def output(self) -> str:
        if self._process is None or self._reader is None:
            return ""
        try:
            self._process.wait(GRACE_S)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join()
        return self._output.decode(errors="replace")


def forwarded_port(kernel: Any) -> int:
    """The host port of the kernel's first [[net.forward]] (KernkitError without one)."""
    from kernkit.plugins.net.api import stack_of

    stack = stack_of(kernel)
    addresses = getattr(getattr(stack, "host", None), "addresses", None)
    if not addresses:
        raise KernkitError("host_command: the kernel has no [[net.forward]] for the command to reach")
    return addresses[0][1]
