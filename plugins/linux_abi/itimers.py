"""Timers in virtual time: alarm, setitimer/getitimer (ITIMER_REAL on the clock; ITIMER_VIRTUAL
and ITIMER_PROF on the instructions the process retires), POSIX timers (timer_create and
friends, SIGEV_SIGNAL, SIGEV_THREAD_ID, SIGEV_NONE) and timerfd.

A periodic timer whose signal is still pending when it expires again is not queued twice: as
on Linux, ITIMER_REAL and POSIX timers re-arm when their signal is taken (a POSIX timer counts
the expiries missed meanwhile as overruns), and a timerfd counts expiries until it is read.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.devices import POLLIN
from kernkit.core.errnos import EAGAIN, EBADF, EINVAL, EMFILE
from kernkit.core.state import Slot
from kernkit.core.wait import WaitQueue, wake_pollers
from kernkit.plugins.linux_abi.signals import send
from kernkit.plugins.linux_abi.sigstate import (
    SI_KERNEL,
    SI_TIMER,
    SIGALRM,
    SIGPROF,
    SIGVTALRM,
    SigInfo,
)
from kernkit.plugins.linux_abi.timeinfo import read_timespec

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

NS = 1_000_000_000
ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF = 0, 1, 2
CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_BOOTTIME = 0, 1, 7
CLOCK_REALTIME_ALARM, CLOCK_BOOTTIME_ALARM = 8, 9
SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD, SIGEV_THREAD_ID = 0, 1, 2, 4
TIMER_ABSTIME = 1
TFD_NONBLOCK, TFD_CLOEXEC, TFD_TIMER_ABSTIME, TFD_TIMER_CANCEL_ON_SET = 0o4000, 0o2000000, 1, 2
DELAYTIMER_MAX = (1 << 31) - 1
KEY: Slot[ProcessTimers] = Slot("linux.timers")


def _forward(expiry: int, now: int, interval: int) -> tuple[int, int]:
    """(the first expiry + k * interval after ``now``, k - 1: the periods missed)."""
    periods = max((now - expiry) // interval + 1, 1)
    return expiry + periods * interval, periods - 1


class ClockTimer:
    """A one-shot or periodic timer on the kernel's virtual clock (monotonic nanoseconds)."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.deadline: int | None = None
        self.interval = 0
        #: The expiry that last fired (periods are counted from it).
        self.fired_at = 0
        self._handle: int | None = None

    def arm(self, deadline: int | None, interval: int) -> None:
        if self._handle is not None:
            self.kernel.timers.cancel(self._handle)
            self._handle = None
        self.deadline, self.interval = deadline, interval
        if deadline is not None:
            self._handle = self.kernel.timers.add(deadline, self._due)

    def _due(self) -> None:
        self._handle = None
        if self.deadline is not None:
            self.fired_at, self.deadline = self.deadline, None
            self.expired()

    def expired(self) -> None:
        """The deadline passed (the timer is now disarmed; re-arm it for the next period)."""

    def rearm(self, now: int) -> int:
        """Arm for the next period after ``now``; the periods missed."""
        deadline, missed = _forward(self.fired_at, now, self.interval)
        self.arm(deadline, self.interval)
        return missed

    def remaining(self, now: int) -> int:
        return 0 if self.deadline is None else max(self.deadline - now, 1)


class RealTimer(ClockTimer):
    """ITIMER_REAL (and alarm): SIGALRM to the process; periodic ones re-arm when it is taken."""

    def __init__(self, process: Process) -> None:
        super().__init__(process.kernel)
        self.process = process

    def expired(self) -> None:
        # as on Linux, a periodic timer whose SIGALRM is ignored (never taken) stays disarmed
        send(self.process, SigInfo(SIGALRM, SI_KERNEL, timer=self))

    def taken(self, _info: SigInfo) -> None:
        if self.deadline is None and self.interval:
            self.rearm(self.kernel.now(self.kernel.active_core))


class PosixTimer(ClockTimer):
    """A timer_create timer: a signal (to the process or one thread) with SI_TIMER, or none."""

    def __init__(
        self, process: Process, ident: int, clock: int, notify: int, signal: int, value: int, tid: int
    ):
        super().__init__(process.kernel)
        self.process, self.ident, self.clock = process, ident, clock
        self.notify, self.signal, self.value, self.tid = notify, signal, value, tid
        self.queued: SigInfo | None = None
        self.overrun = 0
        self.deleted = False

    def expired(self) -> None:
        if self.notify == SIGEV_NONE or self.deleted:
            if self.interval:
                self.rearm(self.kernel.now())
            return
        if self.queued is not None:  # its signal is still pending: count, re-arm when taken
            self.queued.overrun = min(self.queued.overrun + 1, DELAYTIMER_MAX)
            return
        info = SigInfo(self.signal, SI_TIMER, timerid=self.ident, value=self.value, timer=self)
        target = None
        if self.notify & SIGEV_THREAD_ID:
            target = next((t for t in self.process.threads if t.tid == self.tid), None)
        if send(self.process, info, target):
            self.queued = info
        elif self.interval:  # ignored: re-arm at once so the timer stays alive
            self.rearm(self.kernel.now())

    def taken(self, info: SigInfo) -> None:
        self.queued = None
        if self.deleted:
            return
        missed = (
            self.rearm(self.kernel.now(self.kernel.active_core))
            if self.interval and self.deadline is None
            else 0
        )
        info.overrun = min(info.overrun + missed, DELAYTIMER_MAX)
        self.overrun = info.overrun


class ProcessTimers:
    """A process's timers (under :data:`KEY`); a forked child starts with none."""

    def __init__(self) -> None:
        self.real: RealTimer | None = None
        #: ITIMER_VIRTUAL and ITIMER_PROF: [expiry, interval] in instructions, or None.
        self.cpu: dict[int, list[int] | None] = {ITIMER_VIRTUAL: None, ITIMER_PROF: None}
        self.posix: dict[int, PosixTimer] = {}
        self.next_id = 0

    def __copy__(self) -> ProcessTimers:
        return ProcessTimers()


def timers(process: Process) -> ProcessTimers:
    return KEY.of(process, ProcessTimers)


def on_exec(process: Process) -> None:
    """execve keeps the interval timers and deletes the POSIX timers."""
    for timer in timers(process).posix.values():
        timer.deleted = True
        timer.arm(None, 0)
    timers(process).posix.clear()


# --- conversions ---------------------------------------------------------------------------------


def _timeval(t: Thread, address: int) -> int | None:
    seconds, micros = struct.unpack("<qq", t.process.aspace.read(address, 16))
    if seconds < 0 or not 0 <= micros < 1_000_000:
        return None
    return seconds * NS + micros * 1000


def _pack_timeval(ns: int) -> bytes:
    micros = ns // 1000
    return struct.pack("<qq", micros // 1_000_000, micros % 1_000_000)


def _pack_timespec(ns: int) -> bytes:
    return struct.pack("<qq", ns // NS, ns % NS)


def _epoch(t: Thread) -> int:
    return t.kernel.config["linux"].epoch * NS


# --- alarm, setitimer, getitimer -----------------------------------------------------------------


def _cpu_now(t: Thread, process: Process) -> int:
    """Instructions ``process`` has retired so far, the caller's run in progress included."""
    live = t.kernel.machine.live_instructions(t.core) if t.process is process and t.core is not None else 0
    return process.instructions + live


def _cpu_alarm(process: Process) -> None:
    """Point the kernel's CPU-time alarm at the nearest of ITIMER_VIRTUAL and ITIMER_PROF."""
    armed = [timer[0] for timer in timers(process).cpu.values() if timer is not None]
    kernel = process.kernel
    kernel.set_cpu_alarm(process, min(armed) if armed else None, lambda: _cpu_expired(process))


def _cpu_expired(process: Process) -> None:
    state = timers(process)
    for which, signal in ((ITIMER_VIRTUAL, SIGVTALRM), (ITIMER_PROF, SIGPROF)):
        timer = state.cpu[which]
        if timer is not None and process.instructions >= timer[0]:
            send(process, SigInfo(signal, SI_KERNEL))
            if timer[1]:
                timer[0] += timer[1]
            else:
                state.cpu[which] = None
    _cpu_alarm(process)


def _get(t: Thread, which: int) -> tuple[int, int]:
    """(remaining ns, interval ns) of interval timer ``which``."""
    state = timers(t.process)
    if which == ITIMER_REAL:
        real = state.real
        if real is None:
            return 0, 0
        return real.remaining(t.kernel.thread_now(t)), real.interval
    timer = state.cpu[which]
    if timer is None:
        return 0, 0
    ips = t.kernel.ips
    left = max(timer[0] - _cpu_now(t, t.process), 1)
    return left * NS // ips, timer[1] * NS // ips


def _set(t: Thread, which: int, value: int, interval: int) -> None:
    state = timers(t.process)
    if which == ITIMER_REAL:
        if state.real is None:
            state.real = RealTimer(t.process)
        now = t.kernel.thread_now(t)
        state.real.arm(now + value if value else None, interval)
        return
    ips = t.kernel.ips
    to_insns = lambda ns: max((ns * ips + NS - 1) // NS, 1)  # noqa: E731 - round up, as Linux does ticks
    state.cpu[which] = (
        [_cpu_now(t, t.process) + to_insns(value), to_insns(interval) if interval else 0] if value else None
    )
    _cpu_alarm(t.process)


def sys_getitimer(t: Thread, which: int, out: int) -> int:
    which &= 0xFFFF_FFFF
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        return -EINVAL
    value, interval = _get(t, which)
    t.process.aspace.write(out, _pack_timeval(interval) + _pack_timeval(value))
    return 0


def sys_setitimer(t: Thread, which: int, new: int, old: int) -> int:
    which &= 0xFFFF_FFFF
    if which not in (ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF):
        return -EINVAL
    interval = value = 0
    if new:
        interval, value = _timeval(t, new), _timeval(t, new + 16)
        if interval is None or value is None:
            return -EINVAL
    previous = _get(t, which)
    _set(t, which, value, interval)
    if old:
        t.process.aspace.write(old, _pack_timeval(previous[1]) + _pack_timeval(previous[0]))
    return 0


def sys_alarm(t: Thread, seconds: int) -> int:
    seconds &= 0xFFFF_FFFF
    left, _ = _get(t, ITIMER_REAL)
    _set(t, ITIMER_REAL, seconds * NS, 0)
    micros = left // 1000
    whole, rest = divmod(micros, 1_000_000)
    return whole + 1 if (not whole and rest) or rest >= 500_000 else whole  # round as Linux does


# --- POSIX timers --------------------------------------------------------------------------------


def _clock_offset(t: Thread, clock: int) -> int | None:
    """What the clock reads minus virtual monotonic time (None: a clock timers do not use)."""
    if clock in (CLOCK_REALTIME, CLOCK_REALTIME_ALARM):
        return _epoch(t)
    if clock in (CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_BOOTTIME_ALARM):
        return 0
    return None


def sys_timer_create(t: Thread, clock: int, event: int, out: int) -> int:
    clock &= 0xFFFF_FFFF
    if _clock_offset(t, clock) is None:
        return -EINVAL
    state = timers(t.process)
    ident = state.next_id
    while ident in state.posix:
        ident = (ident + 1) & 0x7FFF_FFFF
    if event:
        value, signal, notify, tid = struct.unpack("<Qiii", t.process.aspace.read(event, 20))
    else:
        value, signal, notify, tid = ident, SIGALRM, SIGEV_SIGNAL, 0
    if notify & ~SIGEV_THREAD_ID not in (SIGEV_SIGNAL, SIGEV_NONE, SIGEV_THREAD):
        return -EINVAL
    if notify != SIGEV_NONE and not 1 <= signal <= 64:
        return -EINVAL
    if notify & SIGEV_THREAD_ID and not any(th.tid == tid for th in t.process.threads):
        return -EINVAL
    t.process.aspace.write(out, struct.pack("<i", ident))
    state.next_id = (ident + 1) & 0x7FFF_FFFF
    state.posix[ident] = PosixTimer(t.process, ident, clock, notify, signal, value, tid)
    return 0


def _posix(t: Thread, ident: int) -> PosixTimer | None:
    return timers(t.process).posix.get(ident & 0xFFFF_FFFF)


def _itimerspec(timer: ClockTimer, now: int) -> bytes:
    return _pack_timespec(timer.interval) + _pack_timespec(timer.remaining(now))


def _settime(t: Thread, timer: ClockTimer, clock: int, absolute: bool, new: int, old: int) -> int:
    interval, value = read_timespec(t, new), read_timespec(t, new + 16)
    if interval is None or value is None:
        return -EINVAL
    now = t.kernel.thread_now(t)
    previous = _itimerspec(timer, now)
    if value == 0:
        timer.arm(None, interval)
    elif absolute:
        timer.arm(max(value - _clock_offset(t, clock), 0), interval)
    else:
        timer.arm(now + value, interval)
    if old:
        t.process.aspace.write(old, previous)
    return 0


def sys_timer_settime(t: Thread, ident: int, flags: int, new: int, old: int) -> int:
    timer = _posix(t, ident)
    if timer is None or not new:
        return -EINVAL
    return _settime(t, timer, timer.clock, bool(flags & TIMER_ABSTIME), new, old)


def sys_timer_gettime(t: Thread, ident: int, out: int) -> int:
    timer = _posix(t, ident)
    if timer is None:
        return -EINVAL
    t.process.aspace.write(out, _itimerspec(timer, t.kernel.thread_now(t)))
    return 0


def sys_timer_getoverrun(t: Thread, ident: int) -> int:
    timer = _posix(t, ident)
    return -EINVAL if timer is None else timer.overrun


def sys_timer_delete(t: Thread, ident: int) -> int:
    timer = timers(t.process).posix.pop(ident & 0xFFFF_FFFF, None)
    if timer is None:
        return -EINVAL
    timer.deleted = True
    timer.arm(None, 0)
    return 0


# --- timerfd -------------------------------------------------------------------------------------


class TimerFd(ClockTimer):
    """A timerfd: reads return (as a u64) how many times it expired since the last read."""

    name = "anon_inode:[timerfd]"

    def __init__(self, kernel: Kernel, clock: int, nonblocking: bool) -> None:
        super().__init__(kernel)
        self.clock = clock
        self.nonblocking = nonblocking
        self.ticks = 0
        self.readers = WaitQueue(kernel)

    def expired(self) -> None:
        self.ticks += 1
        if len(self.readers):
            self.readers.wake(len(self.readers))
        wake_pollers(self.kernel)

    def arm(self, deadline: int | None, interval: int) -> None:
        self.ticks = 0
        super().arm(deadline, interval)

    def read(self, thread: Thread, length: int) -> bytes | int | None:
        if length < 8:
            return -EINVAL
        if not self.ticks:
            if self.nonblocking:
                return -EAGAIN
            self.readers.sleep(thread, restart=True)
            return None
        ticks = self.ticks
        if self.interval and self.deadline is None:  # periodic: count what passed since it fired
            ticks += self.rearm(self.kernel.thread_now(thread))
        self.ticks = 0
        return struct.pack("<Q", ticks)

    def write(self, thread: Thread, data: bytes) -> int:
        return -EINVAL

    def poll(self) -> int:
        return POLLIN if self.ticks else 0

    def close(self) -> None:
        super().arm(None, 0)

    def is_terminal(self) -> bool:
        return False


def sys_timerfd_create(t: Thread, clock: int, flags: int) -> int:
    clock &= 0xFFFF_FFFF
    if _clock_offset(t, clock) is None or flags & ~(TFD_NONBLOCK | TFD_CLOEXEC):
        return -EINVAL
    timer = TimerFd(t.kernel, clock, bool(flags & TFD_NONBLOCK))
    number = t.process.files.install(timer, cloexec=bool(flags & TFD_CLOEXEC))
    return -EMFILE if number < 0 else number


def _timerfd(t: Thread, fd: int) -> TimerFd | int:
    file = t.process.files.get(fd & 0xFFFF_FFFF)
    if file is None:
        return -EBADF
    return file if isinstance(file, TimerFd) else -EINVAL


def sys_timerfd_settime(t: Thread, fd: int, flags: int, new: int, old: int) -> int:
    timer = _timerfd(t, fd)
    if isinstance(timer, int):
        return timer
    if flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET):
        return -EINVAL
    return _settime(t, timer, timer.clock, bool(flags & TFD_TIMER_ABSTIME), new, old)


def sys_timerfd_gettime(t: Thread, fd: int, out: int) -> int:
    timer = _timerfd(t, fd)
    if isinstance(timer, int):
        return timer
    t.process.aspace.write(out, _itimerspec(timer, t.kernel.thread_now(t)))
    return 0


SYSCALLS = (
    (36, "getitimer", sys_getitimer, 2),
    (37, "alarm", sys_alarm, 1),
    (38, "setitimer", sys_setitimer, 3),
    (222, "timer_create", sys_timer_create, 3),
    (223, "timer_settime", sys_timer_settime, 4),
    (224, "timer_gettime", sys_timer_gettime, 2),
    (225, "timer_getoverrun", sys_timer_getoverrun, 1),
    (226, "timer_delete", sys_timer_delete, 1),
    (283, "timerfd_create", sys_timerfd_create, 2),
    (286, "timerfd_settime", sys_timerfd_settime, 4),
    (287, "timerfd_gettime", sys_timerfd_gettime, 2),
)
