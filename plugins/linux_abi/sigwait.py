"""Waiting for signals: rt_sigsuspend, pause, rt_sigtimedwait, signalfd; and the temporary
masks of ppoll, pselect6 and epoll_pwait."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.devices import POLLIN
from kernkit.core.errnos import EAGAIN, EBADF, EINTR, EINVAL, EMFILE
from kernkit.core.state import Slot
from kernkit.core.wait import WaitQueue
from kernkit.plugins.linux_abi.signals import ON_EINTR, SIGNALFD_READERS, SIGNALFDS, pending_set, take
from kernkit.plugins.linux_abi.sigstate import UNBLOCKABLE, SigInfo, of_process, of_thread
from kernkit.plugins.linux_abi.timeinfo import read_timespec

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

SIGSET_SIZE = 8
NS = 1_000_000_000
FOREVER = -1
DEADLINE: Slot[int] = Slot("linux.sigtimedwait_deadline")
SFD_NONBLOCK, SFD_CLOEXEC = 0o4000, 0o2000000


def deliverable(t: Thread) -> bool:
    return bool(pending_set(t) & ~of_thread(t).mask)


def use_temporary_mask(t: Thread, mask: int) -> None:
    """Wait with ``mask``: the thread's own returns when the call ends, or, if a handler
    interrupts it, when the handler returns (its frame keeps it)."""
    ts = of_thread(t)
    if ts.saved_mask is None:
        ts.saved_mask = ts.mask
    ts.mask = mask & ~UNBLOCKABLE


def end_temporary_mask(t: Thread, result: int | None) -> int | None:
    """A call that waited with a temporary mask returns ``result``: back to the thread's own
    mask, unless the call was interrupted (the handler's frame restores it then)."""
    ts = of_thread(t)
    if result is not None and result != -EINTR and ts.saved_mask is not None:
        ts.mask, ts.saved_mask = ts.saved_mask, None
    return result


def temporary_mask_or_interrupt(t: Thread, address: int, size: int) -> int:
    """Apply the temporary mask a call was given at ``address`` (0: none): 0, -EINVAL for a
    bad size, or -EINTR when a signal it unblocks is pending (taken on the way out)."""
    if not address:
        return 0
    if size != SIGSET_SIZE:
        return -EINVAL
    use_temporary_mask(t, t.process.aspace.read_u64(address))
    if deliverable(t):
        t.kernel.want_user_work(t)
        return -EINTR
    return 0


def sys_rt_sigsuspend(t: Thread, mask: int, size: int) -> int | None:
    if size != SIGSET_SIZE:
        return -EINVAL
    use_temporary_mask(t, t.process.aspace.read_u64(mask))
    return _wait_for_any(t)


def sys_pause(t: Thread) -> int | None:
    return _wait_for_any(t)


def _wait_for_any(t: Thread) -> int | None:
    """Sleep until a signal is delivered (a handled one returns EINTR; see signals.RESTART_KIND)."""
    if deliverable(t):
        t.kernel.want_user_work(t)
        return -EINTR
    t.kernel.block(t)
    return None


def sys_rt_sigtimedwait(t: Thread, wanted: int, info: int, timeout: int, size: int) -> int | None:
    if size != SIGSET_SIZE:
        return -EINVAL
    ts = of_thread(t)
    which = t.process.aspace.read_u64(wanted) & ~UNBLOCKABLE
    got = take(t, which)
    if got is not None:
        ts.waiting = 0
        t.data.pop(DEADLINE, None)
        if info:
            t.process.aspace.write(info, got.pack())
        return got.signo
    now = t.kernel.thread_now(t)
    deadline = t.data.get(DEADLINE)
    if deadline is None:
        limit = read_timespec(t, timeout) if timeout else FOREVER
        if limit is None:
            return -EINVAL
        deadline = t.data[DEADLINE] = FOREVER if limit == FOREVER else now + limit
    if deadline != FOREVER and now >= deadline:
        ts.waiting = 0
        t.data.pop(DEADLINE, None)
        return -EAGAIN
    ts.waiting = which
    WaitQueue(t.kernel).sleep(t, None if deadline == FOREVER else deadline - now, restart=True)
    return None


def _end_sigtimedwait(t: Thread, _number: int, _regs: dict[str, int]) -> None:
    of_thread(t).waiting = 0
    t.data.pop(DEADLINE, None)


ON_EINTR[128] = _end_sigtimedwait


# --- signalfd ------------------------------------------------------------------------------


def signalfd_record(info: SigInfo) -> bytes:
    """struct signalfd_siginfo (128 bytes) for a taken signal."""
    kind = info.layout() if info.raw is None else "rt"
    pid = uid = status = utime = stime = addr = band = fd = overrun = 0
    tid = value = 0
    if kind in ("kill", "rt", "chld"):
        pid, uid = info.pid, info.uid
    if kind in ("rt", "timer"):
        value = info.value
    if kind == "timer":
        tid, overrun = info.timerid, info.overrun
    if kind == "chld":
        status, utime, stime = info.status, info.utime, info.stime
    if kind == "fault":
        addr = info.addr
    if kind == "poll":
        band, fd = info.band, info.fd
    record = struct.pack(
        "<IiiIIiIIIIiiQQQQ",
        info.signo, info.errno, info.code, pid & 0xFFFF_FFFF, uid, fd, tid, band & 0xFFFF_FFFF,
        overrun, info.trapno, status, value & 0xFFFF_FFFF, value, utime, stime, addr,
    )  # fmt: skip
    return record.ljust(128, b"\0")


class SignalFd:
    """A signalfd: reads take pending signals of its mask (the reader's own, then its
    process's) as signalfd_siginfo records; readable while one is pending."""

    name = "anon_inode:[signalfd]"

    def __init__(self, process: Process, mask: int, nonblocking: bool) -> None:
        self.process = process
        self.mask = mask
        self.nonblocking = nonblocking
        self.kernel = process.kernel
        self.kernel.data[SIGNALFDS] = self.kernel.data.get(SIGNALFDS, 0) + 1

    def read(self, thread: Thread, length: int) -> bytes | int | None:
        if length < 128:
            return -EINVAL
        records = []
        while len(records) < length // 128:
            info = take(thread, self.mask)
            if info is None:
                break
            records.append(signalfd_record(info))
        if records:
            return b"".join(records)
        if self.nonblocking:
            return -EAGAIN
        readers = self.kernel.data.get(SIGNALFD_READERS)
        if readers is None:
            readers = self.kernel.data[SIGNALFD_READERS] = WaitQueue(self.kernel)
        readers.sleep(thread, restart=True)
        return None

    def write(self, thread: Thread, data: bytes) -> int:
        return -EINVAL

    def poll(self) -> int:
        process = self.process
        pending = of_process(process).shared.signals
        for thread in process.threads:
            pending |= of_thread(thread).pending.signals
        return POLLIN if pending & self.mask else 0

    def close(self) -> None:
        self.kernel.data[SIGNALFDS] -= 1

    def is_terminal(self) -> bool:
        return False


def sys_signalfd4(t: Thread, fd: int, mask: int, size: int, flags: int) -> int:
    if size != SIGSET_SIZE or flags & ~(SFD_NONBLOCK | SFD_CLOEXEC):
        return -EINVAL
    value = t.process.aspace.read_u64(mask) & ~UNBLOCKABLE
    fd = fd - (1 << 32) if fd >= 1 << 31 and fd < 1 << 32 else fd
    if fd == -1 or fd == (1 << 64) - 1:
        number = t.process.files.install(SignalFd(t.process, value, bool(flags & SFD_NONBLOCK)),
                                         cloexec=bool(flags & SFD_CLOEXEC))  # fmt: skip
        return -EMFILE if number < 0 else number
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    if not isinstance(file, SignalFd):
        return -EINVAL
    file.mask = value
    return fd


def sys_signalfd(t: Thread, fd: int, mask: int, size: int) -> int:
    return sys_signalfd4(t, fd, mask, size, 0)


SYSCALLS = (
    (34, "pause", sys_pause, 0),
    (128, "rt_sigtimedwait", sys_rt_sigtimedwait, 4),
    (130, "rt_sigsuspend", sys_rt_sigsuspend, 2),
    (282, "signalfd", sys_signalfd, 3),
    (289, "signalfd4", sys_signalfd4, 4),
)
