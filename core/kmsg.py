"""Kernel messages: per-core work queues, as in Akaros.

An *immediate* message runs as soon as its core next enters the kernel (Akaros runs them in the
interrupt handler); a *routine* message runs only at a point where the core may leave what it
was doing (between runs of a thread, or from the idle loop), FIFO and one per pass, so a routine
message can change which context the core runs (start a vcore, preempt, notify).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable


class KernelMessage:
    """A message to a core: ``sent_at`` is the virtual time (ns) it was sent, ``source`` the
    core that sent it (None: the kernel outside any core's turn)."""

    __slots__ = ("name", "run", "sent_at", "source", "routine")

    def __init__(
        self, name: str, run: Callable[[], None], sent_at: int, source: int | None, routine: bool
    ) -> None:
        self.name, self.run, self.sent_at, self.source, self.routine = name, run, sent_at, source, routine


class KernelMessages:
    """The immediate and routine queues of every core."""

    def __init__(self, cores: int) -> None:
        self.immediate: list[deque[KernelMessage]] = [deque() for _ in range(cores)]
        self.routine: list[deque[KernelMessage]] = [deque() for _ in range(cores)]
        self.sent = 0

    def send(self, core: int, message: KernelMessage) -> None:
        (self.routine if message.routine else self.immediate)[core].append(message)
        self.sent += 1

    def pending(self, core: int) -> bool:
        return bool(self.immediate[core] or self.routine[core])

    def immediate_pending(self, core: int) -> bool:
        """An immediate message waits for ``core``: it must enter the kernel soon."""
        return bool(self.immediate[core])

    def any_pending(self) -> bool:
        return any(self.immediate) or any(self.routine)

    def queued(self, core: int) -> list[KernelMessage]:
        """Immediate messages first (they run first), then routine ones, each in order."""
        return [*self.immediate[core], *self.routine[core]]
