"""eventfd: a 64-bit counter as a file, for waking a thread or process (libuv's loop, glib's
main context). A write adds to the counter (waiting while it would pass 2^64-2), a read takes it
all, or 1 with EFD_SEMAPHORE (waiting while it is 0); poll says POLLIN while it is above 0 and
POLLOUT while a write of 1 fits."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.devices import POLLIN, POLLOUT
from kernkit.core.errnos import EAGAIN, EINVAL, EMFILE
from kernkit.core.wait import WaitQueue, wake_pollers

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

EFD_SEMAPHORE, EFD_NONBLOCK, EFD_CLOEXEC = 1, 0o4000, 0o2000000
#: The largest value the counter holds.
COUNTER_MAX = (1 << 64) - 2


class EventFd:
    name = "anon_inode:[eventfd]"

    def __init__(self, kernel: Kernel, count: int, semaphore: bool, nonblocking: bool) -> None:
        self.kernel = kernel
        self.count = count
        self.semaphore = semaphore
        self.nonblocking = nonblocking
        self.waiters = WaitQueue(kernel)

    def _changed(self) -> None:
        if len(self.waiters):
            self.waiters.wake(len(self.waiters))
        wake_pollers(self.kernel)

    def _wait(self, thread: Thread) -> int | None:
        if self.nonblocking:
            return -EAGAIN
        self.waiters.sleep(thread, restart=True)
        return None

    def read(self, thread: Thread, length: int) -> bytes | int | None:
        if length < 8:
            return -EINVAL
        if not self.count:
            return self._wait(thread)
        taken = 1 if self.semaphore else self.count
        self.count -= taken
        self._changed()
        return struct.pack("<Q", taken)

    def write(self, thread: Thread, data: bytes) -> int | None:
        if len(data) < 8:
            return -EINVAL
        (value,) = struct.unpack_from("<Q", data)
        if value > COUNTER_MAX:
            return -EINVAL
        if self.count + value > COUNTER_MAX:
            return self._wait(thread)
        self.count += value
        if value:
            self._changed()
        return 8

    def poll(self) -> int:
        return (POLLIN if self.count else 0) | (POLLOUT if self.count < COUNTER_MAX else 0)

    def close(self) -> None:
        pass

    def is_terminal(self) -> bool:
        return False


def sys_eventfd2(t: Thread, initval: int, flags: int) -> int:
    if flags & ~(EFD_SEMAPHORE | EFD_NONBLOCK | EFD_CLOEXEC):
        return -EINVAL
    counter = EventFd(
        t.kernel, initval & 0xFFFF_FFFF, bool(flags & EFD_SEMAPHORE), bool(flags & EFD_NONBLOCK)
    )
    number = t.process.files.install(counter, cloexec=bool(flags & EFD_CLOEXEC))
    return -EMFILE if number < 0 else number


def sys_eventfd(t: Thread, initval: int) -> int:
    return sys_eventfd2(t, initval, 0)


SYSCALLS = (
    (284, "eventfd", sys_eventfd, 1),
    (290, "eventfd2", sys_eventfd2, 2),
)
