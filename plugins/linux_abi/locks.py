"""Advisory file locks: flock, and fcntl's byte-range record locks (F_SETLK, F_SETLKW, F_GETLK
and the open-file-description F_OFD_* forms), with Linux's owners, conflicts and waiting.

- A POSIX record lock belongs to a process: fork does not pass it on, and the process's closing
  of *any* descriptor of the file drops all its locks on the file, as POSIX says.
- An OFD lock and a flock lock belong to an open file (a channel): dup and fork share them, and
  they go when the file's last descriptor closes.
- Record locks (POSIX and OFD) conflict with each other by byte range; flock locks only with
  flock locks. A waiter sleeps on the kernel's lock queue and tries again whenever a lock goes;
  F_SETLKW says EDEADLK when waiting would close a cycle of processes waiting for each other.

Files are told apart by their device, instance and qid path (``Chan.key``), so two channels on
one file share its locks.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import Chan, DeviceError
from kernkit.core.errnos import EAGAIN, EBADF, EDEADLK, EINVAL, ENOLCK, errno_of
from kernkit.core.state import Slot
from kernkit.core.wait import WaitQueue

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

F_GETLK, F_SETLK, F_SETLKW = 5, 6, 7
F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW = 36, 37, 38
F_RDLCK, F_WRLCK, F_UNLCK = 0, 1, 2
LOCK_SH, LOCK_EX, LOCK_NB, LOCK_UN = 1, 2, 4, 8
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
EOF_ = 1 << 63  # a range "to the end of the file, however long it grows"
_FLOCK = struct.Struct("<hh4xqqi4x")
#: Locks one file may hold at most (a bound on kernel memory; Linux's limit is memory too).
MAX_LOCKS = 1 << 14


class Lock:
    __slots__ = ("owner", "kind", "start", "end")

    def __init__(self, owner: Any, kind: int, start: int, end: int) -> None:
        # a Process (POSIX record locks) or a Chan (OFD and flock locks)
        self.owner = owner
        # F_RDLCK or F_WRLCK
        self.kind = kind
        self.start = start
        # exclusive; EOF_ for "to the end"
        self.end = end

    def conflicts(self, owner: Any, kind: int, start: int, end: int) -> bool:
        return (
            self.owner is not owner
            and (self.kind == F_WRLCK or kind == F_WRLCK)
            and self.start < end
            and start < self.end
        )


class LockTable:
    """The kernel's locks: record locks and flock locks per file, and who waits for whom."""

    def __init__(self, kernel: Kernel) -> None:
        self.records: dict[Any, list[Lock]] = {}
        self.flocks: dict[Any, list[Lock]] = {}
        self.waiters = WaitQueue(kernel)
        #: A process waiting in F_SETLKW -> the owner of the lock it waits for.
        self.waiting_for: dict[Any, Any] = {}

    def conflict(self, table: dict, key: Any, owner: Any, kind: int, start: int, end: int) -> Lock | None:
        return next((lock for lock in table.get(key, ()) if lock.conflicts(owner, kind, start, end)), None)

    def place(self, table: dict, key: Any, owner: Any, kind: int, start: int, end: int) -> None:
        """Set ``owner``'s lock over [start, end) to ``kind`` (F_UNLCK: none), splitting and
        merging its other locks there as POSIX does."""
        kept: list[Lock] = []
        mine: list[Lock] = []
        for lock in table.get(key, ()):
            (mine if lock.owner is owner else kept).append(lock)
        pieces: list[Lock] = []
        for lock in mine:
            if lock.end <= start or end <= lock.start:
                pieces.append(lock)
                continue
            if lock.start < start:
                pieces.append(Lock(owner, lock.kind, lock.start, start))
            if end < lock.end:
                pieces.append(Lock(owner, lock.kind, end, lock.end))
        if kind != F_UNLCK:
            merged = Lock(owner, kind, start, end)
            for lock in [p for p in pieces if p.kind == kind and p.start <= end and start <= p.end]:
                pieces.remove(lock)
                merged.start, merged.end = min(merged.start, lock.start), max(merged.end, lock.end)
            pieces.append(merged)
        if len(kept) + len(pieces) > MAX_LOCKS:
            raise _Refused(ENOLCK)
        locks = sorted(kept + pieces, key=lambda lock: lock.start)
        if locks:
            table[key] = locks
        else:
            table.pop(key, None)
        if len(self.waiters):
            self.waiters.wake(len(self.waiters))

    def drop(self, gone: Callable[[Any, Lock, bool], bool]) -> None:
        """Forget every lock for which ``gone(file key, lock, is a record lock)`` is true, and
        wake the waiters if any went."""
        changed = False
        for table in (self.records, self.flocks):
            record = table is self.records
            for key in list(table):
                locks = [lock for lock in table[key] if not gone(key, lock, record)]
                if len(locks) != len(table[key]):
                    changed = True
                    if locks:
                        table[key] = locks
                    else:
                        del table[key]
        if changed and len(self.waiters):
            self.waiters.wake(len(self.waiters))

    def deadlocks(self, waiter: Any, holder: Any) -> bool:
        """Whether ``waiter`` waiting for ``holder`` would close a cycle."""
        seen = set()
        while holder is not None and id(holder) not in seen:
            if holder is waiter:
                return True
            seen.add(id(holder))
            holder = self.waiting_for.get(holder)
        return False


class _Refused(Exception):  # noqa: N818 - an errno on its way out
    def __init__(self, errno: int) -> None:
        self.errno = errno


LOCKS: Slot[LockTable] = Slot("linux.locks")


def table_of(kernel: Kernel) -> LockTable:
    return LOCKS.of(kernel, lambda: LockTable(kernel))


# --- fcntl record locks -------------------------------------------------------------------------


def _range(chan: Chan, whence: int, start: int, length: int) -> tuple[int, int]:
    if whence == SEEK_SET:
        base = 0
    elif whence == SEEK_CUR:
        base = chan.offset
    elif whence == SEEK_END:
        try:
            base = chan.driver.stat(chan).length
        except DeviceError as exc:
            raise _Refused(errno_of(exc.code)) from None
    else:
        raise _Refused(EINVAL)
    first = base + start
    if length > 0:
        begin, end = first, first + length
    elif length == 0:
        begin, end = first, EOF_
    else:
        begin, end = first + length, first
    if begin < 0 or end > EOF_:
        raise _Refused(EINVAL)
    return begin, end


def fcntl_lock(t: Thread, chan: Chan, cmd: int, address: int) -> int | None:
    """F_GETLK, F_SETLK, F_SETLKW and their F_OFD_ forms on the open channel ``chan``."""
    try:
        return _fcntl_lock(t, chan, cmd, address)
    except _Refused as refused:
        return -refused.errno


def _fcntl_lock(t: Thread, chan: Chan, cmd: int, address: int) -> int | None:
    aspace = t.process.aspace
    kind, whence, start, length, pid = _FLOCK.unpack(aspace.read(address, _FLOCK.size))
    ofd = cmd in (F_OFD_GETLK, F_OFD_SETLK, F_OFD_SETLKW)
    if kind not in (F_RDLCK, F_WRLCK, F_UNLCK) or (ofd and pid != 0):
        return -EINVAL
    begin, end = _range(chan, whence, start, length)
    owner = chan if ofd else t.process
    table = table_of(t.kernel)
    key = chan.key
    if cmd in (F_GETLK, F_OFD_GETLK):
        if kind == F_UNLCK:
            return -EINVAL
        found = table.conflict(table.records, key, owner, kind, begin, end)
        if found is None:
            aspace.write(address, struct.pack("<h", F_UNLCK))
            return 0
        holder = found.owner.pid if not isinstance(found.owner, Chan) else -1
        size = 0 if found.end == EOF_ else found.end - found.start
        aspace.write(address, _FLOCK.pack(found.kind, SEEK_SET, found.start, size, holder))
        return 0
    if (kind == F_RDLCK and chan.mode & 3 == 1) or (kind == F_WRLCK and chan.mode & 3 not in (1, 2)):
        return -EBADF
    if kind != F_UNLCK:
        found = table.conflict(table.records, key, owner, kind, begin, end)
        if found is not None:
            if cmd in (F_SETLK, F_OFD_SETLK):
                return -EAGAIN
            if not ofd and table.deadlocks(owner, found.owner):
                table.waiting_for.pop(owner, None)
                return -EDEADLK
            table.waiting_for[owner] = found.owner
            table.waiters.sleep(t, restart=True)
            return None
    table.waiting_for.pop(owner, None)
    table.place(table.records, key, owner, kind, begin, end)
    return 0


# --- flock --------------------------------------------------------------------------------------


def sys_flock(t: Thread, fd: int, operation: int) -> int | None:
    chan = t.process.files.get(fd & 0xFFFF_FFFF)
    if chan is None:
        return -EBADF
    if type(chan) is not Chan:
        return -EINVAL
    action = operation & ~LOCK_NB
    if action not in (LOCK_SH, LOCK_EX, LOCK_UN):
        return -EINVAL
    table = table_of(t.kernel)
    key = chan.key
    if action == LOCK_UN:
        table.place(table.flocks, key, chan, F_UNLCK, 0, EOF_)
        return 0
    kind = F_WRLCK if action == LOCK_EX else F_RDLCK
    if table.conflict(table.flocks, key, chan, kind, 0, EOF_) is not None:
        # converting a lock is not atomic on Linux: the old one goes before the wait
        table.place(table.flocks, key, chan, F_UNLCK, 0, EOF_)
        if operation & LOCK_NB:
            return -EAGAIN
        table.waiters.sleep(t, restart=True)
        return None
    table.place(table.flocks, key, chan, kind, 0, EOF_)
    return 0


# --- releasing ----------------------------------------------------------------------------------


def closed(process: Process, file: Any) -> None:
    """``process`` closed a descriptor of ``file``: its record locks on the file go (POSIX), and
    the file's own locks (OFD, flock) when that was the file's last descriptor anywhere."""
    if type(file) is not Chan:
        return
    table = process.kernel.data.get(LOCKS)  # LOCKS.get, inline: asked by every close
    if table is None:
        return
    key = file.key
    if key in table.records or key in table.flocks:
        last = file.refs <= 0
        table.drop(
            lambda k, lock, record: (
                (record and k == key and lock.owner is process) or (last and lock.owner is file)
            )
        )


def close_on_exec(t: Thread) -> None:
    """Close the close-on-exec descriptors (a successful execve), releasing their locks."""
    files = t.process.files
    closing = [file for fd, file in files if files.is_cloexec(fd)]
    files.close_on_exec()
    for file in closing:
        closed(t.process, file)


def process_exited(kernel: Kernel, process: Process) -> None:
    """A process ended: its record locks, and the locks of files it held last, go."""
    table = LOCKS.get(kernel)
    if table is None:
        return
    table.waiting_for.pop(process, None)
    table.drop(
        lambda key, lock, record: (
            lock.owner is process or (isinstance(lock.owner, Chan) and lock.owner.refs <= 0)
        )
    )
