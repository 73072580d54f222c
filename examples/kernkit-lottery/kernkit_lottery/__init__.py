"""Lottery scheduling for kernkit (an external plugin, found through its entry point)."""

from __future__ import annotations

import random

import attrs

from kernkit.api import ConfigSection, Scheduler, hookimpl, option, positive

KERNKIT_CONTRACT = ">=2.0,<3"
DEFAULT_TICKETS = 100


@attrs.frozen
class LotteryOptions:
    timeslice_us: int = option(10_000, "virtual microseconds a winner keeps its core", validator=positive)
    tickets: dict[str, int] = option({}, "tickets per process name (others get 100)")


class Lottery:
    """Runnable threads wait in a pool; a seeded draw weighted by tickets picks the next one."""

    def __init__(self, kernel):  # noqa: ANN001 - the kernel
        options = kernel.config["sched.lottery"]
        self.kernel = kernel
        self.timeslice_ns = options.timeslice_us * 1000
        self.tickets = options.tickets
        self.random = random.Random(kernel.config["kernel"].seed)
        self.pool: list = []
        self.started: dict = {}

    def tickets_of(self, thread) -> int:  # noqa: ANN001
        return max(1, self.tickets.get(thread.process.name, DEFAULT_TICKETS))

    def thread_runnable(self, thread) -> None:  # noqa: ANN001
        if thread not in self.pool:
            self.pool.append(thread)

    def thread_blocked(self, thread) -> None:  # noqa: ANN001
        self._forget(thread)

    def thread_exited(self, thread) -> None:  # noqa: ANN001
        self._forget(thread)

    def pick_next(self, core: int):  # noqa: ANN201
        if not self.pool:
            return None
        total = sum(self.tickets_of(t) for t in self.pool)
        draw = self.random.randrange(total)
        for thread in self.pool:
            draw -= self.tickets_of(thread)
            if draw < 0:
                self.pool.remove(thread)
                self.started[thread] = self.kernel.now(core)
                return thread
        raise AssertionError("the draw fell outside the tickets")

    def tick(self, core: int, current) -> bool:  # noqa: ANN001
        return bool(self.pool) and self.kernel.now(core) - self.started.get(current, 0) >= self.timeslice_ns

    def _forget(self, thread) -> None:  # noqa: ANN001
        if thread in self.pool:
            self.pool.remove(thread)
        self.started.pop(thread, None)


@hookimpl
def kernkit_config_sections():  # noqa: ANN201
    return [ConfigSection("sched.lottery", LotteryOptions, "the lottery scheduler")]


@hookimpl
def kernkit_register_schedulers():  # noqa: ANN201
    return [Scheduler("lottery", Lottery, "proportional share by lottery tickets")]
