"""Settings of a thread or process a program may change: prctl (name, parent-death signal,
dumpable, no-new-privs) and CPU affinity (the machine's cores)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.errnos import EFAULT, EINVAL, ESRCH
from kernkit.core.state import Slot
from kernkit.plugins.linux_abi.children import DEATH_SIGNAL

if TYPE_CHECKING:
    from kernkit.core.process import Thread

PR_SET_PDEATHSIG, PR_GET_PDEATHSIG, PR_GET_DUMPABLE, PR_SET_DUMPABLE = 1, 2, 3, 4
PR_SET_NAME, PR_GET_NAME = 15, 16
PR_SET_NO_NEW_PRIVS, PR_GET_NO_NEW_PRIVS = 38, 39
NAME: Slot[bytes] = Slot("linux.comm")
DUMPABLE: Slot[int] = Slot("linux.dumpable")
NO_NEW_PRIVS: Slot[int] = Slot("linux.no_new_privs")


def thread_name(t: Thread) -> bytes:
    return t.data.get(NAME) or t.process.name.encode()[:15]


def sys_prctl(t: Thread, option: int, arg2: int, arg3: int, arg4: int, arg5: int) -> int:
    option &= 0xFFFF_FFFF
    aspace = t.process.aspace
    if option == PR_SET_NAME:
        raw = aspace.read_cstring(arg2, 16)
        name = (raw if raw is not None else aspace.read(arg2, 16))[:15]
        t.data[NAME] = name
        if t.tid == t.process.pid:  # the main thread's name is the process's (reports, /proc)
            t.process.name = name.decode(errors="replace")
        return 0
    if option == PR_GET_NAME:
        aspace.write(arg2, thread_name(t).ljust(16, b"\0"))
        return 0
    if option == PR_SET_PDEATHSIG:
        if arg2 > 64:
            return -EINVAL
        parent = t.process.parent
        t.process.data[DEATH_SIGNAL] = (arg2, parent.pid if parent is not None else 0) if arg2 else None
        return 0
    if option == PR_GET_PDEATHSIG:
        wanted = t.process.data.get(DEATH_SIGNAL)
        aspace.write(arg2, struct.pack("<i", wanted[0] if wanted else 0))
        return 0
    if option == PR_GET_DUMPABLE:
        return t.process.data.get(DUMPABLE, 1)
    if option == PR_SET_DUMPABLE:
        if arg2 not in (0, 1):
            return -EINVAL
        t.process.data[DUMPABLE] = arg2
        return 0
    if option == PR_SET_NO_NEW_PRIVS:
        if arg2 != 1 or arg3 or arg4 or arg5:
            return -EINVAL
        t.process.data[NO_NEW_PRIVS] = 1
        return 0
    if option == PR_GET_NO_NEW_PRIVS:
        return t.process.data.get(NO_NEW_PRIVS, 0)
    return -EINVAL


# --- CPU affinity ----------------------------------------------------------------------------


def _all_cores(t: Thread) -> int:
    return (1 << len(t.kernel.machine.cores)) - 1


def _mask_bytes(t: Thread) -> int:
    """The size of the kernel's CPU mask: whole longs covering the machine's cores."""
    return (len(t.kernel.machine.cores) + 63) // 64 * 8


def _thread(t: Thread, pid: int):  # noqa: ANN202 - a Thread or None
    pid &= 0xFFFF_FFFF
    if pid == 0:
        return t
    for process in t.kernel.processes.values():
        for thread in process.threads:
            if thread.tid == pid:
                return thread
    return None


def sys_sched_getaffinity(t: Thread, pid: int, size: int, out: int) -> int:
    """The cores the thread may run on (the machine's, unless narrowed); returns the mask's size."""
    length = _mask_bytes(t)
    if size < length or size % 8:
        return -EINVAL
    thread = _thread(t, pid)
    if thread is None:
        return -ESRCH
    mask = _all_cores(t) if thread.affinity is None else thread.affinity
    try:
        t.process.aspace.write(out, mask.to_bytes(length, "little"))
    except OverflowError:
        return -EFAULT
    return length


def sys_sched_setaffinity(t: Thread, pid: int, size: int, mask: int) -> int:
    thread = _thread(t, pid)
    if thread is None:
        return -ESRCH
    wanted = int.from_bytes(t.process.aspace.read(mask, min(size, 1 << 12)), "little") & _all_cores(t)
    if not wanted:
        return -EINVAL
    thread.affinity = wanted
    core = thread.core
    if core is not None and thread.kernel.current[core] is thread and not thread.may_run_on(core):
        thread.kernel.yield_core(thread)  # it moves now, as on Linux
    return 0


SYSCALLS = (
    (157, "prctl", sys_prctl, 5),
    (203, "sched_setaffinity", sys_sched_setaffinity, 3),
    (204, "sched_getaffinity", sys_sched_getaffinity, 3),
)
