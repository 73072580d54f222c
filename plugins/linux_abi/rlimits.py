"""Resource limits: prlimit64, getrlimit, setrlimit, kept per process and inherited at fork.

RLIMIT_NOFILE is the size of the descriptor table; RLIMIT_STACK the size of the stack region a
program gets at execve; RLIMIT_CORE decides whether a core signal's death reports a core dump.
Others are kept and reported."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.errnos import EINVAL, EPERM, ESRCH
from kernkit.core.state import Slot

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

INFINITY = (1 << 64) - 1
(RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_DATA, RLIMIT_STACK, RLIMIT_CORE, RLIMIT_RSS, RLIMIT_NPROC,
 RLIMIT_NOFILE, RLIMIT_MEMLOCK, RLIMIT_AS, RLIMIT_LOCKS, RLIMIT_SIGPENDING, RLIMIT_MSGQUEUE,
 RLIMIT_NICE, RLIMIT_RTPRIO, RLIMIT_RTTIME) = range(16)  # fmt: skip
RLIM_NLIMITS = 16
#: The most descriptors a process may have (Linux's fs.nr_open).
NR_OPEN = 1 << 20
KEY: Slot[list[tuple[int, int]]] = Slot("linux.rlimits")
#: The stack region's bounds whatever RLIMIT_STACK says (the option's own maximum above).
MIN_STACK, MAX_STACK = 128 << 10, 1 << 30


def _defaults(process: Process) -> list[tuple[int, int]]:
    """Linux's limits for a new process tree (its INIT_RLIMITS, with the stack from
    ``[linux] stack_size`` and NOFILE from the descriptor table)."""
    limits = [(INFINITY, INFINITY)] * RLIM_NLIMITS
    limits[RLIMIT_STACK] = (process.kernel.config["linux"].stack_size, INFINITY)
    limits[RLIMIT_CORE] = (0, INFINITY)
    limits[RLIMIT_NPROC] = limits[RLIMIT_SIGPENDING] = (4096, 4096)
    files = process.files.limit if process.files is not None else 1024
    limits[RLIMIT_NOFILE] = (files, 4096 if files <= 4096 else files)
    limits[RLIMIT_MEMLOCK] = (8 << 20, 8 << 20)
    limits[RLIMIT_MSGQUEUE] = (819200, 819200)
    limits[RLIMIT_NICE] = limits[RLIMIT_RTPRIO] = (0, 0)
    return limits


def limits(process: Process) -> list[tuple[int, int]]:
    """The process's (soft, hard) limits, inherited at fork (``process.data`` is copied)."""
    found = process.data.get(KEY)
    if found is None:
        parent = process.parent
        found = list(limits(parent)) if parent is not None and KEY in parent.data else _defaults(process)
        process.data[KEY] = found
    return found


def soft_limit(process: Process, resource: int) -> int:
    return limits(process)[resource][0]


def stack_limit(process: Process, default: int) -> int:
    """The stack region a new program gets: the soft RLIMIT_STACK (``default``, the
    ``[linux] stack_size``, when unlimited or never set), at least 128 KiB (or the default,
    if smaller) and at most 1 GiB."""
    soft = soft_limit(process, RLIMIT_STACK) if KEY in process.data else default
    return min(max(default if soft == INFINITY else soft, min(MIN_STACK, default)), MAX_STACK)


def _set(process: Process, resource: int, soft: int, hard: int) -> int:
    if soft > hard:
        return -EINVAL
    if resource == RLIMIT_NOFILE:
        if hard > NR_OPEN:
            return -EPERM
        if process.files is not None:
            process.files.limit = soft
    limits(process)[resource] = (soft, hard)
    return 0


def _target(t: Thread, pid: int) -> Process | None:
    pid &= 0xFFFF_FFFF
    return t.process if pid == 0 else t.kernel.processes.get(pid)


def sys_prlimit64(t: Thread, pid: int, resource: int, new: int, old: int) -> int:
    resource &= 0xFFFF_FFFF
    if resource >= RLIM_NLIMITS:
        return -EINVAL
    process = _target(t, pid)
    if process is None or not process.alive:
        return -ESRCH
    aspace = t.process.aspace
    wanted = struct.unpack("<QQ", aspace.read(new, 16)) if new else None
    previous = limits(process)[resource]
    if wanted is not None:
        result = _set(process, resource, *wanted)
        if result:
            return result
    if old:
        aspace.write(old, struct.pack("<QQ", *previous))
    return 0


def sys_getrlimit(t: Thread, resource: int, out: int) -> int:
    resource &= 0xFFFF_FFFF
    if resource >= RLIM_NLIMITS:
        return -EINVAL
    t.process.aspace.write(out, struct.pack("<QQ", *limits(t.process)[resource]))
    return 0


def sys_setrlimit(t: Thread, resource: int, new: int) -> int:
    resource &= 0xFFFF_FFFF
    if resource >= RLIM_NLIMITS:
        return -EINVAL
    return _set(t.process, resource, *struct.unpack("<QQ", t.process.aspace.read(new, 16)))


SYSCALLS = (
    (97, "getrlimit", sys_getrlimit, 2),
    (160, "setrlimit", sys_setrlimit, 2),
    (302, "prlimit64", sys_prlimit64, 4),
)
