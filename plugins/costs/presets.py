"""Cost presets: what a Linux-like and an Akaros-like kernel's own work costs, in cycles.

A cycle here is a tick of the virtual time-stamp counter, one nanosecond at the default
``[machine] ips`` of 10^9, so published times in nanoseconds carry over as they are. Both presets
share the hardware costs (a system call, a context switch, a fault cost the same on the same
machine); they differ where the designs differ: Linux ticks every busy core, Akaros's ksched ticks
only core 0, where single-core processes run, and never a core granted to an MCP. Where each
number comes from is in docs/akaros.md ("Costs"); keep the two in step.
"""

from __future__ import annotations

from typing import Any

#: Costs the two presets share (same hardware, same era).
_HARDWARE: dict[str, Any] = {
    # 105 ns per system call on an Intel 5150 (Sigoure 2010), split entry/exit
    "syscall_entry": 50,
    "syscall_exit": 55,
    # 4,300 ns per process switch through futexes on that machine (Sigoure 2010), less the 1.5
    # system calls each switch makes there (1.5 x 105) and the address-space switch below
    "context_switch": 3840,
    # stand-in: the CR3 write and the refill of a small working set's TLB entries
    "address_space_switch": 300,
    # stand-ins (no publication we could check): see docs/akaros.md
    "page_fault": 1000,
    "ipi": 1000,
    "kmsg": 300,
    "timer_interrupt": 1000,
    # Tsafrir 2007: ticks cost 0.5-1.5% of a CPU at 1000 Hz, i.e. 5-15 us each; the low end
    "tick": 5000,
}

PRESETS: dict[str, dict[str, Any]] = {
    "none": {},
    # HZ=250 (Linux's default, kernel/Kconfig.hz): a 4 ms tick on every core that runs a thread
    "linux-like": {**_HARDWARE, "tick_us": 4000, "tick_cores": "all"},
    # the ksched's 10 ms tick on core 0 only: cores granted to an MCP take no tick
    "akaros-like": {**_HARDWARE, "tick_us": 10000, "tick_cores": "ungranted"},
}
