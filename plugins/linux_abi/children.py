"""A parent and its children: wait4 and waitid (exits, stops, continues), SIGCHLD on exit,
children reaped at once when the parent ignores SIGCHLD, and their CPU time for getrusage."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.errnos import EAGAIN, EBADF, ECHILD, EINVAL
from kernkit.core.state import Slot
from kernkit.plugins.linux_abi.jobs import job
from kernkit.plugins.linux_abi.pidfd import PidFd
from kernkit.plugins.linux_abi.rlimits import RLIMIT_CORE, soft_limit
from kernkit.plugins.linux_abi.signals import CLOCK_TICKS, is_linux, notify_parent, send_to
from kernkit.plugins.linux_abi.sigstate import (
    CLD_CONTINUED,
    CLD_DUMPED,
    CLD_EXITED,
    CLD_KILLED,
    CLD_STOPPED,
    CORE_SIGNALS,
    SA_NOCLDWAIT,
    SIG_IGN,
    SIGCHLD,
    SIGCONT,
    of_process,
)

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

WNOHANG, WUNTRACED, WEXITED, WCONTINUED, WNOWAIT = 1, 2, 4, 8, 0x1000000
WNOTHREAD, WALL, WCLONE = 0x20000000, 0x40000000, 0x80000000
P_ALL, P_PID, P_PGID, P_PIDFD = 0, 1, 2, 3
#: What a child's exit signal is (clone's low byte; fork: SIGCHLD), and its parent-death signal.
EXIT_SIGNAL: Slot[int] = Slot("linux.exit_signal")
DEATH_SIGNAL: Slot[tuple[int, int] | None] = Slot("linux.pdeathsig")
#: CPU time (instructions) of children reaped by wait, theirs included: RUSAGE_CHILDREN.
CHILDREN_CPU: Slot[int] = Slot("linux.children_instructions")


def core_dumped(process: Process) -> bool:
    """A core signal's default action "dumps core" when RLIMIT_CORE allows (no file is
    written; the wait status says so, as Linux's would)."""
    return process.term_signal in CORE_SIGNALS and soft_limit(process, RLIMIT_CORE) > 0


def wait_status(process: Process) -> int:
    if process.term_signal is not None:
        return (process.term_signal & 0x7F) | (0x80 if core_dumped(process) else 0)
    return (process.exit_status & 0xFF) << 8


def _exit_code(process: Process) -> tuple[int, int]:
    """(CLD_* code, si_status) of a dead child."""
    if process.term_signal is not None:
        return (CLD_DUMPED if core_dumped(process) else CLD_KILLED), process.term_signal
    return CLD_EXITED, process.exit_status & 0xFF


def on_exit(process: Process) -> None:
    """A Linux process ended: its parent is told (its exit signal), or reaps it at once when it
    ignores SIGCHLD (or set SA_NOCLDWAIT); children asking for a signal on its death get it."""
    kernel = process.kernel
    for child in list(kernel.processes.values()):
        wanted = child.data.get(DEATH_SIGNAL)  # (signal, the parent it was asked of)
        if wanted and child.alive and wanted[1] == process.pid:
            send_to(child, wanted[0], None)
    parent = process.parent
    if parent is None or not parent.alive or not is_linux(parent):
        return
    exit_signal = process.data.get(EXIT_SIGNAL, SIGCHLD)
    action = of_process(parent).action(SIGCHLD)
    code, status = _exit_code(process)
    if exit_signal == SIGCHLD and (action.handler == SIG_IGN or action.flags & SA_NOCLDWAIT):
        _account(parent, process)
        if action.handler != SIG_IGN:
            notify_parent(process, code, status)
        kernel.reap(process)  # no zombie: nobody will wait for it
        return
    if exit_signal:
        if exit_signal == SIGCHLD:
            notify_parent(process, code, status)
        else:
            send_to(parent, exit_signal, process)


def _account(parent: Process, child: Process) -> None:
    parent.data[CHILDREN_CPU] = (
        parent.data.get(CHILDREN_CPU, 0) + child.instructions + child.data.get(CHILDREN_CPU, 0)
    )


def _signed(value: int) -> int:
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def _candidates(t: Thread, kind: int, ident: int) -> list[Process]:
    children = t.process.children
    if kind == P_ALL:
        return list(children)
    if kind == P_PID:
        return [c for c in children if c.pid == ident]
    pgid = ident or job(t.process).pgid
    return [c for c in children if job(c).pgid == pgid]


def _event(child: Process, options: int) -> tuple[int, int] | None:
    """(CLD_* code, status) a waiter with ``options`` would collect from ``child`` now."""
    if not child.alive:
        return _exit_code(child) if options & WEXITED else None
    ps = of_process(child) if is_linux(child) else None
    if ps is None:
        return None
    if options & WUNTRACED and ps.stop_report is not None:
        return CLD_STOPPED, ps.stop_report
    if options & WCONTINUED and ps.continued_report:
        return CLD_CONTINUED, SIGCONT
    return None


def _collect(t: Thread, child: Process, code: int, options: int) -> None:
    """The waiter took the event: forget a stop or continue report, reap a dead child."""
    if options & WNOWAIT:
        return
    if code == CLD_STOPPED:
        of_process(child).stop_report = None
    elif code == CLD_CONTINUED:
        of_process(child).continued_report = False
    else:
        _account(t.process, child)
        t.kernel.reap(child)


def _wait(t: Thread, kind: int, ident: int, options: int) -> tuple[Process, int, int] | int | None:
    """(child, code, status) of the first child with something to report, 0 for WNOHANG with
    nothing, -ECHILD, or None: the caller sleeps (the call runs again when a child changes)."""
    candidates = _candidates(t, kind, ident)
    if not candidates:
        return -ECHILD
    for child in candidates:
        event = _event(child, options)
        if event is not None:
            return child, *event
    if options & WNOHANG:
        return 0
    t.process.child_events.sleep(t, restart=True)
    return None


def rusage(instructions: int, ips: int) -> bytes:
    """struct rusage: user time from ``instructions`` (kernel work takes no virtual time)."""
    micros = instructions * 1_000_000 // ips
    return struct.pack("<qqqq", micros // 1_000_000, micros % 1_000_000, 0, 0) + bytes(112)


def sys_wait4(t: Thread, pid: int, status: int, options: int, usage: int) -> int | None:
    pid = _signed(pid)
    if options & ~(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WALL | WCLONE):
        return -EINVAL
    if pid > 0:
        kind, ident = P_PID, pid
    elif pid == -1:
        kind, ident = P_ALL, 0
    else:
        kind, ident = P_PGID, -pid
    found = _wait(t, kind, ident, options | WEXITED)
    if not isinstance(found, tuple):
        return found
    child, code, value = found
    aspace = t.process.aspace
    if status:
        if code == CLD_STOPPED:
            word = 0x7F | (value << 8)
        elif code == CLD_CONTINUED:
            word = 0xFFFF
        else:
            word = wait_status(child)
        aspace.write(status, struct.pack("<i", word))
    if usage:
        aspace.write(usage, rusage(child.instructions, t.kernel.ips))
    _collect(t, child, code, options)
    return child.pid


def sys_waitid(t: Thread, kind: int, ident: int, info: int, options: int, usage: int) -> int | None:
    ident = _signed(ident)
    if kind not in (P_ALL, P_PID, P_PGID, P_PIDFD) or ident < 0:
        return -EINVAL
    nonblocking = False
    if kind == P_PIDFD:  # the process the descriptor names; a non-blocking one never waits
        pidfd = t.process.files.get(ident)
        if not isinstance(pidfd, PidFd):
            return -EBADF
        kind, ident, nonblocking = P_PID, pidfd.pid, pidfd.nonblocking
    if options & ~(WNOHANG | WUNTRACED | WEXITED | WCONTINUED | WNOWAIT | WNOTHREAD | WALL | WCLONE):
        return -EINVAL
    if not options & (WEXITED | WUNTRACED | WCONTINUED):
        return -EINVAL
    found = _wait(t, kind, ident, options | (WNOHANG if nonblocking else 0))
    if found is None or (isinstance(found, int) and found < 0):
        return found
    if found == 0 and nonblocking and not options & WNOHANG:
        return -EAGAIN
    aspace = t.process.aspace
    if not isinstance(found, tuple):  # WNOHANG, nothing to report: a zeroed siginfo
        if info:
            aspace.write(info, bytes(128))
        return 0
    child, code, value = found
    if info:
        ticks = child.instructions * CLOCK_TICKS // t.kernel.ips
        body = struct.pack("<iii4xiIi4xqq", SIGCHLD, 0, code, child.pid, 0, value, ticks, 0)
        aspace.write(info, body.ljust(128, b"\0"))
    if usage:
        aspace.write(usage, rusage(child.instructions, t.kernel.ips))
    _collect(t, child, code, options)
    return 0


SYSCALLS = (
    (61, "wait4", sys_wait4, 4),
    (247, "waitid", sys_waitid, 5),
)
