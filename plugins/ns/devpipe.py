"""#pipe: every attach makes a new pipe, a directory with two ends, ``data`` and ``data1``.

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

#: Bytes a pipe holds in each direction (Linux's default pipe size).
CAPACITY = 64 * 1024
#: Writes up to this size are atomic: they wait for room for all of their bytes.
PIPE_BUF = 4096
NAMES = ("data", "data1")


class Pipe:
    __slots__ = ("number", "buffers", "opens", "waiters", "kernel")

    def __init__(self, number: int, kernel: Kernel) -> None:
        self.number = number
        #: buffers[i]: bytes waiting to be read from end i (written on the other end).
        self.buffers = (bytearray(), bytearray())
        self.opens = [0, 0]
        self.waiters = WaitQueue(kernel)
        self.kernel = kernel

    def changed(self) -> None:
        if len(self.waiters):
            self.waiters.wake(len(self.waiters))
        wake_pollers(self.kernel)


class PipeDevice(DeviceDriver):
    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.numbers = itertools.count(1)

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#pipe takes no spec (got {spec!r})")
        pipe = Pipe(next(self.numbers), self.kernel)
        return Chan(self, Qid(pipe.number << 2, 0, QTDIR), 0, (pipe, -1))

    def walk(self, chan: Chan, name: str) -> Chan | None:
        pipe, _ = chan.aux
        if name not in NAMES:
            return None
        end = NAMES.index(name)
        return Chan(self, Qid(pipe.number << 2 | (end + 1)), 0, (pipe, end))

    def stat(self, chan: Chan) -> Dir:
        pipe, end = chan.aux
        if end < 0:
            return Dir("#pipe", chan.qid, DMDIR | 0o555)
        return Dir(NAMES[end], chan.qid, DMNAMEDPIPE | 0o666, len(pipe.buffers[end]))

    def dirread(self, chan: Chan) -> list[Dir]:
        pipe, _ = chan.aux
        return [self.stat(Chan(self, Qid(pipe.number << 2 | (e + 1)), 0, (pipe, e))) for e in (0, 1)]

    def open(self, chan: Chan, mode: int) -> Chan:
        opened = super().open(chan, mode)
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
                    self.kernel.kmem.release("pipe", len(buffer))
                    buffer.clear()
            pipe.changed()

    def poll(self, chan: Chan) -> int:
        pipe, end = chan.aux
        if end < 0:
            return POLLIN
        ready = 0
        other_open = pipe.opens[1 - end] > 0
        if chan.mode & 3 != 1:  # readable end
            if pipe.buffers[end]:
                ready |= POLLIN
            elif not other_open:
                ready |= POLLIN | POLLHUP
        if chan.mode & 3 != 0:  # writable end
            if not other_open:
                ready |= POLLERR
            elif CAPACITY - len(pipe.buffers[1 - end]) >= PIPE_BUF:
                ready |= POLLOUT
        return ready

    def read(self, chan: Chan, count: int, offset: int) -> bytes:
        pipe, end = chan.aux
        if end < 0:
            raise DeviceError("EISDIR")
        buffer = pipe.buffers[end]
        if not buffer:
            if pipe.opens[1 - end] == 0:
                return b""
            raise WouldBlock(pipe.waiters)
        data = bytes(buffer[:count])
        del buffer[:count]
        self.kernel.kmem.release("pipe", len(data))
        pipe.changed()
        return data

    def write(self, chan: Chan, data: bytes, offset: int) -> int:
        pipe, end = chan.aux
        if end < 0:
            raise DeviceError("EISDIR")
        if pipe.opens[1 - end] == 0:
            raise DeviceError("EPIPE")
        buffer = pipe.buffers[1 - end]
        room = CAPACITY - len(buffer)
        if room <= 0 or (len(data) <= PIPE_BUF and room < len(data)):
            raise WouldBlock(pipe.waiters)
        taken = data[:room]
        if not self.kernel.kmem.charge("pipe", len(taken)):  # the machine's memory is full
            raise DeviceError("ENOMEM")
        buffer += taken
        pipe.changed()
        return len(taken)
