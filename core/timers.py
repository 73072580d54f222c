"""Timers in virtual time: callbacks due at a given nanosecond, fired in order."""

from __future__ import annotations

import heapq
from collections.abc import Callable


class Timers:
    """A heap of (when, sequence, callback); equal times fire in the order they were set. A
    cancelled timer is dropped when it reaches the top, so it never fires nor counts as due."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Callable[[], None]]] = []
        self._sequence = 0
        self._live: set[int] = set()
        self._cancelled: set[int] = set()

    def __bool__(self) -> bool:
        self._drop_cancelled()
        return bool(self._heap)

    def add(self, when: int, callback: Callable[[], None]) -> int:
        """Run ``callback`` at virtual time ``when``; the handle :meth:`cancel` takes."""
        self._sequence += 1
        heapq.heappush(self._heap, (when, self._sequence, callback))
        self._live.add(self._sequence)
        return self._sequence

    def cancel(self, handle: int) -> None:
        """Forget the timer :meth:`add` returned ``handle`` for (nothing if it fired)."""
        if handle in self._live:
            self._live.discard(handle)
            self._cancelled.add(handle)

    def _drop_cancelled(self) -> None:
        heap, cancelled = self._heap, self._cancelled
        while cancelled and heap and heap[0][1] in cancelled:
            cancelled.discard(heapq.heappop(heap)[1])

    def next_time(self) -> int | None:
        self._drop_cancelled()
        return self._heap[0][0] if self._heap else None

    def fire_due(self, now: int) -> None:
        """Run every callback due at or before ``now``."""
        heap, cancelled = self._heap, self._cancelled
        while heap and heap[0][0] <= now:
            _, handle, callback = heapq.heappop(heap)
            if cancelled and handle in cancelled:
                cancelled.discard(handle)
                continue
            self._live.discard(handle)
            callback()
