"""The console: guest standard input and output on the host's; on a terminal, the kernel's own
line discipline and the Ctrl-A escape keys (see ``terminal``)."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import option
from kernkit.core.records import BootStep, ConfigSection, Device

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

EIO, EBADF, EPIPE = 5, 9, 32
#: Where the kernel keeps the console's Terminal (kernel.data key), when stdin is a terminal.
TERMINAL = "console.terminal"


@attrs.frozen
class ConsoleOptions:
    stdin: str = option(
        "host",
        "where guest standard input comes from: the host's stdin, or nothing (EOF)",
        choices=("host", "null"),
    )
    escape: str = option(
        "a",
        "on a terminal, Ctrl+this letter starts a console key: c monitor, x end the run, "
        "h help (none: the host's own line editing, no keys)",
        validator=lambda _instance, _attribute, value: _check_escape(value),
    )


def _check_escape(value: str) -> None:
    if value != "none" and not (len(value) == 1 and "a" <= value <= "z"):
        raise ValueError(f"expected a letter a-z or 'none', got {value!r}")


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
        terminal = self.kernel.data.get(TERMINAL)
        if terminal is not None:
            return terminal.read(length)
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


def _stdin_terminal(kernel: Kernel) -> int | None:
    """The fd of guest stdin when it is the host's terminal."""
    try:
        fd = kernel.stdin.fileno()
    except (AttributeError, OSError, ValueError):
        return None
    return fd if os.isatty(fd) else None


def attach_terminal(kernel: Kernel) -> None:
    """Boot step: take over a terminal stdin (its mode changes when the run starts)."""
    options = kernel.config["console"]
    fd = _stdin_terminal(kernel)
    if options.stdin != "host" or options.escape == "none" or fd is None:
        return
    from kernkit.plugins.console.terminal import CookedInput, Terminal

    terminal = Terminal(kernel, fd, options.escape)
    kernel.data[TERMINAL] = terminal
    if kernel.monitor_input is not None:  # --monitor reads the same terminal: in its own mode
        kernel.monitor_input = CookedInput(terminal)


@hookimpl
def kernkit_boot_steps() -> list[BootStep]:
    return [BootStep("console", "devices", attach_terminal)]


@hookimpl
def kernkit_poll(kernel: Kernel) -> None:
    terminal = kernel.data.get(TERMINAL)
    if terminal is not None:
        if not terminal.active:
            terminal.raw()
        terminal.poll()


@hookimpl
def kernkit_shutdown(kernel: Kernel) -> None:
    terminal = kernel.data.get(TERMINAL)
    if terminal is not None:
        terminal.restore()
