"""Signals, as far as kernkit goes today: kill with default actions; handlers and masks are
recorded (so programs that install them run) but handlers are not yet called."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errnos import EINVAL, ESRCH
from kernkit.core.process import EXITED

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

SIGKILL, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGURG, SIGWINCH = 9, 17, 18, 19, 20, 23, 28
#: Signals whose default action is to do nothing (or, for stop signals, not modelled yet).
IGNORED_BY_DEFAULT = {SIGCHLD, SIGCONT, SIGURG, SIGWINCH, SIGSTOP, SIGTSTP, 21, 22}
SIGSET_SIZE = 8
SIG_IGN = 1


def deliver(t: Thread, process: Process, signal: int) -> None:
    """Apply ``signal``'s action to ``process``: ignored, or the process ends."""
    if signal == 0 or not process.alive:
        return
    handler = process.data.get("sigactions", {}).get(signal)
    if signal != SIGKILL and (
        signal in IGNORED_BY_DEFAULT or (handler is not None and handler[0] == SIG_IGN)
    ):
        return
    t.kernel.kill(process, signal)


def _target(t: Thread, pid: int) -> list[Process] | None:
    pid &= 0xFFFF_FFFF  # a pid_t: the low 32 bits, signed (callers may leave the upper ones 0)
    pid = pid - (1 << 32) if pid >= 1 << 31 else pid
    processes = t.kernel.processes
    if pid > 0:  # a zombie still exists until it is reaped: signalling it does nothing
        return [processes[pid]] if pid in processes else None
    if pid == 0:
        return [t.process]
    if pid == -1:  # everyone we may signal: all but init and the caller, as Linux does
        return [p for p in processes.values() if p.alive and p not in (t.kernel.init, t.process)]
    group = processes.get(-pid)
    return [group] if group is not None else None


def sys_kill(t: Thread, pid: int, signal: int) -> int:
    if not 0 <= signal <= 64:
        return -EINVAL
    targets = _target(t, pid)
    if not targets:
        return -ESRCH
    for process in targets:
        deliver(t, process, signal)
    return 0


def _thread_group(t: Thread, tid: int) -> Process | None:
    """The live process with a live thread ``tid``."""
    for process in t.kernel.processes.values():
        if process.alive and any(th.tid == tid and th.state is not EXITED for th in process.threads):
            return process
    return None


def sys_tkill(t: Thread, tid: int, signal: int) -> int:
    if not 0 <= signal <= 64:
        return -EINVAL
    process = _thread_group(t, tid)
    if process is None:
        return -ESRCH
    deliver(t, process, signal)
    return 0


def sys_tgkill(t: Thread, tgid: int, tid: int, signal: int) -> int:
    if not 0 <= signal <= 64:
        return -EINVAL
    process = _thread_group(t, tid)
    if process is None or process.pid != tgid:
        return -ESRCH
    deliver(t, process, signal)
    return 0


def sys_rt_sigaction(t: Thread, signal: int, action: int, old: int, size: int) -> int:
    if not 1 <= signal <= 64 or size != SIGSET_SIZE or (action and signal in (SIGKILL, SIGSTOP)):
        return -EINVAL
    actions = t.process.data.setdefault("sigactions", {})
    if old:
        previous = actions.get(signal, (0, 0, 0, 0))
        t.process.aspace.write(old, b"".join(v.to_bytes(8, "little") for v in previous))
    if action:
        raw = t.process.aspace.read(action, 32)
        actions[signal] = tuple(int.from_bytes(raw[i : i + 8], "little") for i in range(0, 32, 8))
    return 0


def sys_rt_sigprocmask(t: Thread, how: int, new: int, old: int, size: int) -> int:
    if size != SIGSET_SIZE or how not in (0, 1, 2):
        return -EINVAL
    mask = t.data.get("sigmask", 0)
    if old:
        t.process.aspace.write_u64(old, mask)
    if new:
        value = t.process.aspace.read_u64(new) & ~((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)))
        t.data["sigmask"] = {0: mask | value, 1: mask & ~value, 2: value}[how]
    return 0
