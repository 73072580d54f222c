"""Process groups, sessions and the controlling terminal (#cons): what job-control shells use.

Every process has a process group and a session (a :class:`Job` under a slot), inherited at
fork. The kernel's first process leads session 1 and group 1, whose controlling terminal is the
console; ``kill(-pgid)`` and ``wait4(-pgid)`` reach a group. The console answers the terminal
ioctls (TCGETS, TIOCGPGRP, TIOCGWINSZ, ...) on its files that are the host's terminal, and says
ENOTTY on the others, as the host would for the same program's pipes and files.
"""

from __future__ import annotations

import fcntl
import struct
import termios
from typing import TYPE_CHECKING

from kernkit.core.devices import Chan
from kernkit.core.errnos import EACCES, EINVAL, ENOTTY, EPERM, ESRCH
from kernkit.core.state import Slot

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

KEY: Slot[Job] = Slot("linux.job")
TTY_KEY: Slot[Terminal] = Slot("linux.tty")


class Job:
    """A process's group and session; ``execed`` after an execve (setpgid then refuses)."""

    __slots__ = ("pgid", "sid", "execed")

    def __init__(self, pgid: int, sid: int, execed: bool = False) -> None:
        self.pgid = pgid
        self.sid = sid
        self.execed = execed

    def __copy__(self) -> Job:
        return Job(self.pgid, self.sid)  # a forked child has not exec'd yet


def job(process: Process) -> Job:
    found = process.data.get(KEY)
    if found is None:
        parent = process.parent
        if parent is not None and parent.alive:
            inherited = job(parent)
            found = Job(inherited.pgid, inherited.sid)
        else:
            found = Job(process.pid, process.pid)
        process.data[KEY] = found
    return found


def group_members(t: Thread, pgid: int) -> list[Process]:
    """The processes of group ``pgid`` (0: the caller's), zombies included."""
    pgid = pgid or job(t.process).pgid
    return [p for p in t.kernel.processes.values() if job(p).pgid == pgid]


def in_group(process: Process, pgid: int) -> bool:
    return job(process).pgid == pgid


def orphaned_group(process: Process) -> bool:
    """POSIX: a group no member of which has a parent in another group of the same session
    (no shell there to continue it after a stop)."""
    mine = job(process)
    for member in process.kernel.processes.values():
        if not member.alive or job(member).pgid != mine.pgid:
            continue
        parent = member.parent
        if parent is not None and parent.alive:
            theirs = job(parent)
            if theirs.pgid != mine.pgid and theirs.sid == mine.sid:
                return False
    return True


def on_exec(process: Process) -> None:
    job(process).execed = True


def _signed(value: int) -> int:
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def sys_setpgid(t: Thread, pid: int, pgid: int) -> int:
    pid, pgid = _signed(pid), _signed(pgid)
    if pgid < 0:
        return -EINVAL
    caller = t.process
    target = caller if pid in (0, caller.pid) else t.kernel.processes.get(pid)
    if target is None or (target is not caller and target.parent is not caller):
        return -ESRCH
    mine, theirs = job(caller), job(target)
    if target is not caller:
        if theirs.sid != mine.sid:
            return -EPERM
        if theirs.execed:
            return -EACCES
    if theirs.sid == target.pid:
        return -EPERM  # a session leader stays in its group
    pgid = pgid or target.pid
    if pgid != target.pid and not any(
        job(p).pgid == pgid and job(p).sid == mine.sid for p in t.kernel.processes.values()
    ):
        return -EPERM
    theirs.pgid = pgid
    return 0


def _lookup(t: Thread, pid: int) -> Process | None:
    pid = _signed(pid)
    return t.process if pid == 0 else t.kernel.processes.get(pid)


def sys_getpgid(t: Thread, pid: int) -> int:
    process = _lookup(t, pid)
    return -ESRCH if process is None else job(process).pgid


def sys_getpgrp(t: Thread) -> int:
    return job(t.process).pgid


def sys_getsid(t: Thread, pid: int) -> int:
    process = _lookup(t, pid)
    return -ESRCH if process is None else job(process).sid


def new_session(process: Process) -> int:
    """``process`` leads a new session and group (setsid): its pid, or -EPERM if it leads a
    group already (or its number is some group's)."""
    pid = process.pid
    if any(job(p).pgid == pid for p in process.kernel.processes.values()):
        return -EPERM
    mine = job(process)
    mine.pgid = mine.sid = pid
    return pid


def sys_setsid(t: Thread) -> int:
    return new_session(t.process)


# --- the controlling terminal -------------------------------------------------------------------

TCGETS, TCSETS, TCSETSW, TCSETSF = 0x5401, 0x5402, 0x5403, 0x5404
TIOCSCTTY, TIOCGPGRP, TIOCSPGRP, TIOCGWINSZ, TIOCSWINSZ = 0x540E, 0x540F, 0x5410, 0x5413, 0x5414
TIOCNOTTY, TIOCGSID, FIONREAD = 0x5422, 0x5429, 0x541B
#: Linux's tty_std_termios: iflag ICRNL|IXON, oflag OPOST|ONLCR, cflag B38400|CS8|CREAD|HUPCL,
#: lflag ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN, line 0, the default c_cc.
STD_TERMIOS = struct.pack("<IIIIB", 0x500, 0x5, 0x4BF, 0x8A3B, 0) + bytes(
    [3, 0x1C, 0x7F, 0x15, 4, 0, 1, 0, 0x11, 0x13, 0x1A, 0, 0x12, 0x0F, 0x17, 0x16, 0, 0, 0]
)


class Terminal:
    """The console as a controlling terminal: its session, foreground group and settings."""

    __slots__ = ("sid", "foreground", "termios")

    def __init__(self, sid: int, foreground: int, termios: bytes = STD_TERMIOS) -> None:
        self.sid = sid
        self.foreground = foreground
        self.termios = termios


def _terminal(kernel: Kernel) -> Terminal:
    state = kernel.data.get(TTY_KEY)
    if state is None:
        leader = job(kernel.init) if kernel.init is not None else Job(1, 1)
        state = kernel.data[TTY_KEY] = Terminal(leader.sid, leader.pgid)
    return state


def terminal_ioctl(t: Thread, file: object, request: int, arg: int) -> int | None:
    """The answer to a terminal ioctl on ``file``, or None when ``file`` is not a terminal."""
    if type(file) is not Chan:
        return None
    host_fd = file.driver.terminal(file)
    if host_fd is None:
        return None
    tty, aspace = _terminal(t.kernel), t.process.aspace
    mine = job(t.process)
    if request == TCGETS:
        aspace.write(arg, tty.termios)
    elif request in (TCSETS, TCSETSW, TCSETSF):
        tty.termios = aspace.read(arg, len(STD_TERMIOS))
    elif request == TIOCGWINSZ:
        try:
            size = fcntl.ioctl(host_fd, termios.TIOCGWINSZ, bytes(8))
        except OSError:
            size = struct.pack("<HHHH", 24, 80, 0, 0)
        aspace.write(arg, size)
    elif request == TIOCSWINSZ:
        aspace.read(arg, 8)
    elif request in (TIOCGPGRP, TIOCGSID):
        if mine.sid != tty.sid:
            return -ENOTTY  # not our controlling terminal
        aspace.write(arg, struct.pack("<i", tty.foreground if request == TIOCGPGRP else tty.sid))
    elif request == TIOCSPGRP:
        if mine.sid != tty.sid:
            return -ENOTTY
        (pgid,) = struct.unpack("<i", aspace.read(arg, 4))
        if pgid < 0:
            return -EINVAL
        if not any(job(p).pgid == pgid and job(p).sid == tty.sid for p in t.kernel.processes.values()):
            return -EPERM
        tty.foreground = pgid
    elif request == TIOCSCTTY:
        if mine.sid != t.process.pid:
            return -EPERM
        tty.sid, tty.foreground = mine.sid, mine.pgid
    elif request == TIOCNOTTY:
        return 0 if mine.sid == tty.sid else -ENOTTY
    elif request == FIONREAD:
        aspace.write(arg, struct.pack("<i", 0))
    else:
        return -EINVAL
    return 0


SYSCALLS = (
    (109, "setpgid", sys_setpgid, 2),
    (111, "getpgrp", sys_getpgrp, 0),
    (112, "setsid", sys_setsid, 0),
    (121, "getpgid", sys_getpgid, 1),
    (124, "getsid", sys_getsid, 1),
)
