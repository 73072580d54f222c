"""What the machine is doing, as Linux reports it: memory, load averages and uptime (the
sysinfo call here; /proc/meminfo, /proc/loadavg and /proc/uptime in the linuxproc plugin).

Memory is the emulated machine's physical frames; time is virtual time; the load averages are
Linux's: every 5 s of virtual time a sample of the threads that can run, exponentially decayed
with kernel/sched/loadavg.c's constants (samples are taken when someone looks, each counting the
threads that can run then).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.physmem import PAGE_SIZE
from kernkit.core.process import RUNNABLE, RUNNING
from kernkit.core.state import Slot

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

NS = 1_000_000_000
LOAD_FREQ_NS = 5 * NS + NS // 100
FSHIFT, FIXED_1 = 11, 1 << 11
LOAD_EXP = (1884, 2014, 2037)
SI_LOAD_SHIFT = 16
LOADAVG: Slot[list] = Slot("linux.loadavg")  # [time of the last sample, the three averages]
_SYSINFO = struct.Struct("<q3Q6QH6xQQI4x")


def now(kernel: Kernel) -> int:
    """Virtual time as the caller sees it."""
    return kernel.now(kernel.active_core)


def live_threads(kernel: Kernel) -> list[Thread]:
    return [t for p in kernel.processes.values() if p.alive for t in p.threads]


def running(kernel: Kernel) -> int:
    """Threads running or able to run."""
    return sum(t.state is RUNNING or t.state is RUNNABLE for t in live_threads(kernel))


def memory(kernel: Kernel) -> tuple[int, int]:
    """(total, free) bytes of the machine's memory."""
    frames = kernel.machine.memory
    return frames.total_frames * PAGE_SIZE, frames.free_frames * PAGE_SIZE


def load_averages(kernel: Kernel) -> list[int]:
    """The 1, 5 and 15 minute load averages, fixed point with FSHIFT fraction bits."""
    state = LOADAVG.of(kernel, lambda: [0, [0, 0, 0]])
    active = running(kernel) * FIXED_1
    samples = (now(kernel) - state[0]) // LOAD_FREQ_NS
    for _ in range(min(samples, 2000)):  # after that long every average has converged
        state[1] = [
            (load * e + active * (FIXED_1 - e)) >> FSHIFT for load, e in zip(state[1], LOAD_EXP, strict=True)
        ]
    state[0] += samples * LOAD_FREQ_NS
    return state[1]


def sys_sysinfo(t: Thread, info: int) -> int:
    kernel = t.kernel
    total, free = memory(kernel)
    loads = [load << (SI_LOAD_SHIFT - FSHIFT) for load in load_averages(kernel)]
    procs = min(len(live_threads(kernel)), 0xFFFF)
    record = _SYSINFO.pack(now(kernel) // NS, *loads, total, free, 0, 0, 0, 0, procs, 0, 0, 1)
    t.process.aspace.write(info, record)
    return 0


SYSCALLS = ((99, "sysinfo", sys_sysinfo, 1),)
