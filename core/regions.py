"""The regions of an address space: sorted, non-overlapping ranges with protections."""

from __future__ import annotations

import bisect
from collections.abc import Iterator

import attrs

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
#: Like Linux's vm.max_map_count: beyond this, mappings fail with ENOMEM.
MAX_REGIONS = 65530


@attrs.define
class Region:
    """A range of user addresses with protections; pages appear on first touch (zero-filled)."""

    start: int
    end: int
    prot: int
    name: str = "anon"

    def allows(self, access: str) -> bool:
        """Whether ``access`` ("read", "write", "exec") is allowed; as on x86, any access right
        implies read."""
        if access == "read":
            return self.prot != 0
        return bool(self.prot & (PROT_WRITE if access == "write" else PROT_EXEC))


class RegionMap:
    """Regions kept sorted by start, with neighbours of equal kind merged."""

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._regions: list[Region] = []

    def __iter__(self) -> Iterator[Region]:
        return iter(list(self._regions))

    def __len__(self) -> int:
        return len(self._regions)

    def copy(self) -> RegionMap:
        twin = RegionMap()
        twin._starts = list(self._starts)
        twin._regions = [attrs.evolve(region) for region in self._regions]
        return twin

    def find(self, va: int) -> Region | None:
        index = bisect.bisect_right(self._starts, va) - 1
        if index >= 0 and self._regions[index].end > va:
            return self._regions[index]
        return None

    def overlaps(self, start: int, end: int) -> bool:
        index = bisect.bisect_right(self._starts, start) - 1
        if index >= 0 and self._regions[index].end > start:
            return True
        index += 1
        return index < len(self._regions) and self._regions[index].start < end

    def covers(self, start: int, end: int, access: str | None = None) -> bool:
        """Whether [start, end) lies entirely inside regions (allowing ``access`` if given)."""
        at = start
        while at < end:
            region = self.find(at)
            if region is None or (access is not None and not region.allows(access)):
                return False
            at = region.end
        return True

    def find_gap(self, start: int, length: int, limit: int) -> int | None:
        """The lowest ``start`` or later where ``length`` bytes are free and end by ``limit``."""
        region = self.find(start)
        if region is not None:
            start = region.end
        while start + length <= limit:
            index = bisect.bisect_left(self._starts, start)
            if index < len(self._starts) and self._starts[index] < start + length:
                start = self._regions[index].end
                continue
            return start
        return None

    def insert(self, start: int, end: int, prot: int, name: str) -> bool:
        """Map [start, end), replacing what was there; False when there would be too many regions."""
        first, last = self._cut(start, end)
        if len(self._regions) - (last - first) + 1 > MAX_REGIONS:
            return False
        self._regions[first:last] = [Region(start, end, prot, name)]
        self._starts[first:last] = [start]
        self._merge(first - 1, first + 2)
        return True

    def remove(self, start: int, end: int) -> None:
        first, last = self._cut(start, end)
        del self._regions[first:last]
        del self._starts[first:last]

    def protect(self, start: int, end: int, prot: int) -> bool:
        """Set ``prot`` on [start, end); False (and nothing changed) unless it is fully mapped."""
        if not self.covers(start, end) or len(self._regions) + 2 > MAX_REGIONS:
            return False
        first, last = self._cut(start, end)
        for region in self._regions[first:last]:
            region.prot = prot
        self._merge(first - 1, last + 1)
        return True

    def _split(self, at: int) -> None:
        index = bisect.bisect_right(self._starts, at) - 1
        if index < 0:
            return
        region = self._regions[index]
        if region.start < at < region.end:
            self._regions.insert(index + 1, Region(at, region.end, region.prot, region.name))
            self._starts.insert(index + 1, at)
            region.end = at

    def _cut(self, start: int, end: int) -> tuple[int, int]:
        """Split regions at ``start`` and ``end``; the index range of those inside [start, end)."""
        self._split(start)
        self._split(end)
        return bisect.bisect_left(self._starts, start), bisect.bisect_left(self._starts, end)

    def _merge(self, first: int, last: int) -> None:
        index = max(first, 0)
        while index < min(last, len(self._regions)) - 1:
            left, right = self._regions[index], self._regions[index + 1]
            if left.end == right.start and (left.prot, left.name) == (right.prot, right.name):
                left.end = right.end
                del self._regions[index + 1]
                del self._starts[index + 1]
                last -= 1
            else:
                index += 1
