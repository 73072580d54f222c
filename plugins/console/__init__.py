"""The console, #cons: guest standard input and output on the host's, and a few small files; on
a terminal, the kernel's own line discipline and the Ctrl-A escape keys (see ``terminal``).

Files: ``cons`` (reads the host's stdin, writes its stdout), ``stdin``, ``stdout``, ``stderr``,
``null``, ``zero`` (mapped, new zeroed memory), ``pid`` and ``ppid`` (of the reader),
``sysname``. New processes get ``stdin``, ``stdout`` and ``stderr`` as descriptors 0, 1 and 2.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import attrs

from kernkit.core.devices import DMDEVICE, Chan, DeviceError
from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import option
from kernkit.core.pagecache import PageCache
from kernkit.core.records import BootStep, ConfigSection, Device, PluginDeclaration
from kernkit.core.state import Slot
from kernkit.plugins.ns.api import SyntheticDevice, SynthFile, caller_text, text

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread
    from kernkit.plugins.console.terminal import Terminal

#: /dev/zero hands out at most this much per read.
ZERO_CHUNK = 1 << 20
#: The length a mapping of /dev/zero has (any mapping fits in it).
ZERO_SIZE = 1 << 62
#: The console's Terminal, when stdin is a terminal.
TERMINAL: Slot[Terminal] = Slot("console.terminal")


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


class ConsoleDevice(SyntheticDevice):
    def __init__(self, kernel: Kernel) -> None:
        stream = DMDEVICE
        super().__init__(
            kernel,
            [
                SynthFile("cons", read=self._read_input, write=self._writer(kernel.stdout), kind=stream),
                SynthFile("stdin", read=self._read_input, perm=0o444, kind=stream),
                SynthFile("stdout", write=self._writer(kernel.stdout), perm=0o222, kind=stream),
                SynthFile("stderr", write=self._writer(kernel.stderr), perm=0o222, kind=stream),
                SynthFile("null", read=lambda chan, count, offset: b"", write=lambda c, data, o: len(data)),
                SynthFile(
                    "zero",
                    read=lambda chan, count, offset: bytes(min(count, ZERO_CHUNK)),
                    write=lambda chan, data, offset: len(data),  # taken and dropped, as on Linux
                ),
                SynthFile(
                    "pid", read=caller_text(lambda chan, caller: f"{_pid(caller)}\n"), needs_caller=True
                ),
                SynthFile(
                    "ppid", read=caller_text(lambda chan, caller: f"{_ppid(caller)}\n"), needs_caller=True
                ),
                SynthFile("sysname", read=text(lambda chan: "kernkit\n")),
            ],
        )

    def terminal(self, chan: Chan) -> int | None:
        """``cons`` and ``stdin`` are a terminal when the host's stdin is one, ``stdout`` and
        ``stderr`` when the host's stdout or stderr is (as the same program would find on the
        host, or under qemu-user)."""
        synth = chan.aux
        name = getattr(synth, "name", "")
        stream = {"cons": self.kernel.stdin, "stdin": self.kernel.stdin,
                  "stdout": self.kernel.stdout, "stderr": self.kernel.stderr}.get(name)  # fmt: skip
        try:
            fd = stream.fileno() if stream is not None else None
        except (AttributeError, OSError, ValueError):
            return None
        return fd if fd is not None and os.isatty(fd) else None

    def mmap(self, chan: Chan) -> PageCache:
        """Mapping ``zero`` gives new zero-filled memory each time (as Linux's /dev/zero)."""
        if chan.aux is None or chan.aux.name != "zero":
            raise DeviceError("ENODEV")
        return PageCache(self.kernel.machine.memory, ZERO_SIZE, transient=True)

    def _read_input(self, chan: Chan, count: int, offset: int) -> bytes:
        if self.kernel.config["console"].stdin == "null":
            return b""
        terminal = TERMINAL.get(self.kernel)
        if terminal is not None:
            return terminal.read(count)
        stream = self.kernel.stdin
        try:
            return os.read(stream.fileno(), count)
        except (AttributeError, OSError, ValueError):
            return stream.read1(count) if hasattr(stream, "read1") else stream.read(count)

    @staticmethod
    def _writer(out):  # noqa: ANN001, ANN205 - a host binary stream
        def write(chan: Chan, data: bytes, offset: int) -> int:
            try:
                out.write(data)
                out.flush()
            except BrokenPipeError:
                raise DeviceError("EPIPE") from None
            except OSError as exc:
                raise DeviceError("EIO", exc.strerror or "") from None
            return len(data)

        return write


@hookimpl
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(requires=("ns",), description="the console: #cons, guest stdio on the host's")


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("console", ConsoleOptions, "guest standard input and output")]


@hookimpl
def kernkit_register_devices() -> list[Device]:
    return [Device("cons", ConsoleDevice, "the host terminal: cons, stdin, stdout, stderr, null, zero, ...")]


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
    TERMINAL.set(kernel, terminal)
    if kernel.monitor_input is not None:  # --monitor reads the same terminal: in its own mode
        kernel.monitor_input = CookedInput(terminal)


@hookimpl
def kernkit_boot_steps() -> list[BootStep]:
    return [BootStep("console", "devices", attach_terminal, outside=True)]


@hookimpl
def kernkit_poll(kernel: Kernel) -> None:
    terminal = TERMINAL.get(kernel)
    if terminal is not None:
        if not terminal.active:
            terminal.raw()
        terminal.poll()


@hookimpl
def kernkit_shutdown(kernel: Kernel) -> None:
    terminal = TERMINAL.get(kernel)
    if terminal is not None:
        terminal.restore()


def _pid(caller: Thread | None) -> int:
    return caller.process.pid if caller is not None else 0


def _ppid(caller: Thread | None) -> int:
    parent = caller.process.parent if caller is not None else None
    return parent.pid if parent is not None else 0
