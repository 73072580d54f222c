"""Vcores: starting, yielding, preempting and notifying the vcores of an MCP.

This is the personality's side of Akaros's proc.c; which cores a process gets, and when, is
the scheduler's business (it calls :class:`AkarosVcores` through the kernel's VcoreProvider
interface).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.process import BLOCKED, RUNNING, ProcState
from kernkit.plugins.akaros_abi import layout
from kernkit.plugins.akaros_abi.events import EventMsg, send_kernel_event
from kernkit.plugins.akaros_abi.state import AkarosProcess, of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread


def vcore_of(thread: Thread) -> int | None:
    return thread.data.get("vcore")


def entry_registers(state: AkarosProcess, vcoreid: int) -> dict[str, int]:
    """A fresh vcore context: vcore_entry on the vcore's stack and TLS, vcore id in rdi."""
    return {
        "rip": state.vcore_entry(),
        "rsp": state.data.u64(state.vcpd(vcoreid, layout.VCPD_STACK)),
        "fs_base": state.data.u64(state.vcpd(vcoreid, layout.VCPD_TLS)),
        "rdi": vcoreid,
        "rflags": 0x202,
    }


def new_context(kernel: Kernel, registers: dict[str, int], fpu: bytes | None = None) -> object:
    """A context starting with ``registers`` and the FPU state ``fpu`` (None: as after FNINIT)."""
    context = kernel.machine.new_context(registers["rip"], registers["rsp"])
    context.set_user_registers(registers)
    if fpu is not None:
        context.set_fpu_state(fpu)
    return context


class AkarosVcores:
    """The VcoreProvider of the Akaros personality."""

    def vcores_wanted(self, process: Process) -> int:
        state = of(process)
        if state is None or not process.mcp or not process.alive or process.state is ProcState.WAITING:
            return 0
        wanted = state.amt_wanted()
        maximum = process.kernel.scheduler.max_vcores(process)
        return 1 if wanted == 0 or wanted > maximum else wanted  # as Akaros clamps it

    def vcores_held(self, process: Process) -> int:
        state = of(process)
        return len(state.online) if state is not None else 0

    def start_vcore(self, process: Process, core: int | None) -> Thread | None:
        state = of(process)
        if state is None or not process.mcp or not process.alive:
            return None
        kernel = process.kernel
        if state.preempted:  # preempted vcores come back first
            vcoreid = min(state.preempted)
            state.preempted.discard(vcoreid)
            state.inactive.remove(vcoreid)
            registers = restart_registers(state, vcoreid)
            fpu = state.vcore_fpu.pop(vcoreid, None)
        elif state.inactive:
            vcoreid = state.inactive.pop()
            registers = entry_registers(state, vcoreid)
            state.data.set_u8(state.vcpd(vcoreid, layout.VCPD_NOTIF_DISABLED), 1)
            fpu = None
        else:
            return None
        state.set_flag(vcoreid, layout.VC_PREEMPTED, False)
        state.set_flag(vcoreid, layout.VC_CAN_RCV_MSG, True)
        thread = kernel.add_thread(process, new_context(kernel, registers, fpu), vcore=vcoreid)
        thread.tag = f"vc{vcoreid}"
        state.online[vcoreid] = thread
        state.pcore[vcoreid] = core
        state.publish_vcore(vcoreid, core if core is not None else 0)
        if process.state is ProcState.RUNNABLE_M:
            process.set_state(ProcState.RUNNING_M)
        kernel.trace_event("vcore_start", process, vcore=vcoreid, pcore=core, tid=thread.tid)
        return thread

    def is_vcore(self, thread: Thread) -> bool:
        return vcore_of(thread) is not None

    def preempt_warning(self, thread: Thread) -> None:
        state, vcoreid = of(thread.process), vcore_of(thread)
        entry = layout.vcore_info(vcoreid)
        state.info.set_u64(entry + layout.VI_PREEMPT_PENDING, 1)
        state.info.set_u32(
            entry + layout.VI_PREEMPTS_SENT, state.info.u32(entry + layout.VI_PREEMPTS_SENT) + 1
        )
        msg = EventMsg(layout.EV_PREEMPT_PENDING, ev_arg2=vcoreid)
        send_kernel_event(thread.process, msg, vcoreid, layout.EVENT_IPI)

    def preempt_vcore(self, thread: Thread) -> None:
        process, vcoreid = thread.process, vcore_of(thread)
        state = of(process)
        kernel = process.kernel
        kernel.plugins.notify("kernkit_finalize_context", kernel=kernel, thread=thread, core=thread.core)
        save_preempted(state, vcoreid, thread)
        entry = layout.vcore_info(vcoreid)
        state.info.set_u64(entry + layout.VI_PREEMPT_PENDING, 0)
        state.info.set_u32(
            entry + layout.VI_PREEMPTS_DONE, state.info.u32(entry + layout.VI_PREEMPTS_DONE) + 1
        )
        _take_offline(state, vcoreid)
        process.kernel.trace_event("vcore_preempt", process, vcore=vcoreid, tid=thread.tid)
        process.kernel.end_thread(thread)
        if not state.online and process.state is ProcState.RUNNING_M:
            process.set_state(ProcState.RUNNABLE_M)
        target = min(state.online) if state.online else vcoreid
        send_kernel_event(
            process, EventMsg(layout.EV_VCORE_PREEMPT, ev_arg2=vcoreid), target, layout.EVENT_IPI
        )


VCORES = AkarosVcores()


def save_preempted(state: AkarosProcess, vcoreid: int, thread: Thread, in_syscall: bool = False) -> None:
    """Keep the context of a vcore losing its core where Akaros keeps it: in vcore_ctx when it was
    in vcore context (notifications disabled: its restart resumes it), else in uthread_ctx for the
    2LS, which resumes that uthread when the vcore restarts fresh, or takes it over from another
    vcore meanwhile (handle_vc_preempt). The vcore is marked VC_PREEMPTED."""
    registers = thread.context.user_registers()
    if in_syscall or thread.state is BLOCKED:  # the call it is in returns 0 on resume
        registers["rax"] = 0
    if state.notif_disabled(vcoreid):
        state.save_context(vcoreid, layout.VCPD_VCORE_CTX, registers)
        state.vcore_fpu[vcoreid] = thread.context.fpu_state()
    else:
        state.save_uthread_ctx(vcoreid, registers, thread.context.fpu_state())
    state.set_flag(vcoreid, layout.VC_PREEMPTED, True)
    state.set_flag(vcoreid, layout.VC_CAN_RCV_MSG, False)
    state.preempted.add(vcoreid)
    state.inactive.append(vcoreid)


def restart_registers(state: AkarosProcess, vcoreid: int) -> dict[str, int]:
    """Where a preempted vcore starts again: its saved vcore context if it was in vcore context,
    else fresh at vcore_entry (which resumes its saved uthread, if the 2LS did not take it)."""
    if state.notif_disabled(vcoreid):
        return state.load_context(vcoreid, layout.VCPD_VCORE_CTX)
    state.data.set_u8(state.vcpd(vcoreid, layout.VCPD_NOTIF_DISABLED), 1)
    return entry_registers(state, vcoreid)


def _take_offline(state: AkarosProcess, vcoreid: int) -> None:
    state.online.pop(vcoreid, None)
    state.pcore.pop(vcoreid, None)
    state.halted.discard(vcoreid)
    state.publish_vcore(vcoreid, None)


def yield_vcore(thread: Thread, being_nice: bool) -> bool:
    """Give the vcore's core back; False (the call returns) when Akaros's rules refuse."""
    process, vcoreid = thread.process, vcore_of(thread)
    state = of(process)
    if state.info.u64(layout.vcore_info(vcoreid) + layout.VI_PREEMPT_PENDING):
        return False
    if state.notif_pending(vcoreid):
        return False
    if not being_nice and state.amt_wanted() >= len(state.online):
        return False
    _take_offline(state, vcoreid)
    state.set_flag(vcoreid, layout.VC_CAN_RCV_MSG, False)
    state.inactive.append(vcoreid)
    kernel = process.kernel
    kernel.trace_event("vcore_yield", process, vcore=vcoreid, tid=thread.tid)
    if not state.online and not state.preempted:  # before the core goes back, or it comes back
        process.set_state(ProcState.WAITING)
    kernel.end_thread(thread)
    kernel.scheduler.cores_wanted(process)
    return True


def post_signal(process: Process, signal: int, sender: int) -> None:
    """``SyscallTable.post_signal``: a POSIX signal from another personality's ``kill``. Akaros
    has no kernel signal delivery: as its glibc port does for kill(), the signal becomes an
    EV_POSIX_SIGNAL event (the number as ev_arg1) for vcore 0, notifying it and waking a waiting
    MCP; the process's second-level scheduler runs its handlers. SIGKILL ends it."""
    if signal == 9:
        process.kernel.kill(process, 9)
        return
    msg = EventMsg(layout.EV_POSIX_SIGNAL, ev_arg1=signal)
    send_kernel_event(process, msg, 0, layout.EVENT_IPI | layout.EVENT_WAKEUP)


def send_notify(kernel: Kernel, process: Process, vcoreid: int, thread: Thread) -> None:
    """``__notify`` as a routine kernel message to the vcore's core (or, under a policy without
    core grants, at once if the vcore is not on a core)."""
    state = of(process)
    core = state.pcore.get(vcoreid)
    if core is None and thread.state is RUNNING:
        core = thread.core
    if core is None:
        notify_now(kernel, process, vcoreid, None)
        return
    kernel.send_kmsg(core, "__notify", lambda: notify_now(kernel, process, vcoreid, core))


def notify_now(kernel: Kernel, process: Process, vcoreid: int, core: int | None) -> None:
    """Run vcore_entry on ``vcoreid`` if it may be notified: the process must own the core and
    the vcore must have notifications enabled; else the notification stays pending."""
    state = of(process)
    thread = state.online.get(vcoreid) if state is not None else None
    if thread is None or not process.alive:
        return
    if core is not None and kernel.owning_proc(core) is not process:
        kernel.trace_event("notify_ignored", process, vcore=vcoreid, pcore=core, why="not owning_proc")
        return
    if state.notif_disabled(vcoreid):
        if vcoreid in state.halted:
            state.halted.discard(vcoreid)
            kernel.wake(thread)
        return
    kernel.plugins.notify("kernkit_finalize_context", kernel=kernel, thread=thread, core=core)
    registers = thread.context.user_registers()
    if thread.state is BLOCKED:
        registers["rax"] = 0
    state.save_uthread_ctx(vcoreid, registers, thread.context.fpu_state())
    state.data.set_u8(state.vcpd(vcoreid, layout.VCPD_NOTIF_DISABLED), 1)
    restart_at_entry(thread, state, vcoreid)
    kernel.trace_event("notify", process, vcore=vcoreid, pcore=core)


def restart_at_entry(thread: Thread, state: AkarosProcess, vcoreid: int) -> None:
    """Throw away the vcore's context and start it again at vcore_entry."""
    kernel = thread.process.kernel
    thread.context = new_context(kernel, entry_registers(state, vcoreid))
    thread.stop_requested = True
    if thread.state is BLOCKED:
        state.halted.discard(vcoreid)
        if thread.waiting_on is not None:
            thread.waiting_on.remove(thread)
        kernel.wake(thread)
