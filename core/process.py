"""Processes and threads, with Akaros's process state machine."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING, Any

import attrs

from kernkit.core.errors import KernelPanic

if TYPE_CHECKING:
    from kernkit.core.files import FileTable
    from kernkit.core.records import Syscall, SyscallTable
    from kernkit.core.vm import AddressSpace


class ProcState(enum.Enum):
    __hash__ = object.__hash__  # members are singletons; Enum's own hash is slow Python code

    CREATED = "CREATED"
    RUNNABLE_S = "RUNNABLE_S"
    RUNNING_S = "RUNNING_S"
    WAITING = "WAITING"
    DYING = "DYING"
    DYING_ABORT = "DYING_ABORT"
    RUNNABLE_M = "RUNNABLE_M"
    RUNNING_M = "RUNNING_M"


S = ProcState
#: Legal transitions (kern/include/process.h in Akaros); anything else is a kernel panic.
TRANSITIONS: dict[ProcState, frozenset[ProcState]] = {
    S.CREATED: frozenset({S.RUNNABLE_S, S.DYING}),
    S.RUNNABLE_S: frozenset({S.RUNNING_S, S.DYING}),
    S.RUNNING_S: frozenset({S.RUNNABLE_S, S.RUNNABLE_M, S.WAITING, S.DYING}),
    S.WAITING: frozenset({S.RUNNABLE_S, S.RUNNING_S, S.RUNNABLE_M, S.DYING}),
    S.RUNNABLE_M: frozenset({S.RUNNING_M, S.DYING}),
    S.RUNNING_M: frozenset({S.RUNNABLE_S, S.RUNNABLE_M, S.WAITING, S.DYING}),
    S.DYING: frozenset({S.DYING_ABORT}),
    S.DYING_ABORT: frozenset(),
}


class ThreadState(enum.Enum):
    __hash__ = object.__hash__

    RUNNABLE = "runnable"
    RUNNING = "running"
    BLOCKED = "blocked"
    EXITED = "exited"


# Plain names for the members: attribute access on an Enum class is slow Python code (3.11).
T = ThreadState
RUNNABLE, RUNNING, BLOCKED, EXITED = T.RUNNABLE, T.RUNNING, T.BLOCKED, T.EXITED
CREATED, RUNNABLE_S, RUNNING_S, WAITING = S.CREATED, S.RUNNABLE_S, S.RUNNING_S, S.WAITING
DYING, DYING_ABORT = S.DYING, S.DYING_ABORT


@attrs.define(eq=False)
class Thread:
    """A schedulable context of a process: its saved CPU state and where it stands."""

    tid: int
    process: Process
    context: Any  # the architecture's CpuContext
    state: ThreadState = ThreadState.RUNNABLE
    core: int | None = None
    #: Set while the thread sleeps with a timeout; a wake-up clears it, so a stale timer is ignored.
    wait_token: object | None = None
    #: The kernel timer of that timeout (cancelled by an earlier wake-up).
    wake_timer: int | None = None
    #: The wait queue the thread sleeps in, if any (a WaitQueue).
    waiting_on: Any = None
    #: Set by a syscall handler that needs the CPU loop to stop after the call returns.
    stop_requested: bool = False
    #: Work the personality must do before the thread next runs user code (a signal to deliver):
    #: see :meth:`kernkit.core.kernel.Kernel.want_user_work`.
    user_work: bool = False
    instructions: int = 0
    #: Virtual time (ns) this thread has reached; it never runs or reads the clock before it.
    clock: int = 0
    #: A short label its personality gives the thread (an Akaros vcore: ``vc1``), for the
    #: monitor and debuggers.
    tag: str | None = None
    #: The cores the thread may run on, a bit per core (``sched_setaffinity``); None: any.
    #: Inherited by the threads and processes it creates; schedulers honour it.
    affinity: int | None = None
    #: Free for personalities (e.g. clear_child_tid); keyed by plugin-chosen names.
    data: dict[str, Any] = attrs.field(factory=dict)

    @property
    def kernel(self) -> Any:
        return self.process.kernel

    def may_run_on(self, core: int) -> bool:
        return self.affinity is None or bool(self.affinity >> core & 1)

    def __repr__(self) -> str:
        return f"<Thread {self.process.pid}.{self.tid} {self.state.value}>"


def _child_events(process: Process) -> Any:
    from kernkit.core.wait import WaitQueue  # wait needs this module's states: import late

    return WaitQueue(process.kernel)


@attrs.define(eq=False)
class Process:
    """A process: an address space, threads, files and a personality (syscall table)."""

    pid: int
    name: str
    kernel: Any
    parent: Process | None
    personality: SyscallTable
    syscall_map: dict[int, Syscall]
    aspace: AddressSpace | None = None
    files: FileTable | None = None
    state: ProcState = ProcState.CREATED
    threads: list[Thread] = attrs.field(factory=list)
    children: list[Process] = attrs.field(factory=list)
    exit_status: int | None = None
    #: The signal that ended the process, if one did.
    term_signal: int | None = None
    #: Why the process was killed (a fault report line), or None for a normal exit.
    kill_reason: str | None = None
    argv: list[str] = attrs.field(factory=list)
    image: Any = None
    data: dict[str, Any] = attrs.field(factory=dict)
    #: Threads of this process waiting for a child to change state (wait4, waitpid).
    child_events: Any = attrs.field(default=attrs.Factory(_child_events, takes_self=True))
    #: A multi-core process (Akaros MCP): its personality, not its threads, decides its state.
    mcp: bool = False
    #: Instructions retired by all its threads so far, those that ended included (CPU time).
    instructions: int = 0
    #: ``(at, callback)``: ``callback()`` runs once ``instructions`` reaches ``at`` (a CPU-time
    #: timer; see :meth:`kernkit.core.kernel.Kernel.set_cpu_alarm`), checked after each run.
    cpu_alarm: tuple[int, Any] | None = None

    def set_state(self, new: ProcState) -> None:
        """Move to ``new``; an illegal transition is a kernel panic."""
        if new is self.state:
            return
        if new not in TRANSITIONS[self.state]:
            raise KernelPanic(
                f"illegal process state transition {self.state.value} -> {new.value} "
                f"for pid {self.pid} ({self.name})",
                report=self.describe(),
            )
        old, self.state = self.state, new
        if self.kernel.tracing:  # .value of an enum member is slow: only when it is needed
            self.kernel.trace_event("state", self, **{"from": old.value, "to": new.value})

    def describe(self) -> str:
        parent = self.parent.pid if self.parent else 0
        return f"pid {self.pid} name {self.name} state {self.state.value} parent {parent}"

    @property
    def alive(self) -> bool:
        return self.state is not DYING and self.state is not DYING_ABORT

    def refresh_state(self) -> None:
        """Derive the single-core process state from its threads (RUNNING, RUNNABLE or WAITING)."""
        current = self.state
        if current is DYING or current is DYING_ABORT or self.mcp:
            return
        runnable = blocked = False
        for thread in self.threads:
            state = thread.state
            if state is RUNNING:
                if current is not RUNNING_S:
                    self.set_state(RUNNING_S)
                return
            if state is RUNNABLE:  # a test and a store, not an `or` evaluated for every thread
                runnable = True
            elif state is BLOCKED:
                blocked = True
        if runnable:
            if current is not CREATED and current is not RUNNABLE_S:
                self.set_state(RUNNABLE_S)
        elif blocked and current is not WAITING:
            self.set_state(WAITING)
