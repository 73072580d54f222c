"""Time and system information: clock_gettime, nanosleep, gettimeofday, uname, getrandom."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.errnos import EINVAL, EPERM
from kernkit.core.state import Slot
from kernkit.core.wait import WaitQueue
from kernkit.plugins.linux_abi.creds import PER_LINUX32, PER_MASK, creds_of
from kernkit.plugins.linux_abi.signals import ON_EINTR
from kernkit.plugins.linux_abi.startup import random_bytes
from kernkit.plugins.linux_abi.uts import names

if TYPE_CHECKING:
    from kernkit.core.process import Thread

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 1, 2, 3
CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME = 4, 5, 6, 7
TIMER_ABSTIME = 1
NS = 1_000_000_000
INT64_MAX = (1 << 63) - 1


#: A negative clock id names another thread's or process's CPU clock (pthread_getcpuclockid,
#: clock_getcpuclockid): ~pid above three bits, a per-thread bit, the kind (PROF, VIRT, SCHED).
CPUCLOCK_PERTHREAD, CPUCLOCK_KINDS = 4, 3


def _cpu_clock(t: Thread, clock: int) -> int | None:
    """The CPU time of the thread or process a negative clock id names (user and system time
    are one here: kernel work takes no virtual time), None when it names none the caller may
    read: a thread of another process, a pid that is not a process."""
    pid, kind = ~(clock >> 3), clock & CPUCLOCK_KINDS
    if kind == CPUCLOCK_KINDS:
        return None
    if clock & CPUCLOCK_PERTHREAD:
        threads = [t] if pid == 0 else [th for th in t.process.threads if th.tid == pid]
    else:
        process = t.process if pid == 0 else t.kernel.processes.get(pid)
        threads = process.threads if process is not None and process.alive else []
    if not threads:
        return None
    return sum(t.kernel.thread_instructions(th) for th in threads) * NS // t.kernel.ips


def _clock(t: Thread, clock: int) -> int | None:
    clock &= 0xFFFF_FFFF
    if clock >= 1 << 31:
        return _cpu_clock(t, clock - (1 << 32))
    now = t.kernel.thread_now(t)
    if clock in (CLOCK_REALTIME, CLOCK_REALTIME_COARSE):
        return now + t.kernel.config["linux"].epoch * NS
    if clock in (CLOCK_MONOTONIC, CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME):
        return now
    if clock in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID):
        threads = [t] if clock == CLOCK_THREAD_CPUTIME_ID else t.process.threads
        return sum(t.kernel.thread_instructions(th) for th in threads) * NS // t.kernel.ips
    return None


def _timespec(value: int) -> bytes:
    """A struct timespec, saturated at the largest time it can hold."""
    return struct.pack("<qq", min(value // NS, INT64_MAX), value % NS if value // NS <= INT64_MAX else NS - 1)


def sys_clock_gettime(t: Thread, clock: int, ts: int) -> int:
    value = _clock(t, clock)
    if value is None:
        return -EINVAL
    t.process.aspace.write(ts, _timespec(value))
    return 0


def sys_clock_settime(t: Thread, clock: int, ts: int) -> int:
    """Only CLOCK_REALTIME can be set, and only with CAP_SYS_TIME, which no process here holds
    (virtual time is the machine's): -EPERM, as for root in a container; so are the CPU clocks
    of clock ids below 0; the other clocks are -EINVAL, and so is a bad timespec, before the
    permission, as Linux checks them."""
    value = read_timespec(t, ts)
    if clock & 0xFFFF_FFFF >= 1 << 31:  # another thread's or process's CPU clock: never set
        return -EINVAL if _clock(t, clock) is None else -EPERM
    if clock != CLOCK_REALTIME or value is None:
        return -EINVAL
    return -EPERM


def sys_clock_getres(t: Thread, clock: int, res: int) -> int:
    if _clock(t, clock) is None:
        return -EINVAL
    if res:
        t.process.aspace.write(res, struct.pack("<qq", 0, max(1, NS // t.kernel.ips)))
    return 0


def sys_gettimeofday(t: Thread, tv: int, tz: int) -> int:
    if tv:
        value = _clock(t, CLOCK_REALTIME)
        seconds, nanos = struct.unpack("<qq", _timespec(value))
        t.process.aspace.write(tv, struct.pack("<qq", seconds, nanos // 1000))
    return 0


def sys_time(t: Thread, tloc: int) -> int:
    seconds = min(_clock(t, CLOCK_REALTIME) // NS, INT64_MAX)
    if tloc:
        t.process.aspace.write_u64(tloc, seconds)
    return seconds


def read_timespec(t: Thread, address: int) -> int | None:
    """A struct timespec in guest memory as nanoseconds; None if it is not a valid one."""
    seconds, nanos = struct.unpack("<qq", t.process.aspace.read(address, 16))
    if seconds < 0 or not 0 <= nanos < NS:
        return None
    return seconds * NS + nanos


SLEEP_DEADLINE: Slot[int] = Slot("linux.sleep_deadline")
FOREVER = -1


def sys_nanosleep(t: Thread, req: int, rem: int) -> int | None:
    if SLEEP_DEADLINE not in t.data:
        duration = read_timespec(t, req)
        if duration is None:
            return -EINVAL
        t.data[SLEEP_DEADLINE] = _deadline(t, t.kernel.thread_now(t) + duration)
    return _sleep(t)


def sys_clock_nanosleep(t: Thread, clock: int, flags: int, req: int, rem: int) -> int | None:
    if SLEEP_DEADLINE not in t.data:
        now = _clock(t, clock)
        if now is None or clock in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID) or clock >= 1 << 31:
            return -EINVAL
        target = read_timespec(t, req)
        if target is None:
            return -EINVAL
        wait = target - now if flags & TIMER_ABSTIME else target
        t.data[SLEEP_DEADLINE] = _deadline(t, t.kernel.thread_now(t) + max(wait, 0))
    return _sleep(t)


def _deadline(t: Thread, wake_at: int) -> int:
    """Beyond the largest time a clock can show, a sleep is for ever."""
    return FOREVER if wake_at + t.kernel.config["linux"].epoch * NS > INT64_MAX * NS else wake_at


def _sleep(t: Thread) -> int | None:
    """Sleep to the thread's deadline; the call runs again when woken (so a signal that stops
    and continues the process does not stretch the sleep) and returns 0 once it is reached."""
    deadline = t.data[SLEEP_DEADLINE]
    now = t.kernel.thread_now(t)
    if deadline != FOREVER and now >= deadline:
        del t.data[SLEEP_DEADLINE]
        return 0
    WaitQueue(t.kernel).sleep(t, None if deadline == FOREVER else deadline - now, restart=True)
    return None


def _interrupted_sleep(t: Thread, number: int, regs: dict[str, int]) -> None:
    """EINTR: a relative sleep tells the time it had left (nanosleep's rem, clock_nanosleep's
    without TIMER_ABSTIME)."""
    deadline = t.data.pop(SLEEP_DEADLINE, FOREVER)
    rem = regs["rsi"] if number == 35 else regs["r10"]
    if rem and (number == 35 or not regs["rsi"] & TIMER_ABSTIME):
        left = INT64_MAX * NS if deadline == FOREVER else max(deadline - t.kernel.thread_now(t), 0)
        t.process.aspace.write(rem, _timespec(left))


ON_EINTR[35] = ON_EINTR[230] = _interrupted_sleep


def _field(text: str) -> bytes:
    return text.encode()[:64].ljust(65, b"\0")


def sys_uname(t: Thread, buf: int) -> int:
    options = t.kernel.config["linux"]
    # a 32-bit personality (linux32, setarch i686) sees the machine a 32-bit kernel would be
    machine = "i686" if creds_of(t.process).persona & PER_MASK == PER_LINUX32 else "x86_64"
    uts = names(t.kernel)
    fields = ("Linux", uts.host, options.release, options.version, machine, uts.domain)
    t.process.aspace.write(buf, b"".join(_field(f) for f in fields))
    return 0


def sys_getrandom(t: Thread, buf: int, length: int, flags: int) -> int:
    if length > 1 << 20:
        length = 1 << 20
    counter = t.process.data.get("getrandom", 0)
    t.process.data["getrandom"] = counter + 1
    t.process.aspace.write(buf, random_bytes(t.kernel, t.process, f"getrandom{counter}", length))
    return length
