"""Creating and replacing processes and threads: clone, fork, vfork, execve, wait4."""

from __future__ import annotations

import struct
from pathlib import Path
from typing import TYPE_CHECKING

from kernkit.core.errors import OutOfMemory, ProgramError
from kernkit.core.programs import packaged_programs_dir
from kernkit.plugins.linux_abi.errno import E2BIG, ECHILD, EINVAL, ENOENT, ENOEXEC, ENOMEM

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_VFORK, CLONE_THREAD, CLONE_SETTLS = 0x4000, 0x10000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x100000, 0x200000, 0x1000000
WNOHANG = 1
MAX_ARGS = 4096


def sys_clone(t: Thread, flags: int, stack: int, parent_tid: int, child_tid: int, tls: int) -> int:
    if flags & CLONE_THREAD:
        if not flags & CLONE_VM or not flags & CLONE_SIGHAND:
            return -EINVAL
        child = t.kernel.clone_thread(t, stack or t.context.sp, tls if flags & CLONE_SETTLS else None)
        tid = child.tid
        if flags & CLONE_CHILD_CLEARTID:
            child.data["clear_child_tid"] = child_tid
    else:  # a new process; CLONE_VM without CLONE_THREAD (vfork) gets a copy, which is
        # indistinguishable for the programs vfork is meant for (exec or _exit at once)
        try:
            process = t.kernel.fork(t)
        except OutOfMemory:
            return -ENOMEM
        child = process.threads[0]
        if stack:
            child.context.sp = stack
        if flags & CLONE_SETTLS:
            child.context.set_tls_base(tls)
        tid = process.pid
    if flags & CLONE_PARENT_SETTID:
        t.process.aspace.write(parent_tid, struct.pack("<I", tid))
    if flags & CLONE_CHILD_SETTID:
        child.process.aspace.write(child_tid, struct.pack("<I", tid))
    return tid


def sys_fork(t: Thread) -> int:
    return sys_clone(t, 17, 0, 0, 0, 0)  # SIGCHLD as the exit signal, nothing shared


def _strings(t: Thread, array: int) -> list[str]:
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


def find_program(t: Thread, name: str) -> Path | None:
    """Until the namespace exists, programs are found by file name in ``[linux] exec_path``
    (default: the programs packaged with kernkit)."""
    base = Path(name).name
    directories = t.kernel.config["linux"].exec_path or [str(packaged_programs_dir())]
    for directory in directories:
        candidate = Path(directory) / base
        if base and candidate.is_file():
            return candidate
    return None


def sys_execve(t: Thread, path: int, argv: int, envp: int) -> int | None:
    try:
        name, args, env = _cstring(t, path, 4096), _strings(t, argv), _strings(t, envp)
    except OverflowError:
        return -E2BIG
    program = find_program(t, name)
    if program is None:
        return -ENOENT
    try:
        t.kernel.exec(t, program, args, env)
    except ProgramError as exc:
        return -E2BIG if "argument list too long" in str(exc) else -ENOEXEC
    return None


def _wait_status(process: Process) -> int:
    if process.term_signal is not None:
        return process.term_signal & 0x7F
    return (process.exit_status & 0xFF) << 8


def sys_wait4(t: Thread, pid: int, status: int, options: int, rusage: int) -> int | None:
    pid = pid - (1 << 64) if pid >= 1 << 63 else pid
    if options & ~(WNOHANG | 0x2 | 0x8 | 0x1000000 | 0x20000000 | 0x40000000 | 0x80000000):
        return -EINVAL
    candidates = [c for c in t.process.children if pid <= 0 or c.pid == pid]
    if not candidates:
        return -ECHILD
    done = next((c for c in candidates if not c.alive), None)
    if done is None:
        if options & WNOHANG:
            return 0
        t.process.child_events.sleep(t, restart=True)
        return None
    if status:
        t.process.aspace.write(status, struct.pack("<i", _wait_status(done)))
    if rusage:
        t.process.aspace.write(rusage, bytes(144))
    t.kernel.reap(done)
    return done.pid
