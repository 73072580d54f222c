"""Accounting a program can ask for: getrusage and times, in virtual time (a program's
CPU time is the instructions it retired; the kernel's own work takes none)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.errnos import EINVAL
from kernkit.plugins.linux_abi.children import CHILDREN_CPU
from kernkit.plugins.linux_abi.signals import CLOCK_TICKS

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

NS = 1_000_000_000


def _cpu_ns(t: Thread, process: Process) -> int:
    kernel = t.kernel
    live = kernel.machine.live_instructions(t.core) if process is t.process and t.core is not None else 0
    return (process.instructions + live) * NS // kernel.ips


def _rusage(user_ns: int, maxrss_kib: int) -> bytes:
    micros = user_ns // 1000
    return struct.pack("<qqqqq", micros // 1_000_000, micros % 1_000_000, 0, 0, maxrss_kib) + bytes(104)


def sys_getrusage(t: Thread, who: int, out: int) -> int:
    who &= 0xFFFF_FFFF  # an int
    who = who - (1 << 32) if who >= 1 << 31 else who
    if who == 0:  # RUSAGE_SELF
        resident = len(t.process.aspace.present) * 4
        usage = _rusage(_cpu_ns(t, t.process), resident)
    elif who == 1:  # RUSAGE_THREAD
        usage = _rusage(
            t.kernel.thread_instructions(t) * NS // t.kernel.ips, len(t.process.aspace.present) * 4
        )
    elif who == -1:  # RUSAGE_CHILDREN: those waited for
        usage = _rusage(t.process.data.get(CHILDREN_CPU, 0) * NS // t.kernel.ips, 0)
    else:
        return -EINVAL
    t.process.aspace.write(out, usage)
    return 0


def sys_times(t: Thread, out: int) -> int:
    kernel = t.kernel
    ticks = lambda ns: ns * CLOCK_TICKS // NS  # noqa: E731
    if out:
        children = t.process.data.get(CHILDREN_CPU, 0) * NS // kernel.ips
        t.process.aspace.write(out, struct.pack("<qqqq", ticks(_cpu_ns(t, t.process)), 0, ticks(children), 0))
    return ticks(kernel.thread_now(t))


SYSCALLS = (
    (98, "getrusage", sys_getrusage, 2),
    (100, "times", sys_times, 1),
)
