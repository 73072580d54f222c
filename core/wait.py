"""Wait queues: threads blocked until another thread (or a timeout) wakes them."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs

from kernkit.core.process import BLOCKED
from kernkit.core.state import Slot

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread


@attrs.define(slots=True)
class Finish:
    """How to complete a call that sleeps in a queue, once woken (see :meth:`WaitQueue.sleep`).

    ``complete()`` runs in whatever woke the queue (another thread's call, the host bridge), so
    it works on what the call found before it slept (its file, its buffer's address), never on
    the caller's registers. ``args``: the call's arguments, for the trace line of its result."""

    complete: Callable[[], int | WaitQueue | None]
    args: tuple[int, ...] = ()


class WaitQueue:
    """Threads waiting for one thing, woken first come, first served.

    A woken thread's syscall returns ``result`` (given to :meth:`wake`); one whose timeout
    passes first returns ``timeout_result``. A thread that sleeps with ``restart`` instead runs
    its syscall again when woken (to re-check what it waits for, as wait4 does). One that sleeps
    with a ``finish`` has its call completed by the wake itself (see :meth:`sleep`).
    """

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self._waiters: deque[Thread] = deque()
        self._restarting: set[Thread] = set()
        self._finishing: dict[Thread, Finish] = {}

    def __len__(self) -> int:
        return len(self._waiters)

    def sleep(
        self,
        thread: Thread,
        timeout_ns: int | None = None,
        timeout_result: int = 0,
        restart: bool = False,
        finish: Finish | None = None,
    ) -> None:
        """Block ``thread`` here (from inside its syscall), at most ``timeout_ns`` of virtual time.

        With ``restart``, a timeout sets no result either: the syscall runs again and finds its
        deadline passed itself. With ``finish``, a wake completes the call in place instead of
        running it again from its entry, as a Linux call sleeping inside its handler resumes
        there: ``finish.complete()`` returns the call's result, or the queue to go on sleeping
        in (nothing there yet), or None to run the whole call again after all; its timeout
        (rare, so the slow way) runs the call again, to find its deadline passed itself. A
        signal that interrupts the sleep settles the call as for any other (EINTR or restart)."""
        self._waiters.append(thread)
        thread.waiting_on = self
        if finish is not None:
            self._finishing[thread] = finish
        elif restart:
            self._restarting.add(thread)
            thread.context.restart_syscall()
        if timeout_ns is None:
            self.kernel.block(thread)
            return

        def expire() -> None:
            queue = thread.waiting_on  # it may have been moved to another queue (requeue)
            if queue is not None:
                restarting = thread in queue._restarting
                finishing = thread in queue._finishing
                queue.remove(thread)
                if finishing:
                    thread.context.resume_syscall(None)
                elif not restarting:  # a restarting syscall looks at the clock itself when it runs again
                    thread.context.set_syscall_result(timeout_result)

        self.kernel.sleep_until(thread, self.kernel.thread_now(thread) + timeout_ns, on_timeout=expire)

    def wake(self, count: int, result: int = 0) -> int:
        """Wake up to ``count`` waiters, whose syscalls return ``result``; how many woke."""
        woken = 0
        waiters = self._waiters
        turns = len(waiters)  # a waiter that finds nothing yet sleeps again, at the back
        while waiters and woken < count and turns:
            turns -= 1
            thread = waiters.popleft()
            thread.waiting_on = None
            if thread.state is not BLOCKED:  # it ended while it waited
                self._restarting.discard(thread)
                self._finishing.pop(thread, None)
                continue
            if self._finishing and thread in self._finishing:
                if not self._finish(thread, self._finishing.pop(thread)):
                    continue
            elif thread in self._restarting:
                self._restarting.discard(thread)
            else:
                thread.context.set_syscall_result(result)
            self.kernel.wake(thread)
            woken += 1
        return woken

    def _finish(self, thread: Thread, finish: Finish) -> bool:
        """Complete ``thread``'s call in the wake (True: it wakes with the result set or to run
        its call again), or leave it asleep where its call says (False)."""
        outcome = finish.complete()
        if isinstance(outcome, WaitQueue):
            outcome._waiters.append(thread)
            outcome._finishing[thread] = finish
            thread.waiting_on = outcome
            return False
        context = thread.context
        if outcome is None:
            context.resume_syscall(None)
        else:
            context.set_syscall_result(outcome)
            self.kernel.dispatcher.finished(thread, finish.args, outcome)
        return True

    def move_to(self, other: WaitQueue, count: int) -> int:
        """Move up to ``count`` waiters, still asleep, to ``other`` (a futex requeue)."""
        moved = 0
        while self._waiters and moved < count:
            thread = self._waiters.popleft()
            other._waiters.append(thread)
            thread.waiting_on = other
            if thread in self._restarting:
                self._restarting.discard(thread)
                other._restarting.add(thread)
            finish = self._finishing.pop(thread, None)
            if finish is not None:
                other._finishing[thread] = finish
            moved += 1
        return moved

    def remove(self, thread: Thread) -> None:
        if thread in self._waiters:
            self._waiters.remove(thread)
        self._restarting.discard(thread)
        self._finishing.pop(thread, None)
        if thread.waiting_on is self:
            thread.waiting_on = None


POLLERS: Slot[WaitQueue] = Slot("core.pollers")


def pollers(kernel: Kernel) -> WaitQueue:
    """The kernel's queue of threads waiting in poll/select/epoll for any file to become ready.

    Drivers whose files can wait (pipes, network conversations) wake it, all of it, when a file
    may have become ready; the pollers look at their files again and sleep anew if none is.
    """
    return POLLERS.of(kernel, lambda: WaitQueue(kernel))


WATCHERS: Slot[list[Callable[[], None]]] = Slot("core.readiness_watchers")


def wake_pollers(kernel: Kernel) -> None:
    """Wake every thread waiting in poll/select/epoll, and call every readiness watcher (cheap
    when there is none)."""
    queue = POLLERS.get(kernel)
    if queue is not None and len(queue):
        queue.wake(len(queue))
    watchers = WATCHERS.get(kernel)
    if watchers:
        for watcher in tuple(watchers):
            watcher()


def watch_readiness(kernel: Kernel, watcher: Callable[[], None]) -> None:
    """Call ``watcher()`` whenever :func:`wake_pollers` runs: some file may have become ready.

    For kernel code that reacts to readiness without a thread to sleep (a personality that
    sends an event to a process when one of its files becomes ready). The watcher looks at
    the files it cares about through ``DeviceDriver.poll``; it runs inside whatever changed the
    file (another thread's system call, the host bridge), so it must be quick and must not
    block or wake pollers itself.
    """
    watchers = WATCHERS.of(kernel, list)
    if watcher not in watchers:
        watchers.append(watcher)


def unwatch_readiness(kernel: Kernel, watcher: Callable[[], None]) -> None:
    """Stop calling ``watcher`` (nothing happens if it was not watching)."""
    watchers = WATCHERS.get(kernel)
    if watchers and watcher in watchers:
        watchers.remove(watcher)
