"""What the kernel expects of an attached debugger (``kernel.debugger``; the GDB stub is one)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kernkit.core.machine import Stop
    from kernkit.core.process import Thread


class Debugger(Protocol):
    def stopped(self, core: int, thread: Thread, stop: Stop) -> Stop:
        """``thread`` came off ``core`` for ``stop``; called before the kernel acts on it (a
        fault would kill the process), with every core stopped. The debugger may hold the
        kernel here as long as it likes and returns the stop the kernel should act on: ``stop``
        itself, or a stop of another kind (``debug``: carry on, the fault is forgiven)."""
