"""Signal state of Linux processes and threads: dispositions, masks, pending signals, siginfo.

What is per process (shared by its threads, copied at fork): the actions, the pending set of
process-directed signals, the stop state. What is per thread: the mask, the pending set of
thread-directed signals, the alternate stack, and the bookkeeping of a wait in progress.
"""

from __future__ import annotations

import copy
import struct
from typing import TYPE_CHECKING, Any

import attrs

from kernkit.core.state import Slot

if TYPE_CHECKING:
    from kernkit.core.machine import Fault
    from kernkit.core.process import Process, Thread

NSIG = 64
(SIGHUP, SIGINT, SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGKILL, SIGUSR1, SIGSEGV,
 SIGUSR2, SIGPIPE, SIGALRM, SIGTERM, SIGSTKFLT, SIGCHLD, SIGCONT, SIGSTOP, SIGTSTP, SIGTTIN,
 SIGTTOU, SIGURG, SIGXCPU, SIGXFSZ, SIGVTALRM, SIGPROF, SIGWINCH, SIGIO, SIGPWR,
 SIGSYS) = range(1, 32)  # fmt: skip
SIGRTMIN = 32
SIG_DFL, SIG_IGN = 0, 1
SA_NOCLDSTOP, SA_NOCLDWAIT, SA_SIGINFO = 1, 2, 4
SA_RESTORER, SA_ONSTACK, SA_RESTART, SA_NODEFER, SA_RESETHAND = (
    0x04000000,
    0x08000000,
    0x10000000,
    0x40000000,
    0x80000000,
)
SS_ONSTACK, SS_DISABLE, SS_AUTODISARM = 1, 2, 1 << 31
MINSIGSTKSZ = 2048

# si_code values (Linux)
SI_USER, SI_KERNEL, SI_QUEUE, SI_TIMER, SI_SIGIO, SI_TKILL = 0, 0x80, -1, -2, -5, -6
CLD_EXITED, CLD_KILLED, CLD_DUMPED, CLD_TRAPPED, CLD_STOPPED, CLD_CONTINUED = 1, 2, 3, 4, 5, 6
#: POSIX si_code names (as a core Fault carries them) -> Linux values.
FAULT_CODES = {
    "SEGV_MAPERR": 1, "SEGV_ACCERR": 2,
    "BUS_ADRALN": 1, "BUS_ADRERR": 2, "BUS_OBJERR": 3,
    "ILL_ILLOPC": 1, "ILL_ILLOPN": 2, "ILL_ILLADR": 3, "ILL_PRVOPC": 5,
    "FPE_INTDIV": 1, "FPE_INTOVF": 2, "FPE_FLTDIV": 3, "FPE_FLTOVF": 4, "FPE_FLTUND": 5,
    "FPE_FLTRES": 6, "FPE_FLTINV": 7,
    "TRAP_BRKPT": 1, "TRAP_TRACE": 2,
}  # fmt: skip

UNBLOCKABLE = (1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1))
STOP_SIGNALS = frozenset({SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU})
IGNORED_BY_DEFAULT = frozenset({SIGCHLD, SIGCONT, SIGURG, SIGWINCH})
#: Default action "terminate and dump core" (the core bit in the wait status when RLIMIT_CORE > 0).
CORE_SIGNALS = frozenset(
    {SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE, SIGSEGV, SIGXCPU, SIGXFSZ, SIGSYS}
)
#: Delivered before any other pending signal (the ones a fault raises).
SYNCHRONOUS = frozenset({SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGSYS})
SYNCHRONOUS_MASK = sum(1 << (s - 1) for s in SYNCHRONOUS)

NAMES = {
    SIGHUP: "SIGHUP", SIGINT: "SIGINT", SIGQUIT: "SIGQUIT", SIGILL: "SIGILL", SIGTRAP: "SIGTRAP",
    SIGABRT: "SIGABRT", SIGBUS: "SIGBUS", SIGFPE: "SIGFPE", SIGKILL: "SIGKILL", SIGUSR1: "SIGUSR1",
    SIGSEGV: "SIGSEGV", SIGUSR2: "SIGUSR2", SIGPIPE: "SIGPIPE", SIGALRM: "SIGALRM", SIGTERM: "SIGTERM",
    SIGSTKFLT: "SIGSTKFLT", SIGCHLD: "SIGCHLD", SIGCONT: "SIGCONT", SIGSTOP: "SIGSTOP", SIGTSTP: "SIGTSTP",
    SIGTTIN: "SIGTTIN", SIGTTOU: "SIGTTOU", SIGURG: "SIGURG", SIGXCPU: "SIGXCPU", SIGXFSZ: "SIGXFSZ",
    SIGVTALRM: "SIGVTALRM", SIGPROF: "SIGPROF", SIGWINCH: "SIGWINCH", SIGIO: "SIGIO", SIGPWR: "SIGPWR",
    SIGSYS: "SIGSYS",
}  # fmt: skip


def signal_name(signal: int) -> str:
    return NAMES.get(signal) or (
        f"SIGRTMIN+{signal - SIGRTMIN}" if signal >= SIGRTMIN else f"signal {signal}"
    )


def bit(signal: int) -> int:
    return 1 << (signal - 1)


class SigAction:
    """One signal's disposition (struct kernel_sigaction: handler, flags, restorer, mask)."""

    __slots__ = ("handler", "flags", "restorer", "mask")

    def __init__(self, handler: int = SIG_DFL, flags: int = 0, restorer: int = 0, mask: int = 0) -> None:
        self.handler = handler
        self.flags = flags
        self.restorer = restorer
        self.mask = mask

    def pack(self) -> bytes:
        return struct.pack("<QQQQ", self.handler, self.flags, self.restorer, self.mask)


#: siginfo_t (128 bytes) by the member of its union the fields fill: signo, errno, code, then
#: the member's fields.
_SIGINFO_KILL = struct.Struct("<iii4xiI104x")
_SIGINFO_TIMER = struct.Struct("<iii4xiiQ96x")
_SIGINFO_RT = struct.Struct("<iii4xiIQ96x")
_SIGINFO_CHLD = struct.Struct("<iii4xiIi4xqq80x")
_SIGINFO_FAULT = struct.Struct("<iii4xQ104x")
_SIGINFO_POLL = struct.Struct("<iii4xqi100x")


@attrs.define
class SigInfo:
    """A pending signal and what its siginfo says. ``raw`` holds a siginfo a program supplied
    (rt_sigqueueinfo) as it gave it; otherwise the fields are packed by the signal's kind."""

    signo: int
    code: int = SI_USER
    errno: int = 0
    pid: int = 0
    uid: int = 0
    status: int = 0
    utime: int = 0
    stime: int = 0
    addr: int = 0
    value: int = 0
    timerid: int = 0
    overrun: int = 0
    band: int = 0
    fd: int = 0
    trapno: int = 0
    raw: bytes | None = None
    #: The fault that raised it (reported if it ends the process).
    fault: Fault | None = None
    #: The POSIX timer or interval timer that sent it (re-armed when it is taken).
    timer: Any = None

    def layout(self) -> str:
        """Which member of the siginfo union the fields fill (Linux's siginfo_layout)."""
        code = self.code
        if 0 < code < SI_KERNEL:
            if self.signo in (SIGILL, SIGFPE, SIGSEGV, SIGBUS, SIGTRAP):
                return "fault"
            if self.signo == SIGCHLD:
                return "chld"
            return "poll" if code <= 6 else "kill"
        if code == SI_TIMER:
            return "timer"
        if code == SI_SIGIO:
            return "poll"
        return "rt" if code < 0 else "kill"

    def pack(self) -> bytes:
        """The 128-byte siginfo_t."""
        if self.raw is not None:
            return self.raw[:128].ljust(128, b"\0")
        if self.code == SI_USER:  # kill(): the common case
            return _SIGINFO_KILL.pack(self.signo, self.errno, SI_USER, self.pid, self.uid)
        kind = self.layout()
        head = (self.signo, self.errno, self.code)
        if kind == "kill":
            return _SIGINFO_KILL.pack(*head, self.pid, self.uid)
        if kind == "timer":
            return _SIGINFO_TIMER.pack(*head, self.timerid, self.overrun, self.value)
        if kind == "rt":
            return _SIGINFO_RT.pack(*head, self.pid, self.uid, self.value)
        if kind == "chld":
            return _SIGINFO_CHLD.pack(*head, self.pid, self.uid, self.status, self.utime, self.stime)
        if kind == "fault":
            return _SIGINFO_FAULT.pack(*head, self.addr)
        return _SIGINFO_POLL.pack(*head, self.band, self.fd)

    @classmethod
    def from_user(cls, signo: int, raw: bytes) -> SigInfo:
        """A siginfo a program gave (rt_sigqueueinfo): kept as given, with ``signo`` put in."""
        errno, code = struct.unpack_from("<ii", raw, 4)
        pid, uid, value = struct.unpack_from("<iIQ", raw, 16)
        fixed = struct.pack("<i", signo) + raw[4:128]
        return cls(signo, code, errno=errno, pid=pid, uid=uid, value=value, raw=fixed)


def next_of(ready: int) -> int:
    """The signal of the set ``ready`` (not empty) to take first: a synchronous one, then the
    lowest."""
    chosen = ready & SYNCHRONOUS_MASK or ready
    return (chosen & -chosen).bit_length()


class Pending:
    """Signals generated and not yet taken: a bit per signal, and the siginfo of each in the
    order they came. A standard signal is pending at most once; real-time ones queue."""

    def __init__(self) -> None:
        self.signals = 0
        self.queue: list[SigInfo] = []

    def add(self, info: SigInfo, front: bool = False) -> bool:
        """Queue ``info``; False if it is a standard signal already pending (it merges)."""
        b = 1 << (info.signo - 1)
        if info.signo < SIGRTMIN and self.signals & b:
            return False
        self.signals |= b
        if front:
            self.queue.insert(0, info)
        else:
            self.queue.append(info)
        return True

    def take(self, signal: int) -> SigInfo:
        """Remove the first queued siginfo of ``signal`` (which must be pending)."""
        queue = self.queue
        if queue and queue[0].signo == signal and signal < SIGRTMIN:  # the common case
            self.signals ^= 1 << (signal - 1)
            return queue.pop(0)
        for i, info in enumerate(queue):
            if info.signo == signal:
                del queue[i]
                break
        else:  # pragma: no cover - the bit and the queue are kept together
            info = SigInfo(signal, SI_KERNEL)
        # a standard signal is queued once at most; a real-time one may be there again
        if signal < SIGRTMIN or not any(other.signo == signal for other in queue):
            self.signals &= ~(1 << (signal - 1))
        return info

    def discard(self, mask: int) -> None:
        """Forget every pending signal in ``mask``."""
        if self.signals & mask:
            self.queue = [info for info in self.queue if not bit(info.signo) & mask]
            self.signals &= ~mask

    def find(self, signal: int) -> SigInfo | None:
        return next((info for info in self.queue if info.signo == signal), None)


class ProcessSignals:
    """Per process (under :data:`PROCESS_KEY`)."""

    def __init__(self) -> None:
        self.actions: dict[int, SigAction] = {}
        self.shared = Pending()
        #: Stopped by a stop signal (until SIGCONT); what a waiting parent is yet to be told.
        self.stopped = False
        self.stop_report: int | None = None
        self.continued_report = False
        #: The thread last chosen for a process-directed signal (Linux's curr_target).
        self.target_tid = 0
        #: The siginfo of a kill() to the process itself, by signal (the same every time), and
        #: its 128 bytes.
        self.own_kills: dict[int, tuple[SigInfo, bytes]] = {}
        #: The same for a tkill() or tgkill() of a thread to itself (SI_TKILL).
        self.own_tkills: dict[int, tuple[SigInfo, bytes]] = {}

    def action(self, signal: int) -> SigAction:
        found = self.actions.get(signal)
        return found if found is not None else SigAction()

    def __copy__(self) -> ProcessSignals:
        """The state a forked child starts with: the same actions, nothing pending, running."""
        twin = ProcessSignals()
        twin.actions = {signal: copy.copy(action) for signal, action in self.actions.items()}
        return twin


class ThreadSignals:
    """Per thread (under :data:`THREAD_KEY`)."""

    def __init__(self, mask: int = 0) -> None:
        self.mask = mask
        self.pending = Pending()
        #: The mask to go back to after a call that waits with a temporary one (sigsuspend,
        #: ppoll, pselect6, epoll_pwait): the mask a handler's frame saves.
        self.saved_mask: int | None = None
        #: The alternate signal stack: base, size, flags (SS_DISABLE when there is none).
        self.altstack = (0, 0, SS_DISABLE)
        #: Woken from a blocking call by a signal: the call is settled (EINTR or restart)
        #: before the thread returns to user mode.
        self.interrupted = False
        #: Signals rt_sigtimedwait waits for (they wake the thread though blocked).
        self.waiting = 0
        #: Held by a stop of its process (blocked until SIGCONT).
        self.stopped = False
        #: Frame address -> the frame and its FPU area as written, for handlers still running
        #: (see signals._forget_frames).
        self.frames: dict[int, bytes] = {}


PROCESS_KEY: Slot[ProcessSignals] = Slot("linux.signals")
THREAD_KEY: Slot[ThreadSignals] = Slot("linux.thread_signals")
#: The mask a created process's first thread starts with, until that thread exists (set by
#: :func:`kernkit.plugins.linux_abi.signals.start_with` before the process runs).
FIRST_MASK: Slot[int] = Slot("linux.first_mask")


def of_process(process: Process) -> ProcessSignals:
    state = process.data.get(PROCESS_KEY)  # Slot.of, inlined: called several times a signal
    if state is None:
        state = process.data[PROCESS_KEY] = ProcessSignals()
    return state


def of_thread(thread: Thread) -> ThreadSignals:
    state = thread.data.get(THREAD_KEY)
    if state is None:
        # FIRST_MASK is the first thread's: a later one is cloned, and clone asks its creator first
        state = thread.data[THREAD_KEY] = ThreadSignals(thread.process.data.pop(FIRST_MASK, 0))
    return state
