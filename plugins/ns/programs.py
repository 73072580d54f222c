"""Program files in a namespace: what execve, ``#!`` lines and ELF interpreters name.

A program is read through its channel when it is loaded, and its pages can be mapped from the
page cache of its device (host files of #root, #tmpfs files, 9P files), so every process
running the same program shares them and the code translated from them.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import OEXEC, OREAD, QTDIR, Chan, DeviceError, WouldBlock
from kernkit.core.errors import ProgramError
from kernkit.core.files import hold
from kernkit.plugins.ns.state import devices, enter

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.pagecache import PageCache
    from kernkit.core.process import Process, Thread

#: A program file is read up to this size.
MAX_PROGRAM = 1 << 28
#: How programs of the host come into the namespace, for messages about missing ones.
HOST_HINT = "bind the host's programs and libraries with [namespace] host (kernkit boot --host-root)"


def _caller(process: Process) -> Thread | None:
    """The thread devices are told acts (a process loading a program has one, the one that
    called execve; the first process, before it has one, is the kernel's doing)."""
    return process.threads[0] if process.threads else None


class NamespaceProgram:
    """A program file in a namespace, read through its channel (for ``caller``) when loaded."""

    def __init__(self, chan: Chan, caller: Thread | None = None) -> None:
        self.chan = chan
        self.caller = caller
        self.name = chan.path.rsplit("/", 1)[-1]

    def read_bytes(self) -> bytes:
        chan, pieces, offset, caller = self.chan, [], 0, self.caller
        try:
            opened = chan.driver.open(chan.clone(), OEXEC, caller=caller)
            try:
                while offset < MAX_PROGRAM:
                    piece = opened.driver.read(opened, 1 << 20, offset, caller=caller)
                    if not piece:
                        break
                    pieces.append(piece)
                    offset += len(piece)
            finally:
                opened.close()
        except (DeviceError, WouldBlock) as exc:
            raise ProgramError(f"{chan.path}: cannot read: {exc}", "EIO") from None
        return b"".join(pieces)

    def __str__(self) -> str:
        return self.chan.path


def lookup_program(process: Process, name: str) -> NamespaceProgram:
    """The program file ``name`` names in ``process``'s namespace (relative names from its
    current directory); DeviceError (ENOENT, EACCES for a directory or a file nobody may
    execute, ...) if there is none."""
    view, caller = enter(process), _caller(process)
    chan = view.namespace.walk(name, view.cwd, caller=caller)
    if chan.qid.type & QTDIR:
        raise DeviceError("EACCES", "a directory")
    if not chan.driver.stat(chan, caller=caller).mode & 0o111:
        raise DeviceError("EACCES", "not executable")
    return NamespaceProgram(chan, caller)


def open_program(process: Process, name: str, what: str) -> NamespaceProgram:
    """:func:`lookup_program` for a loader: ProgramError with Linux's errno, naming ``what`` the
    file is for (``"interpreter"``), if it cannot be had; a missing one's message says how the
    host's programs and libraries come into the namespace."""
    try:
        return lookup_program(process, name)
    except DeviceError as exc:
        missing = exc.code == "ENOENT"
        detail = f"not in the namespace; {HOST_HINT}" if missing else exc.message or exc.code
        raise ProgramError(f"{what} {name}: {detail}", exc.code) from None


def program_pages(kernel: Kernel, process: Process, program: Any) -> tuple[PageCache, Chan] | None:
    """The page cache of a program file (a namespace file, or a host file the kernel was given)
    and an open channel on it for mappings to hold (held once for the caller, who releases
    it); None when its device keeps no pages."""
    if isinstance(program, NamespaceProgram):
        chan = program.chan.clone()
    elif isinstance(program, Path) and "root" in kernel.registries["device"]:
        chan = devices(kernel).driver("root").host_chan(str(program))
        if chan is None:
            return None
    else:
        return None
    enter(process)
    try:
        opened = chan.driver.open(chan, OREAD, caller=_caller(process))
    except (DeviceError, WouldBlock):
        return None
    try:
        cache = opened.driver.mmap(opened)
    except DeviceError:
        opened.close()
        return None
    hold(opened)
    return cache, opened
