"""Time and system information: clock_gettime, nanosleep, gettimeofday, uname, getrandom."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.errnos import EINVAL
from kernkit.plugins.linux_abi.startup import random_bytes

if TYPE_CHECKING:
    from kernkit.core.process import Thread

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 1, 2, 3
CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME = 4, 5, 6, 7
TIMER_ABSTIME = 1
NS = 1_000_000_000
INT64_MAX = (1 << 63) - 1


def _clock(t: Thread, clock: int) -> int | None:
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


def _read_timespec(t: Thread, address: int) -> int | None:
    seconds, nanos = struct.unpack("<qq", t.process.aspace.read(address, 16))
    if seconds < 0 or not 0 <= nanos < NS:
        return None
    return seconds * NS + nanos


def sys_nanosleep(t: Thread, req: int, rem: int) -> int:
    duration = _read_timespec(t, req)
    if duration is None:
        return -EINVAL
    if rem:
        t.process.aspace.write(rem, bytes(16))  # we are never interrupted early
    _sleep(t, duration)
    return 0


def sys_clock_nanosleep(t: Thread, clock: int, flags: int, req: int, rem: int) -> int:
    now = _clock(t, clock)
    if now is None or clock in (CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID):
        return -EINVAL
    target = _read_timespec(t, req)
    if target is None:
        return -EINVAL
    wait = target - now if flags & TIMER_ABSTIME else target
    _sleep(t, max(wait, 0))
    return 0


def _sleep(t: Thread, duration: int) -> None:
    """Sleep ``duration`` ns; beyond the largest time a clock can show, sleep for ever."""
    wake_at = t.kernel.thread_now(t) + duration
    if wake_at + t.kernel.config["linux"].epoch * NS > INT64_MAX * NS:
        t.kernel.block(t)
    else:
        t.kernel.sleep_until(t, wake_at)


def _field(text: str) -> bytes:
    return text.encode()[:64].ljust(65, b"\0")


def sys_uname(t: Thread, buf: int) -> int:
    options = t.kernel.config["linux"]
    fields = ("Linux", options.hostname, options.release, options.version, "x86_64", "(none)")
    t.process.aspace.write(buf, b"".join(_field(f) for f in fields))
    return 0


def sys_getrandom(t: Thread, buf: int, length: int, flags: int) -> int:
    if length > 1 << 20:
        length = 1 << 20
    counter = t.process.data.get("getrandom", 0)
    t.process.data["getrandom"] = counter + 1
    t.process.aspace.write(buf, random_bytes(t.kernel, t.process, f"getrandom{counter}", length))
    return length
