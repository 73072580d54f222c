"""Process and thread syscalls: exit, pids and tids, arch_prctl, set_tid_address, sched_yield."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errnos import EINVAL
from kernkit.core.errors import BadAddress
from kernkit.plugins.linux_abi import futex

if TYPE_CHECKING:
    from kernkit.core.process import Thread

ARCH_SET_GS, ARCH_SET_FS, ARCH_GET_FS, ARCH_GET_GS = 0x1001, 0x1002, 0x1003, 0x1004
ROBUST_LIST_HEAD_SIZE = 24


def sys_exit_group(t: Thread, status: int) -> None:
    t.kernel.exit_process(t.process, status & 0xFF)


def sys_exit(t: Thread, status: int) -> None:
    """End the calling thread; the last one ends the process. A joiner waiting on the thread's
    clear_child_tid word (pthread_join) sees it become 0 and is woken."""
    address = t.data.pop("clear_child_tid", 0)
    if address:
        try:
            t.process.aspace.write(address, bytes(4))
            futex.wake(t, address, 1, private=False)
        except BadAddress:
            pass
    t.kernel.exit_thread(t, status & 0xFF)


def sys_set_robust_list(t: Thread, head: int, length: int) -> int:
    if length != ROBUST_LIST_HEAD_SIZE:
        return -EINVAL
    t.data["robust_list"] = head
    return 0


def sys_getpid(t: Thread) -> int:
    return t.process.pid


def sys_getppid(t: Thread) -> int:
    return t.process.parent.pid if t.process.parent else 0


def sys_gettid(t: Thread) -> int:
    return t.tid


def sys_set_tid_address(t: Thread, tidptr: int) -> int:
    t.data["clear_child_tid"] = tidptr
    return t.tid


def sys_arch_prctl(t: Thread, code: int, addr: int) -> int:
    if code == ARCH_SET_FS:
        t.context.set_tls_base(addr)
        return 0
    if code == ARCH_GET_FS:
        t.process.aspace.write_u64(addr, t.context.tls_base())
        return 0
    return -EINVAL


def sys_sched_yield(t: Thread) -> int:
    t.kernel.yield_core(t)
    return 0
