"""A helper for simple devices: one directory of files whose contents functions produce.

    class Version(SyntheticDevice):
        def __init__(self, kernel):
            super().__init__(kernel, [SynthFile("version", read=text(lambda chan: "kernkit 1\\n"))])

Third-party devices may use it (``from kernkit.plugins.ns.synthetic import ...``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kernkit.core.devices import (
    DMDIR,
    OEXEC,
    ORDWR,
    OREAD,
    OWRITE,
    QTDIR,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    Qid,
)

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

Reader = Callable[[Chan, int, int], bytes]
Writer = Callable[[Chan, bytes, int], int]


def text(produce: Callable[[Chan], str | bytes]) -> Reader:
    """A reader for a file whose whole contents ``produce(chan)`` makes each time it is read."""

    def read(chan: Chan, count: int, offset: int) -> bytes:
        data = produce(chan)
        if isinstance(data, str):
            data = data.encode()
        return data[offset : offset + count]

    return read


def caller_text(produce: Callable[[Chan, Thread | None], str | bytes]) -> Reader:
    """:func:`text` for a file whose contents depend on who reads it: ``produce(chan, caller)``
    (the calling thread, None for the kernel or a host client). Give it to a SynthFile with
    ``needs_caller=True``."""

    def read(chan: Chan, count: int, offset: int, caller: Thread | None) -> bytes:
        data = produce(chan, caller)
        if isinstance(data, str):
            data = data.encode()
        return data[offset : offset + count]

    return read


class SynthFile:
    """One file: its name, permissions, kind bits (DMDEVICE, ...) and what reading and writing do.
    With ``needs_caller``, ``read`` gets the calling thread as a fourth argument."""

    __slots__ = ("name", "read", "write", "perm", "kind", "needs_caller")

    def __init__(
        self,
        name: str,
        read: Reader | None = None,
        write: Writer | None = None,
        perm: int | None = None,
        kind: int = 0,
        needs_caller: bool = False,
    ) -> None:
        self.name = name
        self.read = read
        self.write = write
        self.perm = perm
        self.kind = kind
        self.needs_caller = needs_caller

    @property
    def mode(self) -> int:
        if self.perm is not None:
            return self.perm | self.kind
        return (0o444 if self.read else 0) | (0o222 if self.write else 0) | self.kind


def check_mode(mode: int, perm: int) -> None:
    """EACCES when ``perm`` (rwx bits) does not allow opening for ``mode``."""
    want = mode & 3
    if (want in (OREAD, ORDWR, OEXEC) and not perm & 0o444) or (want in (OWRITE, ORDWR) and not perm & 0o222):
        raise DeviceError("EACCES")


class SyntheticDevice(DeviceDriver):
    """A device with one directory of :class:`SynthFile` files (qid paths 1, 2, ...)."""

    def __init__(self, kernel: Kernel, files: Sequence[SynthFile]) -> None:
        super().__init__(kernel)
        self.files = list(files)
        self.by_name = {f.name: index + 1 for index, f in enumerate(self.files)}
        self.root_qid = Qid(0, 0, QTDIR)

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#{self.name} takes no spec (got {spec!r})")
        return Chan(self, self.root_qid)

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        index = self.by_name.get(name)
        return None if index is None else Chan(self, Qid(index), 0, self.files[index - 1])

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        if chan.qid.type & QTDIR:
            return Dir(self.name, self.root_qid, DMDIR | 0o555)
        return self._dir(chan.qid.path)

    def _dir(self, index: int) -> Dir:
        synth = self.files[index - 1]
        return Dir(synth.name, Qid(index), synth.mode)

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        return [self._dir(index + 1) for index in range(len(self.files))]

    def dirgen(self, chan: Chan) -> int:
        return 0  # the files are fixed

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        if not chan.qid.type & QTDIR:
            check_mode(mode, chan.aux.mode)
        return super().open(chan, mode & ~0x10, caller=caller)  # OTRUNC means nothing here

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        synth = chan.aux
        if synth is None or synth.read is None:
            raise DeviceError("EACCES")
        if synth.needs_caller:
            return synth.read(chan, count, offset, caller)
        return synth.read(chan, count, offset)

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        synth = chan.aux
        if synth is None or synth.write is None:
            raise DeviceError("EACCES")
        return synth.write(chan, data, offset)
