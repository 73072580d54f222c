"""Process descriptors: pidfd_open(2), pidfd_send_signal(2), and waitid(P_PIDFD) (children.py).

A pidfd names one process for as long as it is open, so a signal sent through it cannot reach
another process that got the number later. It polls readable (POLLIN) once the process has
exited, and also POLLHUP once it has been reaped. Reading or writing it is EINVAL, as on Linux.
pidfd_send_signal also takes a descriptor of a process's /proc directory (Linux 5.1's pidfds):
a device whose directories stand for processes answers ``process_of(chan)`` with the pid.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import POLLHUP, POLLIN, Chan
from kernkit.core.errnos import EBADF, EINVAL, EMFILE, EPERM, ESRCH
from kernkit.core.wait import wake_pollers
from kernkit.plugins.linux_abi.chanio import O_NONBLOCK
from kernkit.plugins.linux_abi.signals import is_linux, send, send_to
from kernkit.plugins.linux_abi.sigstate import NSIG, SI_TKILL, SI_USER, SigInfo

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

#: pidfd_open's one flag (O_NONBLOCK): waitid(P_PIDFD) says EAGAIN instead of waiting.
PIDFD_NONBLOCK = O_NONBLOCK


class PidFd:
    name = "anon_inode:[pidfd]"

    def __init__(self, process: Process, nonblocking: bool) -> None:
        self.process = process
        self.nonblocking = nonblocking

    @property
    def pid(self) -> int:
        return self.process.pid

    def read(self, thread: Thread, length: int) -> int:
        return -EINVAL

    def write(self, thread: Thread, data: bytes) -> int:
        return -EINVAL

    def poll(self) -> int:
        process = self.process
        if process.alive:
            return 0
        reaped = process.kernel.processes.get(process.pid) is not process
        return POLLIN | (POLLHUP if reaped else 0)

    def close(self) -> None:
        pass

    def is_terminal(self) -> bool:
        return False


def process_exited(kernel: Kernel) -> None:
    """A process ended: pidfds on it poll readable now."""
    wake_pollers(kernel)


def sys_pidfd_open(t: Thread, pid: int, flags: int) -> int:
    pid &= 0xFFFF_FFFF
    if flags & 0xFFFF_FFFF & ~PIDFD_NONBLOCK or pid == 0 or pid >= 1 << 31:
        return -EINVAL
    process = t.kernel.processes.get(pid)  # a zombie too: it is there until it is reaped
    if process is None:
        return -ESRCH
    number = t.process.files.install(PidFd(process, bool(flags & PIDFD_NONBLOCK)), cloexec=True)
    return -EMFILE if number < 0 else number


def target_of(t: Thread, file: Any) -> Process | int:
    """The process a pidfd (or a /proc/PID directory's descriptor) names, or -errno."""
    if isinstance(file, PidFd):
        return file.process
    if type(file) is Chan:
        process_of = getattr(file.driver, "process_of", None)
        pid = process_of(file) if process_of is not None else None
        if pid is not None:
            process = t.kernel.processes.get(pid)
            return process if process is not None else -ESRCH
    return -EBADF


def sys_pidfd_send_signal(t: Thread, pidfd: int, signal: int, uinfo: int, flags: int) -> int:
    signal &= 0xFFFF_FFFF
    if flags & 0xFFFF_FFFF or not 0 <= signal <= NSIG:
        return -EINVAL
    file = t.process.files.get(pidfd)
    if file is None:
        return -EBADF
    process = target_of(t, file)
    if isinstance(process, int):
        return process
    if not process.alive:
        return -ESRCH
    if uinfo:
        raw = t.process.aspace.read(uinfo, 128)
        (signo,) = struct.unpack_from("<i", raw)
        if signo != signal:
            return -EINVAL
        info = SigInfo.from_user(signal, raw)
        if process is not t.process and (info.code >= 0 or info.code == SI_TKILL):
            return -EPERM  # only the kernel and kill() say they are the kernel or kill()
    else:
        info = SigInfo(signal, SI_USER, pid=t.process.pid)
    if signal:
        if is_linux(process):
            send(process, info)
        else:
            send_to(process, signal, t.process)
    return 0


SYSCALLS = (
    (424, "pidfd_send_signal", sys_pidfd_send_signal, 4),
    (434, "pidfd_open", sys_pidfd_open, 2),
)
