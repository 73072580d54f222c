"""The console: guest standard input and output on the host's."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import option
from kernkit.core.records import ConfigSection, Device

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

EIO, EBADF, EPIPE = 5, 9, 32


@attrs.frozen
class ConsoleOptions:
    stdin: str = option(
        "host",
        "where guest standard input comes from: the host's stdin, or nothing (EOF)",
        choices=("host", "null"),
    )


class ConsoleFile:
    """One end of the console: ``stdin`` reads the host's input, the others write the host's."""

    def __init__(self, kernel: Kernel, which: str) -> None:
        self.kernel = kernel
        self.name = f"cons:{which}"
        self.which = which
        self._out = kernel.stderr if which == "stderr" else kernel.stdout

    def read(self, thread: Thread, length: int) -> bytes | int:
        if self.which != "stdin":
            return -EBADF
        if self.kernel.config["console"].stdin == "null":
            return b""
        stream = self.kernel.stdin
        try:
            return os.read(stream.fileno(), length)
        except (AttributeError, OSError, ValueError):
            return stream.read1(length) if hasattr(stream, "read1") else stream.read(length)

    def write(self, thread: Thread, data: bytes) -> int:
        if self.which == "stdin":
            return -EBADF
        try:
            self._out.write(data)
            self._out.flush()
        except BrokenPipeError:
            return -EPIPE
        except OSError as exc:
            return -(exc.errno or EIO)
        return len(data)

    def close(self) -> None:
        pass

    def is_terminal(self) -> bool:
        return True


def open_console(kernel: Kernel, process: Process, spec: str) -> ConsoleFile:
    if spec not in ("stdin", "stdout", "stderr"):
        raise ValueError(f"console has no end {spec!r}; use stdin, stdout or stderr")
    return ConsoleFile(kernel, spec)


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("console", ConsoleOptions, "guest standard input and output")]


@hookimpl
def kernkit_register_devices() -> list[Device]:
    return [Device("cons", open_console, "the host terminal: stdin, stdout, stderr")]
