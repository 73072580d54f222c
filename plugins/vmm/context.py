"""A VMM thread's context while it runs a guest pcore, and how an exit leaves it.

Inside ``vmm_run`` the calling thread's context is a :class:`GuestContext`: the machine runs it
by running the guest pcore's CPU (``run_on_core``), and anything that asks the thread for user
registers (a debugger, a backtrace) sees the VMM thread as it waits in ``vmm_run``. An exit the
kernel handles (CPUID, HLT when not reflected) keeps the guest context; one it reflects writes
the vm_trapframe, finalizes the VM context on the core and gives the thread back its user
context, with ``vmm_run`` returning the exit reason.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.arch.x86_64.api import EXIT_EXTERNAL_INTERRUPT, EXIT_HLT, EXIT_LIMIT, EXIT_NAMES, VmExit
from kernkit.core.errors import BadAddress
from kernkit.core.machine import Stop
from kernkit.core.process import BLOCKED
from kernkit.plugins.vmm import layout
from kernkit.plugins.vmm.gpc import GuestPcore, finalize_on_core, load, loaded, unload, vmm_of
from kernkit.plugins.vmm.interrupts import deliver_pending, take_posted

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

EFAULT = 14


class GuestContext:
    """The context of a thread inside ``vmm_run``: a guest pcore, over the thread's user
    context (to which every CpuContext operation is forwarded)."""

    def __init__(self, kernel: Kernel, thread: Thread, gpc: GuestPcore, user: Any) -> None:
        self.kernel = kernel
        self.thread = thread
        self.gpc = gpc
        self.user = user

    def __getattr__(self, name: str) -> Any:
        return getattr(self.user, name)

    @property
    def pc(self) -> int:
        return self.user.pc

    @property
    def sp(self) -> int:
        return self.user.sp

    def live_instructions(self) -> int:
        return self.gpc.cpu.live_instructions()

    def run_on_core(self, core: int, budget: int, limit: int | None = None) -> Stop:
        kernel, gpc, thread = self.kernel, self.gpc, self.thread
        load(kernel, gpc, core)
        if gpc.notified:
            take_posted(gpc)
        failed = deliver_pending(kernel, gpc) if gpc.irr else None
        if failed is not None:  # the guest's IDT cannot take it
            finalize_on_core(kernel, core)
            leave_guest(kernel, thread, gpc, failed)
            return Stop("syscall", 0)
        executed, exit_ = gpc.cpu.run(budget, limit)
        if exit_ is None:
            return Stop("slice", executed)
        if exit_.reason == EXIT_HLT and keeps_halt(kernel, thread, gpc):
            return Stop("syscall", executed)
        finalize_on_core(kernel, core)
        leave_guest(kernel, thread, gpc, over_limit(kernel, gpc, exit_))
        return Stop("syscall", executed)


def keeps_halt(kernel: Kernel, thread: Thread, gpc: GuestPcore) -> bool:
    """After a HLT exit: True when the kernel keeps it and the guest pcore stays in (a pending
    interrupt ends the halt at once; or the VMM wants no HLT exits and the guest pcore halts in
    the kernel, its thread blocked until a poke or a notification); False: reflect it."""
    vmm = vmm_of(gpc.process)
    if gpc.notified:
        take_posted(gpc)
    if gpc.irr and gpc.cpu.interruptible():
        vmm.count("hlt", "kernel")
        gpc.poked = False  # the poke that posted it is used up: a later HLT halts
        return True
    if vmm.exits_wanted & layout.VMM_CTL_EXIT_HALT:
        return False
    vmm.count("hlt", "kernel")
    if gpc.poked:
        gpc.poked = False
        return True
    gpc.halted = True
    kernel.block(thread)  # the guest pcore sleeps, still loaded on the core
    return True


def over_limit(kernel: Kernel, gpc: GuestPcore, exit_: VmExit) -> VmExit:
    """``exit_``, or EXIT_LIMIT when the guest pcore has made its ``[vmm] max_exits`` exits
    already: it is stopped, and the kernel says so once."""
    limit = gpc.max_exits
    if not limit or gpc.exits < limit:
        gpc.exits += 1
        return exit_
    gpc.stopped = True
    process = gpc.process
    kernel.message(
        f"vmm: pid {process.pid} ({process.name}): guest pcore {gpc.gpcoreid} stopped after {gpc.exits} "
        f"exits to the VMM ([vmm] max_exits = {limit}), at rip {gpc.cpu.state()['rip']:#x}"
    )
    return VmExit(EXIT_LIMIT)


def leave_guest(kernel: Kernel, thread: Thread, gpc: GuestPcore, exit_: VmExit) -> None:
    """Reflect ``exit_`` to the VMM from the guest context: the thread gets its user context
    back and returns from vmm_run with what :func:`reflect` says."""
    context = thread.context
    user = context.user if isinstance(context, GuestContext) else context
    thread.context = user
    user.set_syscall_result(reflect(kernel, thread, gpc, exit_))


def reflect(kernel: Kernel, thread: Thread, gpc: GuestPcore, exit_: VmExit) -> int:
    """Write the vm_trapframe and count the exit: what vmm_run returns, the reason (-EFAULT if
    the trapframe is gone). The guest pcore is no longer the thread's."""
    gpc.thread = None
    vmm = vmm_of(gpc.process)
    name = EXIT_NAMES.get(exit_.reason, str(exit_.reason))
    vmm.count(name, "vmm")
    if kernel.tracing:
        kernel.trace_event("vmexit", gpc.process, tid=thread.tid, gpcoreid=gpc.gpcoreid, reason=name)
    record = gpc.cpu.raw_state() + layout.VM_TF_TAIL.pack(
        gpc.cpu.cr3,
        exit_.reason,
        gpc.gpcoreid,
        exit_.qual,
        exit_.intrinfo | exit_.value << 32,
        exit_.gva,
        exit_.gpa,
        exit_.insn_len,
        layout.VMTF_RESUME,
    )
    try:
        gpc.process.aspace.write(gpc.tf, record)
    except BadAddress:
        return -EFAULT
    return exit_.reason


def interrupt_guest(kernel: Kernel, thread: Thread, core: int | None) -> bool:
    """Finalize a thread's VM context before its user context is saved away (a notification
    or preemption): the guest pcore is unloaded and vmm_run returns EXIT_EXTERNAL_INTERRUPT.
    False if the thread was not in a guest."""
    context = thread.context
    if not isinstance(context, GuestContext):
        return False
    gpc = context.gpc
    on = gpc.core if gpc.core is not None else core
    if on is not None and loaded(kernel)[on] == gpc.gpcoreid:
        finalize_on_core(kernel, on)
    else:
        unload(kernel, gpc)
    leave_guest(kernel, thread, gpc, VmExit(EXIT_EXTERNAL_INTERRUPT))
    if gpc.halted:
        gpc.halted = False
        if thread.state is BLOCKED:
            kernel.wake(thread)
    return True
