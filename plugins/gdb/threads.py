"""How the stub shows the kernel's threads to gdb: every thread of every process, one inferior.

A thread's gdb id is its kernel thread id (unique across processes). Memory and registers are
those of the selected thread's process, so a breakpoint in a forked child or a second thread
stops there and gdb reads that process's memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.process import EXITED

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread


def live_threads(kernel: Kernel) -> list[Thread]:
    threads = [
        thread
        for process in kernel.processes.values()
        if process.alive
        for thread in process.threads
        if thread.state is not EXITED
    ]
    return sorted(threads, key=lambda thread: thread.tid)


def find_thread(kernel: Kernel, tid: int) -> Thread | None:
    for thread in live_threads(kernel):
        if thread.tid == tid:
            return thread
    return None


def describe(kernel: Kernel, thread: Thread) -> str:
    """What ``info threads`` shows beside the id: process, its state, where the thread is."""
    process = thread.process
    where = f"on core {thread.core}" if thread.core is not None else thread.state.value
    return f"pid {process.pid} {process.name} {process.state.value}, {where}"


def any_thread(kernel: Kernel, *preferred: Thread | None) -> Thread | None:
    """The first of ``preferred`` still alive, else a thread on a core, else any live thread."""
    for thread in preferred:
        if thread is not None and thread.state is not EXITED and thread.process.alive:
            return thread
    for thread in kernel.current:
        if thread is not None:
            return thread
    threads = live_threads(kernel)
    return threads[0] if threads else None
