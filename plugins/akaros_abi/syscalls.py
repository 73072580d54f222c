"""Handlers of the Akaros system calls (numbers from Akaros's ros/bits/syscall.h).

Arguments come in registers (see user/parlib/ros_abi.h); results are >= 0 or -errno.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errnos import (
    E2BIG,
    EAGAIN,
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
from kernkit.plugins.akaros_abi import layout
from kernkit.plugins.akaros_abi.state import of
from kernkit.plugins.akaros_abi.vcores import (
    deliver_event,
    new_context,
    restart_at_entry,
    vcore_of,
    yield_vcore,
)
from kernkit.plugins.linux_abi import api as linux

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread


U32 = 0xFFFF_FFFF  # Akaros declares event types, vcore ids and flags as 32-bit: the register's low half


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
    return child.pid


def sys_proc_run(t: Thread, pid: int) -> int:
    child = _target(t, pid)
    if child is None:
        return -ESRCH
    if child.parent is not t.process:
        return -EPERM
    return 0 if t.kernel.start_process(child) else -EINVAL


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
    state.save_uthread_ctx(0, registers)
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


def _event_args(t: Thread, msg: int, kind: int) -> tuple[int, int]:
    if not msg:
        return kind, 0
    got_kind, _, arg = layout.EVENT_MSG.unpack(t.process.aspace.read(msg, layout.EVENT_MSG.size))
    return (kind or got_kind), arg


def sys_notify(t: Thread, pid: int, kind: int, msg: int, flags: int) -> int:
    kind, flags = kind & U32, flags & U32
    target = _target(t, pid)
    if target is None or of(target) is None:
        return -ESRCH
    kind, arg = _event_args(t, msg, kind)
    delivered = deliver_event(target, 0, kind, arg, flags or layout.EVENT_IPI | layout.EVENT_WAKEUP)
    return 0 if delivered else -EAGAIN


def sys_self_notify(t: Thread, vcoreid: int, kind: int, msg: int, flags: int) -> int:
    vcoreid, kind, flags = vcoreid & U32, kind & U32, flags & U32
    if vcoreid >= of(t.process).info.u64(layout.PI_MAX_VCORES) and vcoreid != 0:
        return -EINVAL
    kind, arg = _event_args(t, msg, kind)
    delivered = deliver_event(t.process, vcoreid, kind, arg, flags or layout.EVENT_IPI)
    return 0 if delivered else -EAGAIN


def sys_send_event(t: Thread, pid: int, msg: int, vcoreid: int, flags: int) -> int:
    vcoreid, flags = vcoreid & U32, flags & U32
    target = _target(t, pid)
    if target is None or of(target) is None:
        return -ESRCH
    if vcoreid >= max(of(target).info.u64(layout.PI_MAX_VCORES), 1):
        return -EINVAL
    kind, arg = _event_args(t, msg, 0)
    delivered = deliver_event(target, vcoreid, kind, arg, flags or layout.EVENT_IPI | layout.EVENT_WAKEUP)
    return 0 if delivered else -EAGAIN


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
        state.save_uthread_ctx(vcoreid, registers)
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
    """Hand the caller's core to preempted vcore ``vcoreid``; the caller's context is saved in
    its uthread_ctx and its vcore goes inactive."""
    state, mine = of(t.process), vcore_of(t)
    if mine is None or vcoreid not in state.preempted:
        return -EINVAL
    registers = t.context.user_registers()
    registers["rax"] = 0
    state.save_uthread_ctx(mine, registers)
    if enable_my_notif:
        state.data.set_u8(state.vcpd(mine, layout.VCPD_NOTIF_DISABLED), 0)
    core = state.pcore.pop(mine, None)
    state.online.pop(mine)
    state.publish_vcore(mine, None)
    state.inactive.append(mine)
    state.inactive.remove(vcoreid)
    t.context = new_context(t.kernel, state.preempted.pop(vcoreid))
    state.set_flag(vcoreid, layout.VC_PREEMPTED, False)
    t.data["vcore"] = vcoreid
    t.tag = f"vc{vcoreid}"
    state.online[vcoreid] = t
    state.pcore[vcoreid] = core
    state.publish_vcore(vcoreid, core if core is not None else 0)
    t.stop_requested = True
    return None


def sys_waitpid(t: Thread, pid: int, status: int, options: int) -> int | None:
    return linux.sys_wait4(t, pid, status, options, 0)


def sys_nanosleep(t: Thread, request: int, remaining: int) -> int | None:
    return linux.sys_nanosleep(t, request, remaining)
