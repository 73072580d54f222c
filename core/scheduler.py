"""The interface between the kernel and a scheduling policy (registered by a plugin)."""

from __future__ import annotations

import types
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread


class SchedulerPolicy(Protocol):
    """Decides which thread each core runs and which processes hold cores. The kernel keeps no
    policy of its own; it calls these as things happen.

    Threads are the units the kernel runs. A multi-core process (an MCP, see
    :class:`VcoreProvider`) asks for cores with :meth:`cores_wanted`; the scheduler answers by
    starting vcores through the process's personality, now or later, on cores it chooses.
    """

    def thread_runnable(self, thread: Thread) -> None:
        """``thread`` can run (new, woken, or taken off a core while still runnable)."""

    def thread_blocked(self, thread: Thread) -> None:
        """``thread`` waits for something (it is no longer on a core)."""

    def thread_exited(self, thread: Thread) -> None:
        """``thread`` is gone (its process may live on)."""

    def pick_next(self, core: int) -> Thread | None:
        """``core`` has nothing to run: the thread it should run now, or None to leave it idle."""

    def tick(self, core: int, current: Thread) -> bool:
        """A round ended with ``current`` on ``core``; True takes it off the core."""

    def cores_wanted(self, process: Process) -> None:
        """``process`` changed how many cores it wants (Akaros: change_to_m, poke_ksched, an
        event that wakes a WAITING MCP)."""

    def max_vcores(self, process: Process) -> int:
        """How many vcores ``process`` may hold at once under this policy."""

    def provision(self, process: Process | None, core: int) -> None:
        """Reserve ``core`` for ``process`` (None: no one). Range checks are done by the caller."""

    def provisioning(self) -> dict[int, Process]:
        """Which core is reserved for which process, for tools (``prov -s``, the monitor)."""

    def process_exited(self, process: Process) -> None:
        """``process`` is dying: give back whatever it holds."""


class BaseScheduler:
    """Defaults for the optional parts of :class:`SchedulerPolicy`: a policy without a notion of
    core ownership grants every wanted vcore at once and time-shares them like any thread."""

    kernel: Kernel

    def cores_wanted(self, process: Process) -> None:
        provider = process.personality.vcores
        if provider is None:
            return
        wanted = min(provider.vcores_wanted(process), self.max_vcores(process))
        while provider.vcores_held(process) < wanted:
            if provider.start_vcore(process, None) is None:
                break

    def max_vcores(self, process: Process) -> int:
        return len(self.kernel.current)

    def provision(self, process: Process | None, core: int) -> None:
        pass

    def provisioning(self) -> dict[int, Process]:
        return {}

    def process_exited(self, process: Process) -> None:
        pass


class VcoreProvider(Protocol):
    """What a personality with multi-core processes (Akaros's MCPs) offers the scheduler.

    A vcore is a thread the personality creates when the scheduler grants its process a core;
    the scheduler never builds user contexts itself.
    """

    def vcores_wanted(self, process: Process) -> int:
        """How many vcores ``process`` wants in all (already clamped to at least 1 when it is an MCP;
        0 when it is not an MCP or is waiting)."""

    def vcores_held(self, process: Process) -> int:
        """How many vcores of ``process`` hold a core now."""

    def start_vcore(self, process: Process, core: int | None) -> Thread | None:
        """Start a vcore of ``process`` on granted ``core`` (None: no particular core): returns its
        new runnable thread, or None when the process wants no more."""

    def preempt_vcore(self, thread: Thread) -> None:
        """The scheduler takes the core of vcore ``thread``: keep its context for a later restart
        and end the thread."""

    def preempt_warning(self, thread: Thread) -> None:
        """The scheduler is about to preempt vcore ``thread`` (Akaros: a preempt_pending flag and a
        warning event)."""

    def is_vcore(self, thread: Thread) -> bool:
        """Optional: whether ``thread`` of a multi-core process is one of its vcores (False: a
        kernel task the personality runs for the process, scheduled like a single-core
        process's thread). Without it every thread of such a process is a vcore."""


def complete_policy(policy: Any, kernel: Kernel) -> Any:
    """``policy`` with :class:`BaseScheduler`'s defaults bound for whatever optional method it
    lacks (third-party schedulers written before those methods existed keep working)."""
    if not hasattr(policy, "kernel"):
        policy.kernel = kernel
    for name in ("cores_wanted", "max_vcores", "provision", "provisioning", "process_exited"):
        if not hasattr(policy, name):
            setattr(policy, name, types.MethodType(getattr(BaseScheduler, name), policy))
    return policy
