"""#srv: a directory where processes post open channels for others to open or mount.

Create a file in it, write the number of one of your descriptors to it (``"3"``), and the
channel that descriptor holds is posted under that name: whoever opens the file gets that very
channel (a pipe end, a connection to a file server). Removing the file unposts the channel.
There is one #srv per kernel.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from kernkit.core.devices import DMDIR, QTDIR, Chan, DeviceDriver, DeviceError, Dir, Qid
from kernkit.core.files import hold, release

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread


class Entry:
    __slots__ = ("name", "qid", "perm", "posted", "owner", "mtime")

    def __init__(self, name: str, qid: Qid, perm: int, owner: str, mtime: int) -> None:
        self.name = name
        self.qid = qid
        self.perm = perm
        self.posted: Chan | None = None
        self.owner = owner
        self.mtime = mtime


class SrvDevice(DeviceDriver):
    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.entries: dict[str, Entry] = {}
        self.paths = itertools.count(1)
        self.root_qid = Qid(0, 0, QTDIR)
        self.generation = 0

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#srv takes no spec (got {spec!r})")
        return Chan(self, self.root_qid)

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        entry = self.entries.get(name)
        return None if entry is None else Chan(self, entry.qid, 0, entry)

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        if chan.aux is None:
            return Dir("#srv", self.root_qid, DMDIR | 0o777)
        return _stat(chan.aux)

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        return [_stat(entry) for entry in self.entries.values()]

    def dirgen(self, chan: Chan) -> int:
        return self.generation

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        entry = chan.aux
        if entry is None or entry.posted is None:  # the directory, or an entry still to be posted
            return super().open(chan, mode & ~0x10, caller=caller)
        return entry.posted  # the channel itself: its holders share it, offset included

    def create(self, chan: Chan, name: str, mode: int, perm: int, *, caller: Thread | None = None) -> Chan:
        if name in self.entries:
            raise DeviceError("EEXIST")
        if perm & DMDIR:
            raise DeviceError("EPERM", "#srv holds no directories")
        owner = caller.process.name if caller is not None else "kernel"
        entry = Entry(name, Qid(next(self.paths)), perm & 0o777, owner, self.kernel.now())
        self.entries[name] = entry
        self.generation += 1
        created = Chan(self, entry.qid, 0, entry)
        created.mode = mode & 3
        return created

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        entry = chan.aux
        if entry is None:
            raise DeviceError("EISDIR")
        if entry.posted is not None:
            raise DeviceError("EBUSY", "a channel is already posted here")
        try:
            fd = int(data.decode().strip())
        except (UnicodeDecodeError, ValueError):
            raise DeviceError("EINVAL", "write a descriptor number") from None
        files = caller.process.files if caller is not None else None
        posted = files.get(fd) if files is not None else None
        if not isinstance(posted, Chan):
            raise DeviceError("EBADF", f"descriptor {fd} holds no channel")
        hold(posted)
        entry.posted = posted
        return len(data)

    def remove(self, chan: Chan, *, caller: Thread | None = None) -> None:
        entry = chan.aux
        if entry is None:
            raise DeviceError("EBUSY")
        if self.entries.get(entry.name) is not entry:
            raise DeviceError("ENOENT")
        del self.entries[entry.name]
        self.generation += 1
        if entry.posted is not None:
            posted, entry.posted = entry.posted, None
            release(posted)

    def post(self, name: str, chan: Chan) -> None:
        """Post ``chan`` under ``name`` from the kernel side (a plugin serving files, say)."""
        if name in self.entries:
            raise DeviceError("EEXIST")
        entry = Entry(name, Qid(next(self.paths)), 0o666, "kernel", self.kernel.now())
        hold(chan)
        entry.posted = chan
        self.entries[name] = entry
        self.generation += 1


def _stat(entry: Entry) -> Dir:
    return Dir(entry.name, entry.qid, entry.perm, 0, entry.mtime, entry.mtime, uid=entry.owner)
