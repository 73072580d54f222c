"""The console on a terminal: the kernel's own line discipline, and an escape key for the monitor.

When guest stdin is a terminal, the host's line editing would hold a typed key until Enter, so
a key for the kernel could never arrive while a guest computes. The console therefore takes the
terminal out of canonical mode (signals such as Ctrl-C still work) and does what a kernel's tty
line discipline does: echo, erase (the terminal's own erase, kill and word-erase keys), lines
handed to readers on Enter, end of file on Ctrl-D. Keys are read between scheduling rounds too,
so the escape works while guests run:

    Ctrl-A c        open the kernel monitor (``continue`` returns to the run)
    Ctrl-A x        end the run
    Ctrl-A h        list these keys
    Ctrl-A Ctrl-A   a literal Ctrl-A for the guest

The escape letter is ``[console] escape`` (``none`` turns all this off).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import signal
import termios
from collections import deque
from typing import TYPE_CHECKING

from kernkit.core.monitor import enter_monitor

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

KEYS_HELP = (
    "console keys: Ctrl-{L} c  kernel monitor | Ctrl-{L} x  end the run | "
    "Ctrl-{L} Ctrl-{L}  a literal Ctrl-{L} | Ctrl-{L} h  this help"
)


class _LineInput:
    """``readline()`` straight from the terminal's fd (in canonical mode: one line per read),
    so no buffer keeps bytes meant for the guest."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def readline(self) -> str:
        try:
            return os.read(self.fd, 4096).decode(errors="replace")
        except OSError:
            return ""


class CookedInput:
    """The monitor's input while the console holds the terminal: a line in the terminal's own
    canonical mode (with its echo and editing), then back to the console's mode."""

    def __init__(self, terminal: Terminal) -> None:
        self.terminal = terminal

    def readline(self) -> str:
        terminal = self.terminal
        was_active = terminal.active
        terminal.cooked()
        try:
            return _LineInput(terminal.fd).readline()
        finally:
            if was_active and not terminal.kernel.finished:
                terminal.raw()


class Terminal:
    """Line discipline and escape keys over the host terminal at ``fd``."""

    def __init__(self, kernel: Kernel, fd: int, escape: str) -> None:
        self.kernel = kernel
        self.fd = fd
        self.escape_letter = escape.upper()
        self.escape = ord(escape) & 0x1F
        self.saved = termios.tcgetattr(fd)
        chars = self.saved[6]
        self.erase, self.kill, self.eof = (
            ord(chars[i]) for i in (termios.VERASE, termios.VKILL, termios.VEOF)
        )
        self.word_erase = ord(chars[termios.VWERASE])
        self.line = bytearray()
        #: Finished input for readers: lines (ending in newline, or cut by Ctrl-D) and b"" for EOF.
        self.ready: deque[bytes] = deque()
        self.pending_escape = False
        self.active = False
        self._previous_cont = None

    # --- the terminal's mode --------------------------------------------------------------

    def raw(self) -> None:
        """Non-canonical, no echo; signals stay on."""
        mode = termios.tcgetattr(self.fd)
        mode[3] &= ~(termios.ICANON | termios.ECHO)
        mode[6][termios.VMIN], mode[6][termios.VTIME] = 1, 0
        termios.tcsetattr(self.fd, termios.TCSANOW, mode)
        if not self.active:
            self.active = True
            atexit.register(self.restore)
            with contextlib.suppress(ValueError):  # not the main thread: no SIGCONT handler
                self._previous_cont = signal.signal(signal.SIGCONT, self._on_continue)

    def cooked(self) -> None:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(self.fd, termios.TCSANOW, self.saved)

    def restore(self) -> None:
        if self.active:
            self.active = False
            self.cooked()
            if self._previous_cont is not None:
                with contextlib.suppress(ValueError):
                    signal.signal(signal.SIGCONT, self._previous_cont)

    def _on_continue(self, _signum: int, _frame: object) -> None:
        """Back from Ctrl-Z: the shell may have reset the terminal."""
        if self.active:
            with contextlib.suppress(termios.error):
                self.raw()

    # --- input ----------------------------------------------------------------------------

    def poll(self) -> None:
        """Take in whatever was typed, without waiting."""
        while self.active and not self.kernel.finished:
            readable, _, _ = select.select([self.fd], [], [], 0)
            if not readable:
                return
            self._take(os.read(self.fd, 1024))

    def read(self, length: int) -> bytes:
        """Up to ``length`` bytes of the next line, waiting for one (b"": end of file)."""
        while not self.ready and not self.kernel.finished:
            try:
                data = os.read(self.fd, 1024)
            except OSError:  # the terminal went away (a pty's other end closed)
                data = b""
            if not data:
                self.ready.append(b"")
                break
            self._take(data)
        if not self.ready:
            return b""
        line = self.ready.popleft()
        if len(line) > length:
            self.ready.appendleft(line[length:])
            line = line[:length]
        return line

    def _echo(self, data: bytes) -> None:
        with contextlib.suppress(OSError):
            os.write(self.fd, data)

    def _take(self, data: bytes) -> None:
        for byte in data:
            if self.pending_escape:
                self.pending_escape = False
                self._escaped(byte)
            elif byte == self.escape:
                self.pending_escape = True
            else:
                self._edit(byte)
            if not self.active or self.kernel.finished:
                return

    def _escaped(self, byte: int) -> None:
        key = chr(byte | 0x20) if byte >= 0x40 else chr(byte)
        if byte == self.escape:
            self._edit(byte)
        elif key == "c":
            self._monitor()
        elif key == "x":
            self._echo(b"\r\n")
            self.kernel.message(f"console: Ctrl-{self.escape_letter} x: the run ends")
            self.kernel.finished = True
            for thread in self.kernel.current:
                if thread is not None:
                    thread.stop_requested = True
        else:
            self.kernel.message(KEYS_HELP.format(L=self.escape_letter))

    def _monitor(self) -> None:
        self._echo(b"\r\n")
        self.cooked()
        try:
            enter_monitor(self.kernel, _LineInput(self.fd))
        finally:
            if not self.kernel.finished:
                self.raw()

    def _edit(self, byte: int) -> None:
        line = self.line
        if byte in (ord("\n"), ord("\r")):
            self.ready.append(bytes(line) + b"\n")
            line.clear()
            self._echo(b"\n")
        elif byte == self.eof:
            self.ready.append(bytes(line))  # an empty one is end of file
            line.clear()
        elif byte == self.erase or byte == 0x08:
            if line:
                self._echo(b"\b \b" * (2 if line.pop() < 0x20 else 1))
        elif byte == self.kill:
            self._echo(b"\b \b" * sum(2 if b < 0x20 else 1 for b in line))
            line.clear()
        elif byte == self.word_erase:
            while line and line[-1] in b" \t":
                line.pop()
                self._echo(b"\b \b")
            while line and line[-1] not in b" \t":
                self._echo(b"\b \b" * (2 if line.pop() < 0x20 else 1))
        else:
            line.append(byte)
            self._echo(bytes((byte,)) if byte >= 0x20 or byte == 0x09 else b"^" + bytes((byte + 0x40,)))
