"""Asynchronous system calls: Akaros's struct syscall, submitted with SYS_submit.

A call that finishes at once is done before the trap returns (SC_DONE, retval, err). A call
that blocks, from a vcore of an MCP, leaves the trap with the call not done: a *kernel task* (a
thread of the process whose context is :class:`SyscallTask`, never run as guest code) waits in
its place. When the task is woken the scheduler runs it like any thread (under the mcp ksched,
on core 0 with the single-core processes: an MCP's cores stay its own); it finishes the call
(running the handler again if the call asked to be restarted), writes the result, sets SC_DONE
and, if the user registered an event queue (SC_UEVENT), sends EV_SYSCALL with the struct
syscall's address. From a single-core process, or for calls that act on the calling vcore
itself, the caller waits for its call as it would for a plain one.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from kernkit.core.errnos import EFAULT, EINTR, EINVAL
from kernkit.core.errors import BadAddress
from kernkit.core.machine import Stop
from kernkit.core.process import BLOCKED, RUNNING, Thread
from kernkit.core.wait import WaitQueue
from kernkit.plugins.akaros_abi import layout
from kernkit.plugins.akaros_abi.events import EventMsg, send_event
from kernkit.plugins.akaros_abi.vcores import vcore_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process

#: Calls that act on the calling vcore (or its thread) itself: they run on the caller, in place.
ON_CALLER = frozenset({7, 8, 12, 13, 14, 27, 29, 35, 37, layout.SYS_SUBMIT})
MAX_BATCH = 64
U64 = (1 << 64) - 1
_FLAGS_EVQ = struct.Struct("<QQ")  # at SC_FLAGS: flags, ev_q
_RESULT = struct.Struct("<iqQ")  # at offset 4: err, retval, flags
#: Process data key: a kernel task whose call finished at once, kept for the next submit.
SPARE = "akaros.sysc_spare"


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


class SyscallTask:
    """The context of a kernel task finishing one struct syscall: what the blocking machinery
    asks of a context (a result, a restart), and ``run_on_core`` to finish the call when the task
    is scheduled."""

    pc = sp = 0

    def __init__(self, kernel: Kernel, address: int, number: int, args: tuple[int, ...]) -> None:
        self.kernel = kernel
        self.address = address
        self.number = number
        self.args = args
        self.thread: Thread | None = None
        self.result: int | None = None
        self.restart = False
        #: Threads waiting for this call to finish (a single-core caller), woken with 1.
        self.waiters = WaitQueue(kernel)

    # --- what blocking asks of a context ----------------------------------------------------
    def set_syscall_result(self, value: int) -> None:
        self.result = value

    def restart_syscall(self) -> None:
        self.restart = True

    def registers(self) -> dict[str, int]:
        return {}

    def user_registers(self) -> dict[str, int]:
        return {}

    def tls_base(self) -> int:
        return 0

    def live_instructions(self) -> int:
        return 0

    # --- running the call ---------------------------------------------------------------------
    def dispatch(self) -> int | None:
        """Run the call's handler for the task; its result, or None if it blocked."""
        thread = self.thread
        self.restart, self.result = False, None
        result = self.kernel.dispatcher.dispatch(thread, self.number, lambda n: self.args[:n])
        if thread.state is BLOCKED:
            return None
        return result if result is not None else self.result

    def run_on_core(self, core: int, budget: int, limit: int | None = None) -> Stop:
        """The task was woken: finish the call (running it again if it restarts), or wait again
        (no guest code runs: the budget and the limit do not matter)."""
        thread = self.thread
        result = self.dispatch() if self.restart else self.result
        if thread.state is BLOCKED:
            return Stop("syscall", 0)
        process = thread.process
        finish(process, self.address, -EINVAL if result is None else result, progressed=True)
        self.waiters.wake(len(self.waiters), 1)
        self.kernel.end_thread(thread)
        return Stop("syscall", 0)


def finish(process: Process, address: int, result: int, progressed: bool = False) -> None:
    """Write a finished call's result into its struct syscall, set SC_DONE, and send EV_SYSCALL
    if the user asked for it. A struct that is no longer writable just loses the result."""
    if not process.alive:
        return
    aspace = process.aspace
    result = _signed(result & U64)
    err = -result if -4096 < result < 0 else 0
    try:  # flags and ev_q in one read; err, retval and the flags in one write
        flags, ev_q = _FLAGS_EVQ.unpack(aspace.read(address + layout.SC_FLAGS, _FLAGS_EVQ.size))
        flags |= layout.SC_DONE | (layout.SC_PROGRESS if progressed else 0)
        aspace.write(address + 4, _RESULT.pack(err, result, flags))
    except BadAddress:
        process.kernel.trace_event("sysc_lost", process, sysc=address)
        return
    if flags & layout.SC_UEVENT and ev_q:
        send_event(process, ev_q, EventMsg(layout.EV_SYSCALL, ev_arg3=address))


def _new_task(thread: Thread, address: int, number: int, args: tuple[int, ...]) -> SyscallTask:
    """A kernel task for the call: the process's spare one (left by a call that finished at
    once, untouched by it) or a new one."""
    kernel = thread.kernel
    task = thread.process.data.pop(SPARE, None)
    if task is not None and task.thread.process is thread.process:  # not a fork's copy
        task.address, task.number, task.args = address, number, args
        task.thread.clock = kernel.thread_now(thread)
        return task
    task = SyscallTask(kernel, address, number, args)
    task.thread = Thread(
        tid=kernel.new_id(),
        process=thread.process,
        context=task,
        state=RUNNING,
        clock=kernel.thread_now(thread),
        tag="sysc",
    )
    return task


def _keep(process: Process, task: SyscallTask) -> None:
    """Keep the task of a call that finished at once for the process's next submit, when the
    call left its thread as it found it (no signal state, sleep or stop on it): a submit then
    costs no new thread, task and wait queue. One that changed it is dropped, as before."""
    thread = task.thread
    if (
        thread.state is RUNNING
        and not thread.data
        and thread.waiting_on is None
        and thread.wake_timer is None
        and not thread.stop_requested
        and not thread.user_work
        and thread.core is None
        and not task.waiters
    ):
        process.data[SPARE] = task


def _submit_one(t: Thread, address: int) -> bool | None:
    """Run the struct syscall at ``address``: True when it is done, False when a kernel task
    finishes it later, None when the caller must wait for it (or the call took the caller)."""
    number, _, _, _, _, _, *args = layout.SYSCALL.unpack(t.process.aspace.read(address, layout.SYSCALL.size))
    args = tuple(a & U64 for a in args)
    kernel = t.kernel
    if number in ON_CALLER:
        result = kernel.dispatcher.dispatch(t, number, lambda n: args[:n])
        if result is None:  # it took the caller (a yield, an exit, a restart at vcore_entry)
            return None
        finish(t.process, address, result)
        return True
    task = _new_task(t, address, number, args)
    result = task.dispatch()
    if result is not None:
        finish(t.process, address, result)
        _keep(t.process, task)
        return True
    t.process.threads.append(task.thread)  # waiting: exits and kills see it from now on
    kernel.trace_event("sysc_blocked", t.process, tid=task.thread.tid, nr=number)
    if t.process.mcp and vcore_of(t) is not None:
        return False
    task.waiters.sleep(t)  # a single-core process waits for its call, as for a plain one
    return None


def sys_submit(t: Thread, syscs: int, count: int) -> int | None:
    """SYS_submit(array of struct syscall, count): how many it finished before returning (the
    others finish later, each with SC_DONE); -EFAULT if the first cannot be read."""
    if count > MAX_BATCH:
        return -EINVAL
    done = 0
    for i in range(count):
        address = syscs + i * layout.SYSCALL_SIZE
        try:
            outcome = _submit_one(t, address)
        except BadAddress:
            return done if done else -EFAULT
        if outcome is None:
            return None if t.state is not RUNNING or t.stop_requested else done
        done += outcome
    return done


def sys_abort_sysc(t: Thread, address: int) -> int:
    """SYS_abort_sysc(struct syscall *): end a call of the process that a kernel task is still
    waiting in, with -EINTR (SC_ABORT set), as Akaros aborts a sleeping call. 1 if it was
    aborted, 0 if no such call waits (it finished, or never blocked)."""
    for thread in t.process.threads:
        task = thread.context
        if isinstance(task, SyscallTask) and task.address == address and thread.state is BLOCKED:
            task.restart, task.result = False, -EINTR
            aspace = t.process.aspace
            try:
                flags = int.from_bytes(aspace.read(address + layout.SC_FLAGS, 8), "little") | layout.SC_ABORT
                aspace.write(address + layout.SC_FLAGS, flags.to_bytes(8, "little"))
            except BadAddress:
                pass  # the struct is gone: the call is still ended, its result lost (as finish)
            t.kernel.interrupt(thread)
            t.kernel.trace_event("sysc_aborted", t.process, tid=thread.tid)
            return 1
    return 0


def pending(process: Process) -> list[Any]:
    """The struct syscalls of ``process`` that kernel tasks are still finishing (for tests)."""
    return [t.context for t in process.threads if isinstance(t.context, SyscallTask)]
