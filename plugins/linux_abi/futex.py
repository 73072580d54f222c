"""futex: the kernel half of user-space locks (musl's mutexes, condition variables, joins)."""

from __future__ import annotations

import struct
from collections.abc import Hashable
from typing import TYPE_CHECKING

from kernkit.core.errnos import EAGAIN, EINVAL, ENOSYS, ETIMEDOUT
from kernkit.core.wait import WaitQueue

if TYPE_CHECKING:
    from kernkit.core.process import Thread

FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE = 0, 1, 3, 4
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_PRIVATE_FLAG, FUTEX_CLOCK_REALTIME = 128, 256
NS = 1_000_000_000
#: The kernel's data key of the futexes' wait queues (by futex_key).
QUEUES = "linux.futex"


def _queues(t: Thread) -> dict[Hashable, WaitQueue]:
    data = t.process.kernel.data
    queues = data.get(QUEUES)
    if queues is None:
        queues = data[QUEUES] = {}
    return queues


def futex_key(t: Thread, address: int, private: bool) -> Hashable:
    """What identifies the futex word at ``address``: in a shared mapping (of a file, of
    /dev/shm, of MAP_SHARED|MAP_ANONYMOUS memory a fork passed on) and without
    FUTEX_PRIVATE_FLAG, the mapped page cache and the offset in it, which every process mapping
    the same file shares, as Linux keys such futexes by inode and offset (process-shared mutexes
    and POSIX semaphores); otherwise the address space and the address."""
    aspace = t.process.aspace
    if not private:
        region = aspace.regions.find(address)
        if region is not None and region.mapped is not None and region.mapped.shared:
            return (region.mapped.cache, region.offset_of(address))
    return (aspace.serial, address)


def _queue(t: Thread, key: Hashable) -> WaitQueue:
    queues = _queues(t)
    queue = queues.get(key)
    if queue is None:
        queue = queues[key] = WaitQueue(t.process.kernel)
    return queue


def wake(t: Thread, address: int, count: int, private: bool) -> int:
    """Wake at most ``count`` waiters of the futex at ``address``; how many were woken."""
    return _wake_key(t, futex_key(t, address, private), count)


def _wake_key(t: Thread, key: Hashable, count: int) -> int:
    queues = _queues(t)
    queue = queues.get(key)
    if queue is None:
        return 0
    woken = queue.wake(count)
    if not len(queue):
        del queues[key]
    return woken


def _timeout_ns(t: Thread, op: int, timeout: int, flags: int) -> int | None:
    """Nanoseconds to wait at most (None: for ever); FUTEX_WAIT is relative, WAIT_BITSET absolute."""
    if not timeout:
        return None
    seconds, nanos = struct.unpack("<qq", t.process.aspace.read(timeout, 16))
    if seconds < 0 or not 0 <= nanos < NS:
        raise ValueError
    value = seconds * NS + nanos
    if op == FUTEX_WAIT_BITSET:
        now = t.kernel.thread_now(t)
        if flags & FUTEX_CLOCK_REALTIME:
            now += t.kernel.config["linux"].epoch * NS
        return max(value - now, 0)
    return value


def sys_futex(t: Thread, uaddr: int, op: int, val: int, timeout: int, uaddr2: int, val3: int) -> int:
    command = op & ~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME)
    private = bool(op & FUTEX_PRIVATE_FLAG)
    if uaddr % 4:
        return -EINVAL
    # the wait and the wake with _queue, _queues, futex_key and _wake_key inline: a thread
    # switch through a futex is a wake and a wait, and these calls were a tenth of it
    if command in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        process = t.process
        current = int.from_bytes(process.aspace.read(uaddr, 4), "little")
        if current != val & 0xFFFF_FFFF:
            return -EAGAIN
        try:
            limit = _timeout_ns(t, command, timeout, op) if timeout else None
        except ValueError:
            return -EINVAL
        key = (process.aspace.serial, uaddr) if private else futex_key(t, uaddr, private)
        queues = process.kernel.data.get(QUEUES) or _queues(t)
        queue = queues.get(key)
        if queue is None:
            queue = queues[key] = WaitQueue(process.kernel)
        queue.sleep(t, limit, timeout_result=-ETIMEDOUT)
        return 0
    if command in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        process = t.process
        queues = process.kernel.data.get(QUEUES)
        if queues is None:
            return 0
        key = (process.aspace.serial, uaddr) if private else futex_key(t, uaddr, private)
        queue = queues.get(key)
        if queue is None:
            return 0
        woken = queue.wake(val)
        if not len(queue):
            del queues[key]
        return woken
    if command in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        if command == FUTEX_CMP_REQUEUE:
            current = int.from_bytes(t.process.aspace.read(uaddr, 4), "little")
            if current != val3 & 0xFFFF_FFFF:
                return -EAGAIN
        key = futex_key(t, uaddr, private)
        woken = _wake_key(t, key, val)
        source = _queues(t).get(key)
        if source is None:
            return woken
        target = _queue(t, futex_key(t, uaddr2, private))
        moved = source.move_to(target, timeout & 0x7FFF_FFFF)  # val2 travels in "timeout"
        if not len(source):
            del _queues(t)[key]
        return woken + moved
    return -ENOSYS
