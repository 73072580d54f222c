"""Descriptors for a created process before it runs, as Akaros gives them: ``proc_create`` with
PROC_DUP_FGRP copies the caller's descriptors (those not close-on-exec) into the new process, and
``dup_fds_to`` puts the caller's open files at chosen descriptors of a process it created and has
not yet run (``posix_spawn``'s file actions; a ``fork`` child's ``dup2`` and ``close`` before
``exec``); ``proc_sigstate`` (kernkit's) gives it the signals it starts with blocked and ignored,
which on Linux exec keeps and ``posix_spawn``'s attributes set: in procinfo for an Akaros
program, in the Linux personality's signal state for a Linux one."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.errnos import EBADF, EFAULT, EINVAL, EPERM, ESRCH
from kernkit.core.errors import BadAddress
from kernkit.core.process import ProcState
from kernkit.plugins.akaros_abi import layout
from kernkit.plugins.akaros_abi.state import of
from kernkit.plugins.linux_abi import api as linux

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

#: proc_create's flag: the new process starts with a copy of the caller's descriptors.
PROC_DUP_FGRP = 1
#: struct childfdmap: parentfd, childfd (u32), ok (i32: 0 or -errno, written back).
CHILDFDMAP = struct.Struct("<IIi")
#: A parentfd of -1: close childfd in the child instead (kernkit's, for posix_spawn's addclose).
CLOSE_IN_CHILD = 0xFFFF_FFFF
MAX_ENTRIES = 1024


def dup_fgrp(parent: Process, child: Process) -> None:
    """The child's descriptors become the parent's, less those marked close-on-exec (as an exec
    leaves them)."""
    files = child.files
    files.close_all()
    for fd, file in parent.files:
        if not parent.files.is_cloexec(fd):
            files.install(file, fd)


def _one(parent: Process, child: Process, parentfd: int, childfd: int) -> int:
    files = child.files
    if childfd >= files.limit:
        return -EBADF
    if parentfd == CLOSE_IN_CHILD:
        return 0 if files.close(childfd) else -EBADF
    file = parent.files.get(parentfd)
    if file is None:
        return -EBADF
    files.install(file, childfd)
    return 0


def created_child(t: Thread, pid: int) -> Process | int:
    """The caller's child that has not run yet, or -errno."""
    child = t.kernel.processes.get(pid)
    if child is None or not child.alive:
        return -ESRCH
    if child.parent is not t.process:
        return -EPERM
    if child.state is not ProcState.CREATED:
        return -EINVAL
    return child


def sys_proc_sigstate(t: Thread, pid: int, blocked: int, ignored: int) -> int:
    """SYS_proc_sigstate(pid, blocked, ignored): the signals (bit ``1 << (sig - 1)``) a created
    child starts with blocked and ignored: in its procinfo, read by its libc before main, or for
    a Linux program its mask and dispositions, as a Linux exec leaves them. 0, -ESRCH, -EPERM
    (not the caller's child), -EINVAL (it ran already, or its personality has no signals)."""
    child = created_child(t, pid)
    if isinstance(child, int):
        return child
    state = of(child)
    if state is None:
        return 0 if linux.start_with(child, blocked, ignored) else -EINVAL
    state.info.set_u64(layout.PI_SIG_BLOCKED, blocked & 0xFFFF_FFFF_FFFF_FFFF)
    state.info.set_u64(layout.PI_SIG_IGNORED, ignored & 0xFFFF_FFFF_FFFF_FFFF)
    return 0


def sys_dup_fds_to(t: Thread, pid: int, fdmap: int, nentries: int) -> int:
    """SYS_dup_fds_to(pid, struct childfdmap *, n): each entry's parentfd (the caller's) becomes
    childfd in the child, replacing what was there, in order; each entry's ok says how it went.
    0, or the first entry's error; -ESRCH, -EPERM (not the caller's child), -EINVAL (it ran
    already, or too many entries), -EFAULT."""
    child = created_child(t, pid)
    if isinstance(child, int):
        return child
    if nentries > MAX_ENTRIES:
        return -EINVAL
    aspace = t.process.aspace
    size = CHILDFDMAP.size
    try:
        raw = aspace.read(fdmap, nentries * size) if nentries else b""
    except BadAddress:
        return -EFAULT
    first_error = 0
    for i in range(nentries):
        parentfd, childfd, _ = CHILDFDMAP.unpack_from(raw, i * size)
        ok = _one(t.process, child, parentfd, childfd)
        first_error = first_error or ok
        try:
            aspace.write(fdmap + i * size + 8, ok.to_bytes(4, "little", signed=True))
        except BadAddress:
            return -EFAULT
    return first_error
