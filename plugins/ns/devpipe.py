"""#pipe: every attach makes a new pipe, a directory with two ends, ``data`` and ``data1``;
and :class:`Fifo`, the same for named pipes (FIFO files of other devices).

What is written on one end is read from the other, as a byte stream. A read of an empty end
waits while the other end is open (and returns 0, end of file, once it is not); a write waits
while the pipe is full and fails with EPIPE when nobody has the other end open; a write of up to
PIPE_BUF bytes waits for room for all of them, a longer one takes what fits (a short write).
Waiting is the caller's: the device raises WouldBlock with the pipe's wait queue.
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from kernkit.core.devices import (
    CLOSED,
    DMDIR,
    DMNAMEDPIPE,
    ONONBLOCK,
    ORDWR,
    OREAD,
    OWRITE,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    QTDIR,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    Qid,
    WouldBlock,
)
from kernkit.core.wait import WaitQueue, wake_pollers

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

#: Bytes a pipe holds in each direction (Linux's default pipe size).
CAPACITY = 64 * 1024
#: Writes up to this size are atomic: they wait for room for all of their bytes.
PIPE_BUF = 4096
NAMES = ("data", "data1")


#: Bytes waiting in pipes are the kernel's memory (core/kmem.py), charged under this name.
KMEM_OWNER = "pipe"


class Pipe:
    __slots__ = ("number", "buffers", "opens", "waiters", "kernel", "capacity")

    def __init__(self, number: int, kernel: Kernel) -> None:
        self.number = number
        #: buffers[i]: bytes waiting to be read from end i (written on the other end).
        self.buffers = (bytearray(), bytearray())
        self.opens = [0, 0]
        #: Bytes each direction holds (F_SETPIPE_SZ changes it).
        self.capacity = CAPACITY
        self.waiters = WaitQueue(kernel)
        self.kernel = kernel

    def changed(self) -> None:
        if len(self.waiters):
            self.waiters.wake(len(self.waiters))
        wake_pollers(self.kernel)


class PipeDevice(DeviceDriver):
    reads_finish_in_wake = True

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.numbers = itertools.count(1)

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#pipe takes no spec (got {spec!r})")
        pipe = Pipe(next(self.numbers), self.kernel)
        return Chan(self, Qid(pipe.number << 2, 0, QTDIR), 0, (pipe, -1))

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        pipe, _ = chan.aux
        if name not in NAMES:
            return None
        end = NAMES.index(name)
        return Chan(self, Qid(pipe.number << 2 | (end + 1)), 0, (pipe, end))

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        pipe, end = chan.aux
        if end < 0:
            return Dir("#pipe", chan.qid, DMDIR | 0o555)
        return Dir(NAMES[end], chan.qid, DMNAMEDPIPE | 0o666, len(pipe.buffers[end]))

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        pipe, _ = chan.aux
        return [
            self.stat(Chan(self, Qid(pipe.number << 2 | (e + 1)), 0, (pipe, e)), caller=caller)
            for e in (0, 1)
        ]

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        opened = super().open(chan, mode, caller=caller)
        pipe, end = chan.aux
        if end >= 0:
            pipe.opens[end] += 1
        return opened

    def close(self, chan: Chan) -> None:
        pipe, end = chan.aux
        if end >= 0 and chan.mode != CLOSED:
            pipe.opens[end] -= 1
            chan.mode = CLOSED
            if not any(pipe.opens):  # nobody can read what is left: it goes
                for buffer in pipe.buffers:
                    self.kernel.kmem.release(KMEM_OWNER, len(buffer))
                    buffer.clear()
            pipe.changed()

    def poll(self, chan: Chan) -> int:
        pipe, end = chan.aux
        if end < 0:
            return POLLIN
        ready = 0
        if chan.mode & 3 != 1:  # readable end
            if pipe.buffers[end]:
                ready |= POLLIN
            elif not _other_open(pipe, end):
                ready |= POLLIN | POLLHUP
        if chan.mode & 3 != 0:  # writable end
            if not _other_open(pipe, end):
                ready |= POLLERR
            elif pipe.capacity - len(pipe.buffers[1 - end]) >= PIPE_BUF:
                ready |= POLLOUT
        return ready

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        pipe, end = chan.aux
        if end < 0:
            raise DeviceError("EISDIR")
        return take(pipe, pipe.buffers[end], count, _other_open(pipe, end))

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        pipe, end = chan.aux
        if end < 0:
            raise DeviceError("EISDIR")
        return put(pipe, pipe.buffers[1 - end], data, _other_open(pipe, end))


def _other_open(pipe: Pipe, end: int) -> bool:
    """Whether the other end is open: what end ``end`` reads may still grow, and what it
    writes can still be read."""
    return pipe.opens[1 - end] > 0


#: The largest size F_SETPIPE_SZ gives a process without CAP_SYS_RESOURCE (fs.pipe-max-size).
PIPE_MAX_SIZE = 1 << 20


def pipe_size(chan: Chan, size: int | None = None, *, privileged: bool = False) -> int:
    """F_GETPIPE_SZ (``size`` None) and F_SETPIPE_SZ of a #pipe end, as Linux answers them:
    the size, a power of two pages, at least one. DeviceError EBADF for a channel that is not
    a pipe, EPERM past PIPE_MAX_SIZE without ``privileged``, EBUSY below what it holds."""
    if not isinstance(chan.driver, PipeDevice) or chan.aux[1] < 0:
        raise DeviceError("EBADF", "not a pipe")
    pipe = chan.aux[0]
    if size is None:
        return pipe.capacity
    if size > 1 << 31:
        raise DeviceError("EINVAL")
    size = max(PIPE_BUF, 1 << (size - 1).bit_length())
    if size > PIPE_MAX_SIZE and size > pipe.capacity and not privileged:
        raise DeviceError("EPERM")
    if max(len(buffer) for buffer in pipe.buffers) > size:
        raise DeviceError("EBUSY")
    pipe.capacity = size
    pipe.changed()
    return size


def take(pipe: Pipe | Fifo, buffer: bytearray, count: int, writers: bool) -> bytes:
    """Read up to ``count`` bytes of ``buffer``: wait while it is empty and a writer has the
    other end open, end of file (b"") once none has."""
    if not buffer:
        if not writers:
            return b""
        raise WouldBlock(pipe.waiters)
    data = bytes(buffer[:count])
    del buffer[:count]
    pipe.kernel.kmem.release(KMEM_OWNER, len(data))
    pipe.changed()
    return data


def put(pipe: Pipe | Fifo, buffer: bytearray, data: bytes, readers: bool) -> int:
    """Append ``data`` to ``buffer`` as a pipe does: EPIPE without a reader; a write of up to
    PIPE_BUF bytes waits for room for all of them, a longer one takes what fits."""
    if not readers:
        raise DeviceError("EPIPE")
    room = pipe.capacity - len(buffer)
    if room <= 0 or (len(data) <= PIPE_BUF and room < len(data)):
        raise WouldBlock(pipe.waiters)
    taken = data[:room]
    if not pipe.kernel.kmem.charge(KMEM_OWNER, len(taken)):  # the machine's memory is full
        raise DeviceError("ENOMEM")
    buffer += taken
    pipe.changed()
    return len(taken)


class Fifo:
    """A named pipe's buffer and ends (a FIFO file of a device such as #tmpfs).

    Opens follow Linux: a reader waits for a writer and a writer for a reader, unless the
    other is there (or was, since the open began); ORDWR never waits; a non-blocking reader
    does not wait, a non-blocking writer without a reader fails with ENXIO. A waiting open
    counts as an end already, as on Linux, and is remembered per process and direction (the
    opener retries its whole open when woken)."""

    __slots__ = ("buffer", "readers", "writers", "counters", "pending", "waiters", "kernel", "capacity")

    def __init__(self, kernel: Kernel) -> None:
        self.buffer = bytearray()
        self.capacity = CAPACITY
        self.readers = self.writers = 0
        #: Opens for reading and for writing there have ever been.
        self.counters = [0, 0]
        #: (pid, reading) -> the other direction's counter when that open began to wait.
        self.pending: dict[tuple[int, bool], int] = {}
        self.waiters = WaitQueue(kernel)
        self.kernel = kernel

    def changed(self) -> None:
        Pipe.changed(self)  # type: ignore[arg-type]

    def open(self, mode: int, pid: int) -> None:
        """Count an open for ``mode``; WouldBlock while it must wait for the other end."""
        access, nonblock = mode & 3, bool(mode & ONONBLOCK)
        self._forget_the_dead()
        if access == ORDWR:
            self._count(True, 1)
            self._count(False, 1)
            return
        reading = access != OWRITE
        key = (pid, reading)
        started = self.pending.pop(key, None)
        other = self.writers if reading else self.readers
        if started is None:  # the first try
            if not reading and nonblock and not self.readers:
                raise DeviceError("ENXIO", "a FIFO without a reader")
            self._count(reading, 1)
            if other or nonblock:
                return
            started = self.counters[1 if reading else 0]
        elif other or self.counters[1 if reading else 0] != started:
            return
        self.pending[key] = started
        raise WouldBlock(self.waiters)

    def close(self, mode: int) -> None:
        access = mode & 3
        if access != OWRITE:
            self._count(True, -1)
        if access in (OWRITE, ORDWR):
            self._count(False, -1)
        if self.readers <= 0 and self.writers <= 0 and self.buffer:  # as Linux: nobody can read it
            self.kernel.kmem.release(KMEM_OWNER, len(self.buffer))
            self.buffer.clear()

    def _count(self, reading: bool, change: int) -> None:
        if reading:
            self.readers += change
        else:
            self.writers += change
        if change > 0:
            self.counters[0 if reading else 1] += 1
        self.changed()

    def _forget_the_dead(self) -> None:
        processes = self.kernel.processes
        for pid, reading in list(self.pending):
            process = processes.get(pid)
            if process is None or not process.alive:
                del self.pending[(pid, reading)]
                self._count(reading, -1)

    def poll(self, mode: int) -> int:
        ready = 0
        if mode & 3 != OWRITE:
            if self.buffer:
                ready |= POLLIN
            elif not self.writers and self.counters[1]:
                ready |= POLLHUP
        if mode & 3 != OREAD:
            if not self.readers:
                ready |= POLLERR
            elif self.capacity - len(self.buffer) >= PIPE_BUF:
                ready |= POLLOUT
        return ready

    def read(self, count: int) -> bytes:
        return take(self, self.buffer, count, self.writers > 0)

    def write(self, data: bytes) -> int:
        return put(self, self.buffer, data, self.readers > 0)
