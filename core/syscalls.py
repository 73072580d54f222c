"""System call dispatch: from an architecture's trap to a personality's handler."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kernkit.core.errors import BadAddress, OutOfMemory
from kernkit.core.machine import Fault

if TYPE_CHECKING:
    from kernkit.core.costs import KernelCosts
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread
    from kernkit.core.records import Syscall

ArgReader = Callable[[int], Sequence[int]]


class SyscallDispatcher:
    """Looks the number up in the thread's personality and calls the handler.

    A bad user pointer (BadAddress) becomes -EFAULT; an unknown number -ENOSYS, counted per
    number in ``unknown``. Any other exception escapes: it is a kernel bug, and becomes a panic.
    """

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.unknown: dict[int, int] = {}
        self.count = 0

    def dispatch(self, thread: Thread, number: int, read_args: ArgReader) -> int | None:
        self.count += 1
        call = thread.process.syscall_map.get(number)
        if call is None:
            return self.unknown_syscall(thread, number)
        try:
            if call.nargs:
                return call.handler(thread, *read_args(call.nargs))
            return call.handler(thread)
        except (BadAddress, OutOfMemory) as error:
            return self.failed(thread, error)

    def failed(self, thread: Thread, error: BaseException) -> int | None:
        """What a call whose handler raised ``error`` returns (BadAddress: -EFAULT; OutOfMemory:
        the process is killed); any other exception is raised again (a kernel bug)."""
        if isinstance(error, BadAddress):
            return -thread.process.personality.errno_fault
        if isinstance(error, OutOfMemory):
            return self.out_of_memory(thread)
        raise error

    def record(self, thread: Thread, call: Syscall, nr: int, args: Sequence[int], ret: int | None) -> None:
        """The trace record of a call an entry dispatched itself: none unless calls are traced."""

    def finished(self, thread: Thread, args: Sequence[int], result: int) -> None:
        """The call ``thread`` slept in completed in its wake (WaitQueue's ``finish``) with
        ``result``, without running again: nothing to do unless calls are traced."""

    def out_of_memory(self, thread: Thread) -> None:
        """The kernel could not find a frame while serving the call: the process dies, as with
        Linux's OOM killer."""
        self.kernel.kill_by_fault(thread, Fault(9, "out of memory", thread.context.pc))

    def unknown_syscall(self, thread: Thread, number: int) -> int:
        self.unknown[number] = self.unknown.get(number, 0) + 1
        self.kernel.trace_event("unknown_syscall", thread.process, tid=thread.tid, nr=number)
        return -thread.process.personality.errno_nosys


class TracingDispatcher(SyscallDispatcher):
    """The same dispatch, with one trace event per call (arguments and result), kept as a
    tuple that the tracer formats with its batch."""

    def dispatch(self, thread: Thread, number: int, read_args: ArgReader) -> int | None:
        self.count += 1
        call = thread.process.syscall_map.get(number)
        if call is None:
            return self.unknown_syscall(thread, number)
        args: Sequence[int] = ()
        try:
            if call.nargs:
                args = read_args(call.nargs)
                result = call.handler(thread, *args)
            else:
                result = call.handler(thread)
        except (BadAddress, OutOfMemory) as error:
            result = self.failed(thread, error)
        self.record(thread, call, number, args, result)
        return result

    def record(self, thread: Thread, call: Syscall, nr: int, args: Sequence[int], ret: int | None) -> None:
        kernel = self.kernel
        if kernel.tracing:  # as trace_event("syscall", ...) would write it, without the dict
            core = thread.core  # the core running the call
            if core is not None and kernel.deterministic:  # Kernel.now(core), inlined
                used = kernel._core_used[core] + kernel.machine.live_instructions(core)
                t = kernel.round_start_ns + used * 1_000_000_000 // kernel.ips
            else:
                t = kernel.now(core)
            kernel.tracer.syscall((t, core, thread.process.pid, thread.tid, call.name, nr, args, ret))

    def finished(self, thread: Thread, args: Sequence[int], result: int) -> None:
        """The completed call's line, as running it again would have written it (stamped with
        the waker's time: that is when it took what it waited for)."""
        kernel = self.kernel
        if not kernel.tracing:
            return
        process = thread.process
        number = thread.context.syscall_number()
        call = process.syscall_map.get(number)
        if call is None:
            return
        at = kernel.now(kernel.active_core)
        kernel.tracer.syscall(
            (at, None, process.pid, thread.tid, call.name, number, args[: call.nargs], result)
        )


class CostingDispatcher:
    """Another dispatcher's dispatch with the cost of entering and leaving the kernel charged to
    the calling thread's core (chosen at boot when the kernel has a cost model, so a kernel
    without one checks nothing per call)."""

    def __init__(self, kernel: Kernel, inner: SyscallDispatcher, costs: KernelCosts) -> None:
        self.kernel = kernel
        self.inner = inner
        self._entry = costs.syscall_entry
        self._exit = costs.syscall_exit

    @property
    def count(self) -> int:
        return self.inner.count

    @property
    def unknown(self) -> dict[int, int]:
        return self.inner.unknown

    def finished(self, thread: Thread, args: Sequence[int], result: int) -> None:
        self.inner.finished(thread, args, result)

    def dispatch(self, thread: Thread, number: int, read_args: ArgReader) -> int | None:
        charge, core = self.kernel.charge_cycles, thread.core
        charge(core, self._entry, "syscall_entry")  # the handler already sees the entry's time
        result = self.inner.dispatch(thread, number, read_args)
        charge(core, self._exit, "syscall_exit")
        return result
