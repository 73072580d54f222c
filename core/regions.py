"""The regions of an address space: sorted, non-overlapping ranges with protections."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import Any

from kernkit.core.gaps import GapIndex

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
#: Like Linux's vm.max_map_count: beyond this, mappings fail with ENOMEM.
MAX_REGIONS = 65530
#: With more regions than this, free gaps are indexed (:class:`GapIndex`); with fewer than
#: UNINDEX_BELOW the index is dropped again (a linear walk is cheaper for small maps).
INDEX_ABOVE, UNINDEX_BELOW = 96, 24
_END = 1 << 64


class Region:
    """A range of user addresses with protections. Anonymous pages appear on first touch,
    zero-filled; a region with ``mapped`` shows a file's pages (``offset`` is the file offset
    of ``start``)."""

    __slots__ = ("start", "end", "prot", "name", "mapped", "offset")

    def __init__(
        self, start: int, end: int, prot: int, name: str = "anon", mapped: Any = None, offset: int = 0
    ) -> None:
        self.start = start
        self.end = end
        self.prot = prot
        self.name = name
        #: A :class:`kernkit.core.pagecache.MappedFile`, or None for anonymous private memory.
        self.mapped = mapped
        self.offset = offset

    def allows(self, access: str) -> bool:
        """Whether ``access`` ("read", "write", "exec") is allowed; as on x86, any access right
        implies read."""
        if access == "read":
            return self.prot != 0
        return bool(self.prot & (PROT_WRITE if access == "write" else PROT_EXEC))

    def offset_of(self, va: int) -> int:
        """The file offset shown at ``va`` (for mapped regions)."""
        return self.offset + (va - self.start)

    def _tail(self, at: int) -> Region:
        """A region for [at, end) of this one, sharing its mapping."""
        tail = Region(at, self.end, self.prot, self.name, self.mapped, self.offset + (at - self.start))
        if tail.mapped is not None:
            tail.mapped.attach()
        return tail

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Region):
            return NotImplemented
        return (self.start, self.end, self.prot, self.name, self.mapped, self.offset) == (
            other.start,
            other.end,
            other.prot,
            other.name,
            other.mapped,
            other.offset,
        )

    def __repr__(self) -> str:
        file = f", {self.mapped!r}@{self.offset:#x}" if self.mapped is not None else ""
        return f"Region({self.start:#x}, {self.end:#x}, prot={self.prot}, name={self.name!r}{file})"


def _mergeable(left: Region, right: Region) -> bool:
    return (
        left.end == right.start
        and left.prot == right.prot
        and left.name == right.name
        and left.mapped is right.mapped
        and (left.mapped is None or right.offset == left.offset + (left.end - left.start))
    )


class RegionMap:
    """Regions kept sorted by start, with neighbours of equal kind merged.

    A region that maps a file holds its :class:`~kernkit.core.pagecache.MappedFile` once
    (``attach``/``detach``): splitting a region attaches once more, merging or removing one
    detaches.
    """

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._regions: list[Region] = []
        self._gaps: GapIndex | None = None

    def __iter__(self) -> Iterator[Region]:
        return iter(list(self._regions))

    def __len__(self) -> int:
        return len(self._regions)

    def copy(self, remap: Callable[[Any], Any] | None = None) -> RegionMap:
        """The same regions (fresh objects); ``remap`` gives each mapped region's mapping in the
        copy (attached once per region by the caller's ``remap`` result)."""
        twin = RegionMap()
        twin._starts = list(self._starts)
        regions = []
        for r in self._regions:
            mapped = r.mapped
            if mapped is not None:
                mapped = remap(mapped) if remap is not None else mapped
                mapped.attach()
            regions.append(Region(r.start, r.end, r.prot, r.name, mapped, r.offset))
        twin._regions = regions
        if self._gaps is not None:
            twin._index()
        return twin

    def find(self, va: int) -> Region | None:
        index = bisect.bisect_right(self._starts, va) - 1
        if index >= 0 and self._regions[index].end > va:
            return self._regions[index]
        return None

    def between(self, start: int, end: int) -> list[Region]:
        """The regions that overlap [start, end), in order."""
        first = max(bisect.bisect_right(self._starts, start) - 1, 0)
        last = bisect.bisect_left(self._starts, end)
        return [r for r in self._regions[first:last] if r.end > start]

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

    # --- free space ---------------------------------------------------------------------------

    def find_gap(self, start: int, length: int, limit: int) -> int | None:
        """The lowest ``start`` or later where ``length`` bytes are free and end by ``limit``."""
        region = self.find(start)
        if region is not None:
            start = region.end
        index = bisect.bisect_left(self._starts, start)
        following = self._starts[index] if index < len(self._starts) else _END
        if start + length <= following:  # the gap ``start`` is in holds it
            return start if start + length <= limit else None
        if self._gaps is not None:
            found = self._gaps.first_fit(start, length)
            return found if found is not None and found + length <= limit else None
        while start + length <= limit:
            index = bisect.bisect_left(self._starts, start)
            if index < len(self._starts) and self._starts[index] < start + length:
                start = self._regions[index].end
                continue
            return start
        return None

    def _gap_after(self, index: int) -> tuple[int, int] | None:
        """(start, size) of the free gap after region ``index`` (-1: before the first)."""
        start = self._regions[index].end if index >= 0 else 0
        end = self._starts[index + 1] if index + 1 < len(self._starts) else _END
        return (start, end - start) if end > start else None

    def _index(self) -> None:
        self._gaps = GapIndex()
        for index in range(-1, len(self._regions)):
            gap = self._gap_after(index)
            if gap is not None:
                self._gaps.add(*gap)

    def _window_gaps(self, first: int, last: int) -> list[int]:
        """Region indices whose following gap may change when regions first..last-1 do: from
        the one before them (-1: the gap before the first region) to the one after them."""
        low = first - 1 if first > 0 else -1
        return list(range(low, min(last + 1, len(self._regions))))

    def _forget_gaps(self, first: int, last: int) -> int:
        """Before a change to regions first..last-1: take the gaps it may change out of the
        index; the number of regions the change window spans (for :meth:`_learn_gaps`)."""
        window = self._window_gaps(first, last)
        if self._gaps is not None:
            for index in window:
                gap = self._gap_after(index)
                if gap is not None:
                    self._gaps.remove(gap[0])
        return len(self._regions)

    def _learn_gaps(self, first: int, last: int, count_before: int) -> None:
        """After the change: index the window's gaps again (it grew or shrank with the number
        of regions); or start or stop indexing as that number crosses the thresholds."""
        count = len(self._regions)
        if self._gaps is None:
            if count > INDEX_ABOVE:
                self._index()
            return
        if count < UNINDEX_BELOW:
            self._gaps = None
            return
        for index in self._window_gaps(first, last + count - count_before):
            gap = self._gap_after(index)
            if gap is not None:
                self._gaps.add(*gap)

    # --- changes ------------------------------------------------------------------------------

    def insert(self, start: int, end: int, prot: int, name: str, mapped: Any = None, offset: int = 0) -> bool:
        """Map [start, end), replacing what was there; False when there would be too many
        regions. ``mapped`` is attached once here (the caller's own reference is not taken)."""
        first, last = self._cut(start, end)
        if len(self._regions) - (last - first) + 1 > MAX_REGIONS:
            return False
        before = self._forget_gaps(first, last)
        for old in self._regions[first:last]:
            if old.mapped is not None:
                old.mapped.detach()
        if mapped is not None:
            mapped.attach()
        self._regions[first:last] = [Region(start, end, prot, name, mapped, offset)]
        self._starts[first:last] = [start]
        self._merge(first - 1, first + 2)
        self._learn_gaps(first, last, before)
        return True

    def remove(self, start: int, end: int) -> list[Region]:
        """Unmap [start, end); the regions taken out (detached)."""
        first, last = self._cut(start, end)
        before = self._forget_gaps(first, last)
        gone = self._regions[first:last]
        del self._regions[first:last]
        del self._starts[first:last]
        for old in gone:
            if old.mapped is not None:
                old.mapped.detach()
        self._learn_gaps(first, last, before)
        return gone

    def protect(self, start: int, end: int, prot: int) -> bool:
        """Set ``prot`` on [start, end); False (and nothing changed) unless it is fully mapped."""
        if not self.covers(start, end) or len(self._regions) + 2 > MAX_REGIONS:
            return False
        first, last = self._cut(start, end)
        before = self._forget_gaps(first, last)
        for region in self._regions[first:last]:
            region.prot = prot
        self._merge(first - 1, last + 1)
        self._learn_gaps(first, last, before)
        return True

    def _split(self, at: int) -> None:
        index = bisect.bisect_right(self._starts, at) - 1
        if index < 0:
            return
        region = self._regions[index]
        if region.start < at < region.end:
            self._regions.insert(index + 1, region._tail(at))  # noqa: SLF001 - same module
            self._starts.insert(index + 1, at)
            region.end = at

    def _cut(self, start: int, end: int) -> tuple[int, int]:
        """Split regions at ``start`` and ``end``; the index range of those inside [start, end).
        (A split leaves the gaps as they were: no free space appears or goes.)"""
        self._split(start)
        self._split(end)
        return bisect.bisect_left(self._starts, start), bisect.bisect_left(self._starts, end)

    def _merge(self, first: int, last: int) -> None:
        """Merge equal neighbours among regions first..last-1."""
        index = max(first, 0)
        while index < min(last, len(self._regions)) - 1:
            left, right = self._regions[index], self._regions[index + 1]
            if _mergeable(left, right):
                left.end = right.end
                del self._regions[index + 1]
                del self._starts[index + 1]
                if right.mapped is not None:
                    right.mapped.detach()
                last -= 1
            else:
                index += 1
