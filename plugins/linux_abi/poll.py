"""poll, ppoll, select, pselect6 and epoll: waiting for any of several files.

Readiness comes from each channel's driver (``DeviceDriver.poll``); files that never wait
(regular files, the console) are always ready. A caller with nothing ready sleeps on the
kernel's pollers queue (:func:`kernkit.core.wait.pollers`), which drivers wake when a file may
have become ready; the wake looks at its files anew and completes the call, or leaves it asleep
when none is ready yet. The deadline of a timed call is kept in the thread across the runs of
the call (its timeout, a signal without a handler), so a timeout is not stretched by them.
epoll is level-triggered: EPOLLET is accepted and behaves as level-triggered (a caller that
reads until EAGAIN, as edge-triggered code must, works the same); EPOLLONESHOT is honoured.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, Chan
from kernkit.core.errnos import EBADF, EEXIST, EFAULT, EINVAL, EMFILE, ENOENT
from kernkit.core.errors import BadAddress
from kernkit.core.wait import Finish, WaitQueue, pollers
from kernkit.plugins.linux_abi.signals import ON_EINTR
from kernkit.plugins.linux_abi.sigwait import end_temporary_mask, temporary_mask_or_interrupt

if TYPE_CHECKING:
    from kernkit.core.process import Thread

POLLNVAL, POLLRDNORM, POLLWRNORM = 0x20, 0x40, 0x100
EPOLLONESHOT, EPOLLET = 1 << 30, 1 << 31
EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD = 1, 2, 3
DEADLINE = "linux.poll_deadline"
MAX_FDS = 1 << 16
NS = 1_000_000_000
FOREVER = -1


def readiness(file: Any) -> int:
    """What ``file`` (a channel or a personality's own open file) is ready for now."""
    if type(file) is Chan:
        ready = file.driver.poll(file)
    elif isinstance(file, EpollFile):
        ready = POLLIN if file.any_ready() else 0
    else:  # a personality's own file: one that can wait says when it is ready
        poll = getattr(file, "poll", None)
        ready = poll() if poll is not None else POLLIN | POLLOUT
    if ready & POLLIN:
        ready |= POLLRDNORM
    if ready & POLLOUT:
        ready |= POLLWRNORM
    return ready


def _finish_or_wait(
    t: Thread, found: int, timeout_ns: int | None, again: Callable[[], int], args: tuple[int, ...]
) -> bool:
    """True when the call should return now (something is ready, or its time is up); otherwise
    the thread sleeps until a file may be ready or the deadline.

    The wake completes the call: ``again()`` looks at the files anew and gives the call's
    result, having written it out (0: still nothing ready, written nothing; the thread sleeps
    on). The deadline runs the call again, to find it passed."""
    data = t.data
    if found or timeout_ns == 0:
        data.pop(DEADLINE, None)
        return True
    kernel = t.kernel
    now = kernel.thread_now(t)
    deadline = data.get(DEADLINE)
    if deadline is None:
        deadline = data[DEADLINE] = FOREVER if timeout_ns is None else now + timeout_ns
    if deadline != FOREVER and now >= deadline:
        data.pop(DEADLINE, None)
        return True
    queue = pollers(kernel)

    def complete() -> int | WaitQueue:
        try:
            result = again()
        except BadAddress:  # the caller's sets went away while it waited
            result = -EFAULT
        if result == 0:
            return queue
        data.pop(DEADLINE, None)
        return end_temporary_mask(t, result)  # type: ignore[return-value]

    queue.sleep(t, None if deadline == FOREVER else deadline - now, finish=Finish(complete, args))
    return False


def _timespec_ns(t: Thread, address: int) -> int | None:
    if not address:
        return None
    seconds, nanos = struct.unpack("<qq", t.process.aspace.read(address, 16))
    if seconds < 0 or not 0 <= nanos < NS:
        return -1
    return seconds * NS + nanos


# --- poll ------------------------------------------------------------------------------------


def _poll(t: Thread, fds: int, nfds: int, timeout_ns: int | None, args: tuple[int, ...]) -> int | None:
    if nfds > min(MAX_FDS, t.process.files.limit):
        return -EINVAL
    aspace = t.process.aspace
    raw = bytearray(aspace.read(fds, 8 * nfds)) if nfds else bytearray()
    files = t.process.files
    watched: list[tuple[int, Any, int]] = []  # (fd, file, events wanted) of the open descriptors

    def scan() -> int:
        found = 0
        watched.clear()
        for i in range(nfds):
            fd, events = struct.unpack_from("<ih", raw, 8 * i)
            revents = 0
            if fd >= 0:
                file = files.get(fd)
                wanted = (events & 0xFFFF) | POLLERR | POLLHUP
                if file is None:
                    revents = POLLNVAL
                else:
                    revents = readiness(file) & wanted
                    watched.append((fd, file, wanted))
            struct.pack_into("<h", raw, 8 * i + 6, revents)
            if revents:
                found += 1
        return found

    def again() -> int:
        # every readiness change anywhere wakes every poller: first a look at just the files
        # it watches, the whole scan (and the copy out) only when one is ready or went away
        for fd, file, wanted in watched:
            if files.get(fd) is not file or readiness(file) & wanted:
                break
        else:
            return 0
        found = scan()
        if found:
            aspace.write(fds, bytes(raw))
        return found

    found = scan()
    if not _finish_or_wait(t, found, timeout_ns, again, args):
        return None
    if nfds:
        aspace.write(fds, bytes(raw))
    return found


def sys_poll(t: Thread, fds: int, nfds: int, timeout_ms: int) -> int | None:
    args = (fds, nfds, timeout_ms)
    timeout_ms = timeout_ms - (1 << 32) if timeout_ms >= 1 << 31 else timeout_ms
    return _poll(t, fds, nfds, None if timeout_ms < 0 else timeout_ms * 1_000_000, args)


def sys_ppoll(t: Thread, fds: int, nfds: int, tsp: int, sigmask: int, size: int) -> int | None:
    timeout = _timespec_ns(t, tsp)
    if timeout is not None and timeout < 0:
        return -EINVAL
    early = temporary_mask_or_interrupt(t, sigmask, size)
    if early:
        return early
    return end_temporary_mask(t, _poll(t, fds, nfds, timeout, (fds, nfds, tsp, sigmask, size)))


# --- select ----------------------------------------------------------------------------------


def _select(
    t: Thread,
    nfds: int,
    readfds: int,
    writefds: int,
    exceptfds: int,
    timeout_ns: int | None,
    args: tuple[int, ...],
) -> int | None:
    if nfds < 0 or nfds > t.process.files.limit:
        return -EINVAL
    size = (nfds + 63) // 64 * 8
    aspace = t.process.aspace
    sets = [
        int.from_bytes(aspace.read(a, size), "little") if a and size else 0
        for a in (readfds, writefds, exceptfds)
    ]
    out = [0, 0, 0]
    files = t.process.files
    wanted = sets[0] | sets[1] | sets[2]

    def scan() -> int:
        out[:] = 0, 0, 0
        found = 0
        fd = 0
        while wanted >> fd:
            if wanted >> fd & 1:
                file = files.get(fd)
                if file is None:
                    return -EBADF
                ready = readiness(file)
                bit = 1 << fd
                if sets[0] & bit and ready & (POLLIN | POLLHUP | POLLERR):
                    out[0] |= bit
                    found += 1
                if sets[1] & bit and ready & (POLLOUT | POLLERR):
                    out[1] |= bit
                    found += 1
                if sets[2] & bit and ready & POLLPRI:
                    out[2] |= bit
                    found += 1
            fd += 1
        return found

    def write_out() -> None:
        for address, bits in zip((readfds, writefds, exceptfds), out, strict=True):
            if address and size:
                aspace.write(address, bits.to_bytes(size, "little"))

    def again() -> int:
        found = scan()
        if found > 0:
            write_out()
        return found

    found = scan()
    if found < 0:
        return found
    if not _finish_or_wait(t, found, timeout_ns, again, args):
        return None
    write_out()
    return found


def sys_select(t: Thread, nfds: int, readfds: int, writefds: int, exceptfds: int, tvp: int) -> int | None:
    timeout = None
    if tvp:
        seconds, micros = struct.unpack("<qq", t.process.aspace.read(tvp, 16))
        if seconds < 0 or not 0 <= micros < 1_000_000:
            return -EINVAL
        timeout = seconds * NS + micros * 1000
    return _select(t, nfds, readfds, writefds, exceptfds, timeout, (nfds, readfds, writefds, exceptfds, tvp))


def sys_pselect6(
    t: Thread, nfds: int, readfds: int, writefds: int, exceptfds: int, tsp: int, sigmask: int
) -> int | None:
    timeout = _timespec_ns(t, tsp)
    if timeout is not None and timeout < 0:
        return -EINVAL
    if sigmask:  # a pointer to {const sigset_t *set; size_t size}
        address, size = struct.unpack("<QQ", t.process.aspace.read(sigmask, 16))
        early = temporary_mask_or_interrupt(t, address, size)
        if early:
            return early
    args = (nfds, readfds, writefds, exceptfds, tsp, sigmask)
    return end_temporary_mask(t, _select(t, nfds, readfds, writefds, exceptfds, timeout, args))


# --- epoll -----------------------------------------------------------------------------------


class EpollFile:
    """An epoll instance: the files it watches (by descriptor and open file), with their events."""

    name = "anon_inode:[eventpoll]"

    def __init__(self, process: Any) -> None:
        self.process = process
        self.interest: dict[int, list[Any]] = {}  # fd -> [file, events, data]

    def read(self, thread: Thread, length: int) -> int:
        return -EINVAL

    def write(self, thread: Thread, data: bytes) -> int:
        return -EINVAL

    def close(self) -> None:
        self.interest.clear()

    def is_terminal(self) -> bool:
        return False

    def ready(self, files: Any) -> list[tuple[int, int, list[Any]]]:
        events = []
        for fd, entry in list(self.interest.items()):
            file, wanted, _ = entry
            if files.get(fd) is not file:  # the descriptor was closed: Linux forgets it too
                del self.interest[fd]
                continue
            got = readiness(file) & ((wanted & 0xFFFF) | POLLERR | POLLHUP)
            if got:
                events.append((fd, got, entry))
        return events

    def any_ready(self) -> bool:
        return bool(self.ready(self.process.files))


def sys_epoll_create1(t: Thread, flags: int) -> int:
    if flags & ~0o2000000:
        return -EINVAL
    number = t.process.files.install(EpollFile(t.process), cloexec=bool(flags))
    return -EMFILE if number < 0 else number


def sys_epoll_create(t: Thread, size: int) -> int:
    return -EINVAL if size <= 0 or size >= 1 << 31 else sys_epoll_create1(t, 0)


def sys_epoll_ctl(t: Thread, epfd: int, op: int, fd: int, event: int) -> int:
    files = t.process.files
    ep = files.get(epfd)
    target = files.get(fd)
    if ep is None or target is None:
        return -EBADF
    if not isinstance(ep, EpollFile) or fd == epfd:
        return -EINVAL
    if op == EPOLL_CTL_DEL:
        return 0 if ep.interest.pop(fd, None) is not None else -ENOENT
    if op not in (EPOLL_CTL_ADD, EPOLL_CTL_MOD):
        return -EINVAL
    events, data = struct.unpack("<IQ", t.process.aspace.read(event, 12))
    if op == EPOLL_CTL_ADD:
        if fd in ep.interest:
            return -EEXIST
        ep.interest[fd] = [target, events, data]
    else:
        if fd not in ep.interest:
            return -ENOENT
        ep.interest[fd] = [target, events, data]
    return 0


def sys_epoll_wait(
    t: Thread, epfd: int, events: int, maxevents: int, timeout_ms: int, args: tuple[int, ...] | None = None
) -> int | None:
    ep = t.process.files.get(epfd)
    if ep is None:
        return -EBADF
    if not isinstance(ep, EpollFile) or maxevents <= 0 or maxevents > 1 << 20:
        return -EINVAL
    timeout_ms = timeout_ms - (1 << 32) if timeout_ms >= 1 << 31 else timeout_ms
    ready = ep.ready(t.process.files)[:maxevents]
    args = (epfd, events, maxevents, timeout_ms) if args is None else args

    def again() -> int:
        return _report(t, ep.ready(t.process.files)[:maxevents], events)

    if not _finish_or_wait(t, len(ready), None if timeout_ms < 0 else timeout_ms * 1_000_000, again, args):
        return None
    return _report(t, ready, events)


def _report(t: Thread, ready: list[tuple[int, int, list[Any]]], events: int) -> int:
    """Write the ready files' events to ``events``; how many."""
    out = bytearray()
    for _fd, got, entry in ready:
        out += struct.pack("<IQ", got, entry[2])
        if entry[1] & EPOLLONESHOT:
            entry[1] = EPOLLONESHOT  # disarmed until EPOLL_CTL_MOD
    if out:
        t.process.aspace.write(events, bytes(out))
    return len(ready)


def sys_epoll_pwait(
    t: Thread, epfd: int, events: int, maxevents: int, timeout_ms: int, sigmask: int, size: int
) -> int | None:
    early = temporary_mask_or_interrupt(t, sigmask, size)
    if early:
        return early
    args = (epfd, events, maxevents, timeout_ms, sigmask, size)
    return end_temporary_mask(t, sys_epoll_wait(t, epfd, events, maxevents, timeout_ms, args))


def _interrupted(t: Thread, _number: int, _regs: dict[str, int]) -> None:
    """EINTR: the next call starts a deadline of its own."""
    t.data.pop(DEADLINE, None)


for _number in (7, 23, 232, 270, 271, 281):
    ON_EINTR[_number] = _interrupted


SYSCALLS = (
    (7, "poll", sys_poll, 3),
    (23, "select", sys_select, 5),
    (213, "epoll_create", sys_epoll_create, 1),
    (232, "epoll_wait", sys_epoll_wait, 4),
    (233, "epoll_ctl", sys_epoll_ctl, 4),
    (270, "pselect6", sys_pselect6, 6),
    (271, "ppoll", sys_ppoll, 5),
    (281, "epoll_pwait", sys_epoll_pwait, 6),
    (291, "epoll_create1", sys_epoll_create1, 1),
)
