"""Creating and replacing processes and threads: clone, fork, vfork, execve, wait4.

fork shares the parent's memory copy-on-write (see core/vm.py); vfork and clone with CLONE_VM
give the child the parent's address space itself, and with CLONE_VFORK the parent waits until
the child execs or exits, as on Linux."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING

from kernkit.core.devices import DeviceError
from kernkit.core.errnos import E2BIG, EINVAL, ENOENT, ENOMEM, errno_of
from kernkit.core.errors import OutOfMemory, ProgramError
from kernkit.core.state import Slot
from kernkit.core.wait import WaitQueue
from kernkit.plugins.linux_abi import itimers, jobs, locks, schedpolicy, signals
from kernkit.plugins.linux_abi.children import DEATH_SIGNAL, EXIT_SIGNAL
from kernkit.plugins.ns.api import NamespaceProgram, enter
from kernkit.plugins.ns.api import lookup_program as ns_lookup_program

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_VFORK, CLONE_THREAD, CLONE_SETTLS = 0x4000, 0x10000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x100000, 0x200000, 0x1000000
CLONE_NEWNS = 0x20000
CSIGNAL = 0xFF
#: The queue a vfork child's parent waits on, in the child's data.
VFORK: Slot[WaitQueue] = Slot("linux.vfork")
MAX_ARGS = 4096


def sys_clone(t: Thread, flags: int, stack: int, parent_tid: int, child_tid: int, tls: int) -> int | None:
    if flags & CLONE_THREAD:
        if not flags & CLONE_VM or not flags & CLONE_SIGHAND:
            return -EINVAL
        child = t.kernel.clone_thread(t, stack or t.context.sp, tls if flags & CLONE_SETTLS else None)
        tid = child.tid
        if flags & CLONE_CHILD_CLEARTID:
            child.data["clear_child_tid"] = child_tid
    else:  # a new process: memory shared copy-on-write, or itself with CLONE_VM (vfork)
        try:
            process = t.kernel.fork(t, share_memory=bool(flags & CLONE_VM))
        except OutOfMemory:
            return -ENOMEM
        VFORK.pop(process)  # a vfork child's own children do not release its parent
        if flags & CLONE_VM:
            process.data["brk"] = t.process.data["brk"]  # one heap, as the memory is one
        child = process.threads[0]
        process.data[EXIT_SIGNAL] = flags & CSIGNAL
        process.data.pop(DEATH_SIGNAL, None)  # a parent-death signal is not inherited
        schedpolicy.forked(process)
        if flags & CLONE_NEWNS:
            enter(process).unshare()
        if stack:
            child.context.sp = stack
        if flags & CLONE_SETTLS:
            child.context.set_tls_base(tls)
        tid = process.pid
    signals.on_clone(t, child, new_process=not flags & CLONE_THREAD)
    if flags & CLONE_PARENT_SETTID:
        t.process.aspace.write(parent_tid, struct.pack("<I", tid))
    if flags & CLONE_CHILD_SETTID:
        child.process.aspace.write(child_tid, struct.pack("<I", tid))
    if flags & CLONE_VFORK and not flags & CLONE_THREAD:
        # the parent waits until the child execs or exits; then clone returns the child's pid
        queue = VFORK.set(child.process, WaitQueue(t.kernel))
        queue.sleep(t)
        return None
    return tid


def release_vfork_parent(process: Process) -> None:
    """``process`` exec'd or exited: the parent that vforked it goes on (its vfork returns)."""
    queue = VFORK.pop(process)
    if queue is not None:
        queue.wake(1, process.pid)


def sys_fork(t: Thread) -> int:
    return sys_clone(t, 17, 0, 0, 0, 0)  # SIGCHLD as the exit signal, nothing shared


def sys_vfork(t: Thread) -> int | None:
    return sys_clone(t, CLONE_VM | CLONE_VFORK | 17, 0, 0, 0, 0)


def c_strings(t: Thread, array: int) -> list[str]:
    """A NULL-terminated array of C strings in guest memory (argv, envp)."""
    out: list[str] = []
    aspace = t.process.aspace
    while array:
        pointer = aspace.read_u64(array + 8 * len(out))
        if not pointer:
            return out
        if len(out) >= MAX_ARGS:
            raise OverflowError
        out.append(_cstring(t, pointer))
    return out


def _cstring(t: Thread, address: int, limit: int = 131072) -> str:
    data = bytearray()
    while len(data) < limit:
        chunk = t.process.aspace.read(address + len(data), 256 - (address + len(data)) % 256)
        end = chunk.find(b"\0")
        if end >= 0:
            return (data + chunk[:end]).decode("utf-8", "surrogateescape")
        data += chunk
    raise OverflowError


def find_program(t: Thread, name: str) -> NamespaceProgram | Path | None:
    """The program ``name`` names in the caller's namespace (or ``[linux] exec_path``), or None;
    a bare file name is also looked for in /bin (for personalities whose processes start
    programs by their argv[0], as Akaros's proc_create does)."""
    program = lookup_program(t, name)
    if isinstance(program, int) and "/" not in name and name:
        program = lookup_program(t, f"/bin/{name}")
    return None if isinstance(program, int) else program


def lookup_program(t: Thread, name: str) -> NamespaceProgram | Path | int:
    """The program ``name`` names in the caller's namespace, or a negative errno; a file name
    the namespace lacks is also looked for in ``[linux] exec_path`` (host directories)."""
    try:
        return ns_lookup_program(t.process, name)
    except DeviceError as exc:
        error = -errno_of(exc.code)
        if exc.code != "ENOENT":
            return error
    base = Path(name).name
    for directory in t.kernel.config["linux"].exec_path:
        candidate = Path(directory) / base
        if base and candidate.is_file():
            return candidate
    return error


def sys_execve(t: Thread, path: int, argv: int, envp: int) -> int | None:
    try:
        name, args, env = _cstring(t, path, 4096), c_strings(t, argv), c_strings(t, envp)
    except OverflowError:
        return -E2BIG
    if not name:
        return -ENOENT
    args = args or [""]  # Linux 5.18 on: a program always has an argv[0]
    program = lookup_program(t, name)
    if isinstance(program, int):
        return program
    signals.keeping_at_exec(t)  # for a program of another personality to start with
    try:
        t.kernel.exec(t, program, args, env, name)
    except ProgramError as exc:
        return -errno_of(exc.errno)
    finally:
        t.process.data.pop(signals.EXEC_KEEPS, None)
    locks.close_on_exec(t)
    signals.on_exec(t)
    jobs.on_exec(t.process)
    itimers.on_exec(t.process)
    release_vfork_parent(t.process)
    t.process.name = name.rsplit("/", 1)[-1][:32] or t.process.name  # Linux's comm: the file's name
    loaded = t.process.image.file
    enter(t.process).exe = loaded.chan if isinstance(loaded, NamespaceProgram) else None
    return None
