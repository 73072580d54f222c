"""``rr``: round-robin time sharing of every runnable thread over every core (those its CPU
affinity allows)."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING

import attrs

from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import option, positive
from kernkit.core.records import ConfigSection, Scheduler
from kernkit.core.scheduler import BaseScheduler

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread


@attrs.frozen
class RoundRobinOptions:
    timeslice_us: int = option(
        10_000, "virtual microseconds a thread runs before others get the core", validator=positive
    )


class RoundRobin(BaseScheduler):
    """One global FIFO run queue; a thread keeps its core for a timeslice while others wait."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.timeslice_ns = kernel.config["sched.rr"].timeslice_us * 1000
        self.queue: deque[Thread] = deque()
        self._started: dict[Thread, int] = {}

    def thread_runnable(self, thread: Thread) -> None:
        if thread not in self.queue:
            self.queue.append(thread)

    def thread_blocked(self, thread: Thread) -> None:
        self._forget(thread)

    def thread_exited(self, thread: Thread) -> None:
        self._forget(thread)

    def pick_next(self, core: int) -> Thread | None:
        thread = self._first_for(core)
        if thread is None:
            return None
        self.queue.remove(thread)
        self._started[thread] = self.kernel.now(core)
        return thread

    def tick(self, core: int, current: Thread) -> bool:
        ran_for = self.kernel.now(core) - self._started.get(current, 0)
        return ran_for >= self.timeslice_ns and self._first_for(core) is not None

    def _first_for(self, core: int) -> Thread | None:
        """The longest-waiting thread that may run on ``core``."""
        return next((thread for thread in self.queue if thread.may_run_on(core)), None)

    def _forget(self, thread: Thread) -> None:
        if thread in self.queue:
            self.queue.remove(thread)
        self._started.pop(thread, None)


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("sched.rr", RoundRobinOptions, "the rr scheduler")]


@hookimpl
def kernkit_register_schedulers() -> list[Scheduler]:
    return [Scheduler("rr", RoundRobin, "Linux-like time sharing: one FIFO queue, fixed timeslice")]
