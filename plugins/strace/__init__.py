"""``strace``: one process traces another's system calls through ``#proc`` (docs/vmm.md).

Writing ``trace`` to ``/proc/PID/strace`` makes the writer PID's tracer; from then on every
system call PID makes adds a line ``PID name(arg, ...)`` to that file, which the tracer reads
as a stream (a read at the end waits for more; end of file once PID is gone). ``off`` stops it.

A tracer waiting for a line is woken the way Akaros restarts a blocked kernel thread: a routine
``__launch_kthread`` message to the core where the traced call was made, which runs there *for
the tracer* -- that core's ``cur_proc`` becomes the tracer while its ``owning_proc`` stays the
traced process. This is the situation of the bug docs/vmm.md describes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kernkit.core.devices import DeviceError, WouldBlock
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import ProcFile
from kernkit.core.state import Slot
from kernkit.core.wait import WaitQueue

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

TRACEE: Slot[Tracee] = Slot("strace.tracee")


class Tracee:
    __slots__ = ("tracer", "log", "readers", "untraced", "waking")

    def __init__(
        self,
        tracer: Process,
        log: bytearray,
        readers: WaitQueue,
        untraced: dict,
        waking: bool = False,
    ) -> None:
        self.tracer = tracer
        self.log = log
        self.readers = readers
        self.untraced = untraced
        #: A __launch_kthread message is on its way (one at a time is enough).
        self.waking = waking


def tracee(process: Process) -> Tracee | None:
    return TRACEE.get(process)


def _record(kernel: Kernel, thread: Thread, name: str, args: tuple) -> None:
    state = tracee(thread.process)
    if state is None:
        return
    state.log += f"{thread.process.pid} {name}({', '.join(hex(a) for a in args)})\n".encode()
    if state.readers and not state.waking:
        core = thread.core if thread.core is not None else kernel.active_core
        if core is None:
            state.readers.wake(len(state.readers))
            return
        state.waking = True
        kernel.send_kmsg(core, "__launch_kthread", lambda: _launch(kernel, state, core))


def _launch(kernel: Kernel, state: Tracee, core: int) -> None:
    """The tracer's blocked read restarts on the traced call's core: the core acts for the
    tracer (cur_proc) while it still belongs to the traced process (owning_proc)."""
    state.waking = False
    kernel.cur_proc[core] = state.tracer
    kernel.trace_event("kthread", state.tracer, pcore=core, what="strace read")
    state.readers.wake(len(state.readers))


def _traced(kernel: Kernel, call):  # noqa: ANN001, ANN202
    handler, name = call.handler, call.name

    def traced(thread: Thread, *args: int) -> int | None:
        _record(kernel, thread, name, args)
        return handler(thread, *args)

    return attrs.evolve(call, handler=traced)


def start(kernel: Kernel, process: Process, tracer: Process) -> None:
    if tracee(process) is not None:
        raise DeviceError("EBUSY", f"pid {process.pid} is already traced")
    if tracer is process:
        raise DeviceError("EINVAL", "a process cannot trace itself")
    untraced = process.syscall_map
    TRACEE.set(process, Tracee(tracer, bytearray(), WaitQueue(kernel), untraced))
    process.syscall_map = {nr: _traced(kernel, call) for nr, call in untraced.items()}
    kernel.trace_event("strace", process, tracer=tracer.pid)


def stop(kernel: Kernel, process: Process) -> None:
    state = TRACEE.pop(process)
    if state is not None:
        process.syscall_map = state.untraced
        state.readers.wake(len(state.readers))


def write_strace(kernel: Kernel, process: Process, data: bytes) -> None:
    word = data.strip()
    if word == b"trace":
        core = kernel.active_core
        caller = kernel.current[core] if core is not None else None
        if caller is None:
            raise DeviceError("EPERM", "no calling process")
        start(kernel, process, caller.process)
    elif word == b"off":
        stop(kernel, process)
    else:
        raise DeviceError("EINVAL", f"strace: expected 'trace' or 'off', got {word[:32]!r}")


def read_strace(kernel: Kernel, process: Process) -> bytes:
    state = tracee(process)
    return bytes(state.log) if state is not None else b""


def read_strace_at(kernel: Kernel, process: Process, count: int, offset: int) -> bytes:
    state = tracee(process)
    if state is None:
        return b""
    if offset < len(state.log):
        return bytes(state.log[offset : offset + count])
    if not process.alive:
        return b""
    raise WouldBlock(state.readers)


@hookimpl
def kernkit_register_proc_files() -> list[ProcFile]:
    return [
        ProcFile(
            "strace",
            read_strace,
            write_strace,
            "the process's system calls, for the process that wrote 'trace' here",
            read_at=read_strace_at,
        )
    ]


@hookimpl
def kernkit_process_exited(kernel: Kernel, process: Process) -> None:
    state = tracee(process)
    if state is not None:
        state.readers.wake(len(state.readers))
