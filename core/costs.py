"""What the kernel's own work costs in virtual time: a table of cycles and the ledger of charges.

Virtual time comes from instructions retired, so without a cost model a system call, a context
switch or a timer tick takes no time at all. A plugin that answers ``kernkit_kernel_costs`` gives
the kernel a :class:`KernelCosts`; the kernel then charges those cycles, at the points where it
does the work, to the core doing it (its virtual time moves on) and so to the thread running
there. A cycle is a tick of the virtual time-stamp counter: ``[machine] ips`` per virtual second,
so one nanosecond at the default 10^9. Charged cycles are time, not instructions: instruction
counts (``kernel.instructions``, a thread's) stay what the guest retired.
"""

from __future__ import annotations

from collections import Counter

import attrs

#: The kinds of kernel work the core charges, as the ledger names them.
COST_KINDS = (
    "syscall_entry",
    "syscall_exit",
    "context_switch",
    "address_space_switch",
    "page_fault",
    "ipi",
    "kmsg",
    "timer_interrupt",
    "tick",
)


def _cycles(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"KernelCosts.{attribute.name} must be a cycle count >= 0, got {value!r}")


@attrs.frozen
class KernelCosts:
    """Cycles the kernel charges for each kind of its own work (0: free).

    - ``syscall_entry``/``syscall_exit``: every system call, before and after its handler;
    - ``context_switch``: a core starts running a thread other than the one it ran last, or the
      same one after it blocked (the core went through its idle loop);
    - ``address_space_switch``: on top of that, when the new thread's address space is not the one
      the core had loaded (the page-table switch and the TLB refill that follows);
    - ``page_fault``: a page made present on a fault (demand-zero, copy-on-write, a file page);
    - ``kmsg``: a kernel message handled on a core, plus ``ipi`` when another core (or the kernel
      between rounds) sent it;
    - ``timer_interrupt``: a sleeping thread woken by its timer (charged to that thread: it resumes
      that much later);
    - ``tick`` every ``tick_period_ns`` of virtual time a core spends running threads (idle cores
      take no tick, as with Linux's NOHZ idle); with ``tick_granted`` False, cores the scheduler
      granted to a process (Akaros's MCP cores) take none either.
    """

    syscall_entry: int = attrs.field(default=0, validator=_cycles)
    syscall_exit: int = attrs.field(default=0, validator=_cycles)
    context_switch: int = attrs.field(default=0, validator=_cycles)
    address_space_switch: int = attrs.field(default=0, validator=_cycles)
    page_fault: int = attrs.field(default=0, validator=_cycles)
    ipi: int = attrs.field(default=0, validator=_cycles)
    kmsg: int = attrs.field(default=0, validator=_cycles)
    timer_interrupt: int = attrs.field(default=0, validator=_cycles)
    tick: int = attrs.field(default=0, validator=_cycles)
    tick_period_ns: int = attrs.field(default=0, validator=_cycles)
    tick_granted: bool = True

    @property
    def enabled(self) -> bool:
        """Whether anything costs at all (a table of zeros is no cost model)."""
        ticks = self.tick and self.tick_period_ns
        return bool(ticks) or any(getattr(self, kind) for kind in COST_KINDS if kind != "tick")


class CostLedger:
    """What the kernel has charged so far: cycles and events by kind, cycles by core."""

    def __init__(self, costs: KernelCosts, cores: int) -> None:
        self.costs = costs
        self.cycles: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.per_core = [0] * cores
        #: Per core, the virtual time (ns) up to which ticks have been charged.
        self.ticked_to = [0] * cores

    def note(self, kind: str, core: int | None, cycles: int, events: int = 1) -> None:
        self.cycles[kind] += cycles
        self.events[kind] += events
        if core is not None:
            self.per_core[core] += cycles

    def ticks_between(self, start_ns: int, end_ns: int) -> int:
        """Tick boundaries (multiples of the period since boot) in ``(start_ns, end_ns]``."""
        period = self.costs.tick_period_ns
        return max(end_ns // period - start_ns // period, 0)

    def summary(self) -> dict[str, dict[str, int]]:
        """``{kind: {"events": n, "cycles": c}}`` for every kind charged at least once."""
        return {
            kind: {"events": self.events[kind], "cycles": self.cycles[kind]}
            for kind in COST_KINDS
            if self.events[kind]
        }
