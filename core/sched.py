"""The interface between the kernel and a scheduling policy (registered by a plugin)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kernkit.core.process import Thread


class SchedulerPolicy(Protocol):
    """Decides which thread each core runs. The kernel keeps no policy of its own.

    The kernel calls these as things happen; ``pick_next`` when a core has nothing to run and
    ``tick`` at the end of every round of quanta for each core that ran a thread.
    """

    def thread_runnable(self, thread: Thread) -> None:
        """``thread`` can run (new, woken, or taken off a core while still runnable)."""

    def thread_blocked(self, thread: Thread) -> None:
        """``thread`` waits for something (it is no longer on a core)."""

    def thread_exited(self, thread: Thread) -> None:
        """``thread`` is gone."""

    def pick_next(self, core: int) -> Thread | None:
        """The thread ``core`` should run now, or None to leave it idle."""

    def tick(self, core: int, current: Thread) -> bool:
        """A round ended with ``current`` on ``core``; True takes it off the core."""
