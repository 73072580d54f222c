"""Handlers of the Akaros system calls (numbers from Akaros's ros/bits/syscall.h).

Arguments come in registers (see user/parlib/ros_abi.h); results are >= 0 or -errno.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errnos import (
    E2BIG,
    EBUSY,
    EINVAL,
    ENOENT,
    ENOEXEC,
    ENXIO,
    EPERM,
    ESRCH,
)
from kernkit.core.errors import ProgramError
from kernkit.core.process import ProcState
from kernkit.plugins.akaros_abi import fds, layout
from kernkit.plugins.akaros_abi.events import (
    EventMsg,
    post_vcore_msg,
    send_event,
    send_kernel_event,
    spam_public,
    try_notify,
    wakeup,
)
from kernkit.plugins.akaros_abi.state import of
from kernkit.plugins.akaros_abi.status import provisioning_map
from kernkit.plugins.akaros_abi.vcores import (
    new_context,
    restart_at_entry,
    restart_registers,
    save_preempted,
    vcore_of,
    yield_vcore,
)
from kernkit.plugins.linux_abi import api as linux

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread


U32 = 0xFFFF_FFFF  # Akaros declares event types, vcore ids and flags as 32-bit: the register's low half
#: provision's pid that asks for the provisioning map instead (-1, as a 64-bit register holds it)
SHOW_PROVISIONING = (1 << 64) - 1


def _target(t: Thread, pid: int) -> Process | None:
    process = t.kernel.processes.get(pid)
    return process if process is not None and process.alive else None


def sys_null(t: Thread) -> int:
    return 0


def sys_block(t: Thread, usec: int) -> None:
    t.kernel.sleep_until(t, t.kernel.thread_now(t) + usec * 1000, lambda: t.context.set_syscall_result(0))


def sys_cputs(t: Thread, buf: int, length: int) -> int:
    data = t.process.aspace.read(buf, length) if length else b""
    t.kernel.stdout.write(data)
    t.kernel.stdout.flush()
    return length


def sys_getpcoreid(t: Thread) -> int:
    return t.core if t.core is not None else 0


def sys_getvcoreid(t: Thread) -> int:
    return vcore_of(t) or 0


def sys_getpid(t: Thread) -> int:
    return t.process.pid


def sys_proc_create(t: Thread, path: int, pathlen: int, argv: int, envp: int, flags: int) -> int:
    try:
        name = t.process.aspace.read(path, min(pathlen, 4096)).split(b"\0", 1)[0].decode()
        args, env = linux.c_strings(t, argv), linux.c_strings(t, envp)
    except (OverflowError, UnicodeDecodeError):
        return -E2BIG
    if not name:
        return -ENOENT
    program = linux.find_program(t, name)
    if program is None:
        return -ENOENT
    try:
        child = t.kernel.spawn(program, args or [name], env, parent=t.process, start=False)
    except ProgramError:
        return -ENOEXEC
    if flags & fds.PROC_DUP_FGRP:
        fds.dup_fgrp(t.process, child)
    return child.pid


def sys_proc_run(t: Thread, pid: int) -> int:
    child = _target(t, pid)
    if child is None:
        return -ESRCH
    if child.parent is not t.process:
        return -EPERM
    if not t.kernel.start_process(child):
        return -EINVAL
    linux.exec_done(child)  # it runs a new program: its parent's setpgid of it is EACCES now
    return 0


def sys_proc_destroy(t: Thread, pid: int, status: int) -> int | None:
    target = _target(t, pid)
    if target is None:
        return -ESRCH
    if target is not t.process and target.parent is not t.process:
        return -EPERM
    t.kernel.exit_process(target, status & 0xFF)
    return None if target is t.process else 0


def sys_proc_yield(t: Thread, being_nice: int) -> int | None:
    if not t.process.mcp:
        t.kernel.yield_core(t)
        return 0
    return None if yield_vcore(t, bool(being_nice)) else 0


def sys_change_to_m(t: Thread) -> int | None:
    process, kernel = t.process, t.kernel
    state = of(process)
    if process.mcp or len(process.threads) != 1:
        return -EINVAL
    if kernel.scheduler.max_vcores(process) < 1 or not state.vcore_entry():
        return -EINVAL
    registers = t.context.user_registers()
    registers["rax"] = 0
    state.save_uthread_ctx(0, registers, t.context.fpu_state())
    process.mcp = True
    state.info.set_u64(layout.PI_IS_MCP, 1)
    process.set_state(ProcState.RUNNABLE_M)
    kernel.trace_event("change_to_m", process)
    kernel.end_thread(t)
    kernel.scheduler.cores_wanted(process)
    return None


def sys_poke_ksched(t: Thread, pid: int, res_type: int) -> int:
    target = _target(t, pid) if pid else t.process
    if target is None:
        return -ESRCH
    if res_type != layout.RES_CORES:
        return -EINVAL
    t.kernel.scheduler.cores_wanted(target)
    return 0


def sys_provision(t: Thread, pid: int, res_type: int, core: int) -> int:
    if pid == SHOW_PROVISIONING:  # as Akaros: print the map on the console
        t.kernel.stdout.write(provisioning_map(t.kernel).encode())
        t.kernel.stdout.flush()
        return 0
    if res_type != layout.RES_CORES:
        return -EINVAL
    if core >= len(t.kernel.current):
        return -ENXIO
    if core == 0:
        return -EBUSY  # the management core is never provisioned
    if pid == 0:
        t.kernel.scheduler.provision(None, core)
        return 0
    target = _target(t, pid)
    if target is None:
        return -ESRCH
    t.kernel.scheduler.provision(target, core)
    t.kernel.trace_event("provision", target, pcore=core)
    return 0


def _message(t: Thread, msg: int, kind: int) -> EventMsg:
    """The caller's struct event_msg at ``msg`` (zeros for NULL), of type ``kind`` when nonzero."""
    got = EventMsg.unpack(t.process.aspace.read(msg, layout.EVENT_MSG.size)) if msg else EventMsg(0)
    return got._replace(ev_type=kind) if kind else got


def sys_notify(t: Thread, pid: int, kind: int, msg: int, flags: int) -> int:
    """An event for another process (Akaros's notify): through the queue it registered for the
    type, else to a running vcore with ``flags`` (default EVENT_IPI | EVENT_WAKEUP)."""
    kind, flags = kind & U32, flags & U32
    target = _target(t, pid)
    if target is None or of(target) is None:
        return -ESRCH
    if kind >= 1 << 16:
        return -EINVAL
    message = _message(t, msg, kind)
    send_kernel_event(target, message, 0, flags or layout.EVENT_IPI | layout.EVENT_WAKEUP)
    return 0


def sys_self_notify(t: Thread, vcoreid: int, kind: int, msg: int, flags: int) -> int:
    """An event into one of our own vcores' mailboxes (the private one with EVENT_VCORE_PRIVATE),
    and a notification with EVENT_IPI (the default). An offline vcore's event goes to one that
    will see it unless it is private."""
    vcoreid, kind, flags = vcoreid & U32, kind & U32, flags & U32
    state = of(t.process)
    if (vcoreid >= state.info.u64(layout.PI_MAX_VCORES) and vcoreid != 0) or kind >= 1 << 16:
        return -EINVAL
    message = _message(t, msg, kind)
    flags = flags or layout.EVENT_IPI
    private = bool(flags & layout.EVENT_VCORE_PRIVATE)
    if t.process.mcp and vcoreid not in state.online and not private:
        spam_public(t.process, message, vcoreid, flags)
    else:
        post_vcore_msg(t.process, vcoreid, message, private)
        try_notify(t.process, vcoreid, flags)
    wakeup(t.process, flags)
    return 0


def sys_send_event(t: Thread, ev_q: int, msg: int, vcoreid: int) -> int:
    """Send ourselves an event through our own event queue (Akaros's send_event)."""
    vcoreid = vcoreid & U32
    state = of(t.process)
    if vcoreid >= max(state.info.u64(layout.PI_MAX_VCORES), 1) or not ev_q:
        return -EINVAL
    message = _message(t, msg, 0)
    t.process.aspace.read(ev_q, layout.EVENT_QUEUE.size)  # a bad queue is EFAULT for the caller
    send_event(t.process, ev_q, message, vcoreid)
    return 0


def sys_halt_core(t: Thread, usec: int) -> int | None:
    state, vcoreid = of(t.process), vcore_of(t)
    if vcoreid is None:
        return -EINVAL
    if state.notif_pending(vcoreid):
        return 0
    state.halted.add(vcoreid)
    if usec:
        t.kernel.sleep_until(t, t.kernel.thread_now(t) + usec * 1000, lambda: state.halted.discard(vcoreid))
    else:
        t.kernel.block(t)
    t.context.set_syscall_result(0)
    return None


def sys_vc_entry(t: Thread) -> int | None:
    """Enter vcore context now. From a uthread (notifications enabled) its context is saved in
    uthread_ctx first, as a notification would; vcore context itself has nothing to keep."""
    vcoreid = vcore_of(t)
    if vcoreid is None:
        return -EINVAL
    state = of(t.process)
    if not state.notif_disabled(vcoreid):
        registers = t.context.user_registers()
        registers["rax"] = 0
        state.save_uthread_ctx(vcoreid, registers, t.context.fpu_state())
    state.data.set_u8(state.vcpd(vcoreid, layout.VCPD_NOTIF_DISABLED), 1)
    restart_at_entry(t, state, vcoreid)
    return None


def sys_pop_ctx(t: Thread, ctx: int) -> int | None:
    values = layout.USER_CONTEXT.unpack(t.process.aspace.read(ctx, layout.USER_CONTEXT.size))
    registers = dict(zip(layout.USER_CONTEXT_FIELDS, values, strict=True))
    t.context = new_context(t.kernel, registers)
    t.stop_requested = True
    return None


def sys_change_vcore(t: Thread, vcoreid: int, enable_my_notif: int) -> int | None:
    """Hand the caller's core to preempted vcore ``vcoreid`` (Akaros's change_to_vcore, for a 2LS
    recovering a vcore preempted in vcore context, or a PDR lock's waiter whose holder lost its
    core). Only from vcore context (notifications disabled), else EINVAL. The caller's vcore is
    left as if preempted (VC_PREEMPTED, restarted when the process next gets a core): with
    ``enable_my_notif`` it restarts fresh and EV_CHECK_MSGS goes to ``vcoreid`` (its uthread, if
    any, the 2LS took beforehand); without, its context is kept in vcore_ctx to resume, and
    EV_VCORE_PREEMPT goes to ``vcoreid`` so the 2LS recovers it."""
    vcoreid = vcoreid & U32
    state, mine = of(t.process), vcore_of(t)
    if mine is None or vcoreid not in state.preempted or vcoreid == mine:
        return -EINVAL
    if not state.notif_disabled(mine):
        return -EINVAL  # not from uthread context
    if enable_my_notif:
        state.data.set_u8(state.vcpd(mine, layout.VCPD_NOTIF_DISABLED), 0)
        state.set_flag(mine, layout.VC_PREEMPTED, True)
        state.set_flag(mine, layout.VC_CAN_RCV_MSG, False)
        state.preempted.add(mine)
        state.inactive.append(mine)
    else:
        save_preempted(state, mine, t, in_syscall=True)
    core = state.pcore.pop(mine, None)
    state.online.pop(mine)
    state.publish_vcore(mine, None)
    state.preempted.discard(vcoreid)
    state.inactive.remove(vcoreid)
    t.context = new_context(t.kernel, restart_registers(state, vcoreid), state.vcore_fpu.pop(vcoreid, None))
    state.set_flag(vcoreid, layout.VC_PREEMPTED, False)
    state.set_flag(vcoreid, layout.VC_CAN_RCV_MSG, True)
    t.data["vcore"] = vcoreid
    t.tag = f"vc{vcoreid}"
    state.online[vcoreid] = t
    state.pcore[vcoreid] = core
    state.publish_vcore(vcoreid, core if core is not None else 0)
    t.kernel.trace_event("change_vcore", t.process, vcore=vcoreid, **{"from": mine})
    t.stop_requested = True
    kind = layout.EV_CHECK_MSGS if enable_my_notif else layout.EV_VCORE_PREEMPT
    send_kernel_event(t.process, EventMsg(kind, ev_arg2=mine), vcoreid, layout.EVENT_IPI)
    return None


def sys_waitpid(t: Thread, pid: int, status: int, options: int) -> int | None:
    return linux.sys_wait4(t, pid, status, options, 0)


def sys_nanosleep(t: Thread, request: int, remaining: int) -> int | None:
    return linux.sys_nanosleep(t, request, remaining)


def sys_stat(t: Thread, path: int, pathlen: int, statbuf: int) -> int:
    """stat(path, pathlen, struct kstat *): the path's file, in Linux's struct stat layout."""
    return linux.sys_stat(t, path, statbuf)
