"""Timers in virtual time: callbacks due at a given nanosecond, fired in order."""

from __future__ import annotations

import heapq
from collections.abc import Callable


class Timers:
    """A heap of (when, sequence, callback); equal times fire in the order they were set."""

    def __init__(self) -> None:
        self._heap: list[tuple[int, int, Callable[[], None]]] = []
        self._sequence = 0

    def __bool__(self) -> bool:
        return bool(self._heap)

    def add(self, when: int, callback: Callable[[], None]) -> None:
        self._sequence += 1
        heapq.heappush(self._heap, (when, self._sequence, callback))

    def next_time(self) -> int | None:
        return self._heap[0][0] if self._heap else None

    def fire_due(self, now: int) -> None:
        """Run every callback due at or before ``now``."""
        while self._heap and self._heap[0][0] <= now:
            _, _, callback = heapq.heappop(self._heap)
            callback()
