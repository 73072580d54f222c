"""Scheduling policies as Linux programs set and read them (sched_setscheduler, sched_getparam,
the priority ranges, ``chrt``): kept per process, inherited by fork and shown in
/proc/PID/stat, as a nice value is; kernkit's schedulers do not use them (the policy is
``[sched] policy``'s for every thread), so a real-time policy changes nothing here."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import attrs

from kernkit.core.errnos import EFAULT, EINVAL, EPERM, ESRCH
from kernkit.plugins.linux_abi.creds import _set, creds_of

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE = 0, 1, 2, 3, 5, 6
SCHED_RESET_ON_FORK = 0x4000_0000
REAL_TIME = (SCHED_FIFO, SCHED_RR)
POLICIES = (SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE)
#: Linux's static priorities: 1-99 for the real-time policies, 0 for the others.
RT_PRIORITY_MAX = 99


def _target(t: Thread, pid: int) -> Process | int:
    """The process of thread ``pid`` (0: the caller's), or -errno."""
    pid &= 0xFFFF_FFFF
    if pid >= 1 << 31:
        return -EINVAL
    if pid == 0:
        return t.process
    for process in t.kernel.processes.values():
        if process.alive and any(thread.tid == pid for thread in process.threads):
            return process
    return -ESRCH


def _set_policy(t: Thread, pid: int, policy: int | None, param: int) -> int:
    if not param:
        return -EINVAL
    target = _target(t, pid)
    if isinstance(target, int):
        return target
    creds = creds_of(target)
    if policy is None:  # sched_setparam: the current policy
        policy = creds.policy
    reset = policy & SCHED_RESET_ON_FORK
    policy &= ~SCHED_RESET_ON_FORK
    try:
        (priority,) = struct.unpack("<i", t.process.aspace.read(param, 4))
    except OverflowError:
        return -EFAULT
    if policy not in POLICIES:
        return -EINVAL
    if (policy in REAL_TIME) != (1 <= priority <= RT_PRIORITY_MAX) or not 0 <= priority <= RT_PRIORITY_MAX:
        return -EINVAL
    mine = creds_of(t.process)
    if mine.euid != 0 and (policy in REAL_TIME or mine.euid not in (creds.ruid, creds.euid)):
        return -EPERM  # RLIMIT_RTPRIO is 0 for everyone else, as on Linux
    _set(target, attrs.evolve(creds, policy=policy | reset, rt_priority=priority))
    return 0


def forked(child: Process) -> None:
    """A child of a process with SCHED_RESET_ON_FORK starts with the normal policy."""
    creds = creds_of(child)
    if creds.policy & SCHED_RESET_ON_FORK:
        _set(child, attrs.evolve(creds, policy=SCHED_OTHER, rt_priority=0))


def sys_sched_setscheduler(t: Thread, pid: int, policy: int, param: int) -> int:
    policy &= 0xFFFF_FFFF
    return -EINVAL if policy >= 1 << 31 else _set_policy(t, pid, policy, param)


def sys_sched_setparam(t: Thread, pid: int, param: int) -> int:
    return _set_policy(t, pid, None, param)


def sys_sched_getscheduler(t: Thread, pid: int) -> int:
    target = _target(t, pid)
    return target if isinstance(target, int) else creds_of(target).policy


def sys_sched_getparam(t: Thread, pid: int, param: int) -> int:
    if not param:
        return -EINVAL
    target = _target(t, pid)
    if isinstance(target, int):
        return target
    t.process.aspace.write(param, struct.pack("<i", creds_of(target).rt_priority))
    return 0


def sys_sched_get_priority_max(t: Thread, policy: int) -> int:
    policy &= 0xFFFF_FFFF
    if policy in REAL_TIME:
        return RT_PRIORITY_MAX
    return 0 if policy in (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE) else -EINVAL


def sys_sched_get_priority_min(t: Thread, policy: int) -> int:
    policy &= 0xFFFF_FFFF
    if policy in REAL_TIME:
        return 1
    return 0 if policy in (SCHED_OTHER, SCHED_BATCH, SCHED_IDLE, SCHED_DEADLINE) else -EINVAL


SYSCALLS = (
    (142, "sched_setparam", sys_sched_setparam, 2),
    (143, "sched_getparam", sys_sched_getparam, 2),
    (144, "sched_setscheduler", sys_sched_setscheduler, 3),
    (145, "sched_getscheduler", sys_sched_getscheduler, 1),
    (146, "sched_get_priority_max", sys_sched_get_priority_max, 1),
    (147, "sched_get_priority_min", sys_sched_get_priority_min, 1),
)
