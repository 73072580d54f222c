"""Running a guest pcore inside ``vmm_run`` (the fast path of an exit reflected to the VMM).

Without it, ``vmm_run`` swaps the calling thread's context for a :class:`GuestContext` and
stops the thread; the run loop then runs the guest pcore (``run_on_core``) and, on an exit
reflected to the VMM, the thread again: two trips through the loop and two ``emu_start`` of the
VMM's core per exit. Here the syscall handler runs the guest pcore's CPU itself, for at most
what is left of the run's budget (:meth:`Kernel.budget_left`), and charges what it retired to
the thread (:meth:`Kernel.charge_instructions`), so the core's virtual time, the thread's and
the kernel's instruction counts and the budgets come out as on the slow path. Anything else -
the budget used up, a HLT the kernel keeps, a debugger, tracing, a kernel message waiting for
the core - goes the slow way, from where the guest pcore is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.arch.x86_64.api import EXIT_HLT
from kernkit.plugins.vmm.context import GuestContext, keeps_halt, over_limit, reflect
from kernkit.plugins.vmm.gpc import finalize_on_core, load
from kernkit.plugins.vmm.interrupts import deliver_pending

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread
    from kernkit.plugins.vmm.gpc import GuestPcore


def can_run_inline(kernel: Kernel, thread: Thread) -> bool:
    """Nothing needs the core between the thread's syscall and the guest's run: no debugger
    (it sees every stop), no tracing (a traced run shows the guest's runs as spans of their
    own), no immediate kernel message for the core, the thread not asked to stop."""
    core = thread.core
    return (
        kernel.debugger is None
        and not kernel.tracing
        and core is not None
        and not thread.stop_requested
        and not kernel.kmsgs.immediate_pending(core)
        and kernel.current[core] is thread
    )


def enter_slowly(kernel: Kernel, thread: Thread, gpc: GuestPcore) -> None:
    """Hand the guest pcore to the run loop: the thread's context becomes a GuestContext."""
    thread.context = GuestContext(kernel, thread, gpc, thread.context)
    thread.stop_requested = True


def run_inline(kernel: Kernel, thread: Thread, gpc: GuestPcore) -> int | None:
    """Run ``gpc`` for ``thread`` inside its ``vmm_run``: what vmm_run returns for an exit
    reflected to the VMM, or None when the run loop takes over (see :func:`enter_slowly`)."""
    core = thread.core
    budget = kernel.budget_left(core)
    if budget == 0:  # the quantum is over: the guest starts in the thread's next run
        enter_slowly(kernel, thread, gpc)
        return None
    load(kernel, gpc, core)
    if gpc.irr:
        failed = deliver_pending(kernel, gpc)
        if failed is not None:  # the guest's IDT cannot take it
            finalize_on_core(kernel, core)
            return reflect(kernel, thread, gpc, failed)
    limit = kernel.budget_left(core, exact=True) if kernel.max_instructions else None
    executed, exit_ = gpc.cpu.run(budget or 0, limit)
    kernel.charge_instructions(core, executed)
    if exit_ is None:  # the budget ran out: the guest goes on in the thread's next run
        enter_slowly(kernel, thread, gpc)
        # a charge that used up the run's budget ends the run as a slice, as the guest's own would
        thread.stop_requested = budget is None or executed < budget
        return None
    if exit_.reason == EXIT_HLT:
        user = thread.context
        enter_slowly(kernel, thread, gpc)  # a halt kept in the kernel blocks the thread in the guest
        if keeps_halt(kernel, thread, gpc):
            return None
        thread.context, thread.stop_requested = user, False
    finalize_on_core(kernel, core)
    return reflect(kernel, thread, gpc, over_limit(kernel, gpc, exit_))
