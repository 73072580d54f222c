"""Address spaces: regions (what a process may touch) over an architecture's page table."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterator
from typing import Protocol

import attrs

from kernkit.core.errors import BadAddress
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE, PhysicalMemory

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4


class PageTable(Protocol):
    """What an architecture provides for one address space (x86-64: 4-level tables)."""

    root: int

    def map(self, va: int, frame: int, writable: bool, executable: bool) -> None: ...
    def unmap(self, va: int) -> int | None: ...
    def lookup(self, va: int) -> tuple[int, bool, bool] | None: ...
    def protect(self, va: int, writable: bool, executable: bool) -> None: ...
    def release(self) -> None: ...


@attrs.define
class Region:
    """A range of user addresses with protections; pages appear on first touch (zero-filled)."""

    start: int
    end: int
    prot: int
    name: str = "anon"

    def allows(self, access: str) -> bool:
        need = {"read": PROT_READ, "write": PROT_WRITE, "exec": PROT_EXEC}[access]
        return bool(self.prot & need)


class AddressSpace:
    """A process's view of memory.

    Regions say what may be touched; the page table holds what is present. A touch of an absent
    page inside a region allocates a zeroed frame (demand paging); anything else is a fault.
    """

    def __init__(self, memory: PhysicalMemory, page_table: PageTable, limit: int) -> None:
        self.memory = memory
        self.page_table = page_table
        self.limit = limit
        self.regions: list[Region] = []
        self.brk_start = 0
        self.brk = 0
        #: Virtual pages currently present (so unmapping a large, sparse range is cheap).
        self.present: set[int] = set()
        #: Called after pages were unmapped or lost permissions (TLB shootdown).
        self.on_unmap: Callable[[AddressSpace], None] = lambda aspace: None
        #: Called with a virtual page that the kernel wrote while it is executable.
        self.on_code_write: Callable[[int], None] = lambda va: None

    # --- regions --------------------------------------------------------------------------

    def region_at(self, va: int) -> Region | None:
        index = bisect.bisect_right([r.start for r in self.regions], va) - 1
        if index >= 0 and self.regions[index].end > va:
            return self.regions[index]
        return None

    def add_region(self, start: int, end: int, prot: int, name: str = "anon") -> Region:
        """Add a region over [start, end), replacing whatever was there."""
        start, end = start & PAGE_MASK, _page_up(end)
        if start >= end or end > self.limit:
            raise BadAddress(start, "map")
        self.remove_range(start, end)
        region = Region(start, end, prot, name)
        bisect.insort(self.regions, region, key=lambda r: r.start)
        return region

    def remove_range(self, start: int, end: int) -> None:
        """Unmap [start, end): drop pages and cut regions."""
        start, end = start & PAGE_MASK, _page_up(end)
        kept: list[Region] = []
        for region in self.regions:
            if region.end <= start or region.start >= end:
                kept.append(region)
                continue
            if region.start < start:
                kept.append(Region(region.start, start, region.prot, region.name))
            if region.end > end:
                kept.append(Region(end, region.end, region.prot, region.name))
        self.regions = kept
        self._drop_pages(start, end)

    def protect_range(self, start: int, end: int, prot: int) -> bool:
        """Change protections of [start, end); False if part of it is not mapped."""
        start, end = start & PAGE_MASK, _page_up(end)
        covered = sum(
            min(r.end, end) - max(r.start, start) for r in self.regions if r.end > start and r.start < end
        )
        if covered != end - start:
            return False
        pieces: list[Region] = []
        for region in self.regions:
            if region.end <= start or region.start >= end:
                pieces.append(region)
                continue
            if region.start < start:
                pieces.append(Region(region.start, start, region.prot, region.name))
            pieces.append(Region(max(region.start, start), min(region.end, end), prot, region.name))
            if region.end > end:
                pieces.append(Region(end, region.end, region.prot, region.name))
        self.regions = pieces
        for va in sorted(v for v in self.present if start <= v < end):
            self.page_table.protect(va, bool(prot & PROT_WRITE), bool(prot & PROT_EXEC))
        self.on_unmap(self)
        return True

    def find_free(self, length: int, hint: int, floor: int) -> int | None:
        """The lowest page-aligned gap of ``length`` bytes at or above ``max(hint, floor)``."""
        length = _page_up(length)
        candidate = max(hint & PAGE_MASK, floor)
        for region in self.regions:
            if region.end <= candidate:
                continue
            if region.start >= candidate + length:
                break
            candidate = region.end
        return candidate if candidate + length <= self.limit else None

    # --- pages ----------------------------------------------------------------------------

    def resolve_fault(self, va: int, access: str) -> int | None:
        """Make the page at ``va`` present for ``access`` if a region allows it; its frame or None."""
        region = self.region_at(va)
        if region is None or not region.allows(access):
            return None
        entry = self.page_table.lookup(va)
        if entry is not None:
            return entry[0] if access != "write" or entry[1] else None
        frame = self.memory.alloc_frame()
        executable = bool(region.prot & PROT_EXEC)
        if executable:
            self.memory.mark_code(frame)
        self.page_table.map(va & PAGE_MASK, frame, bool(region.prot & PROT_WRITE), executable)
        self.present.add(va & PAGE_MASK)
        return frame

    def map_frame(self, va: int, frame: int, prot: int) -> None:
        """Install a given frame (program loading); the region must already exist."""
        executable = bool(prot & PROT_EXEC)
        if executable:
            self.memory.mark_code(frame)
        self.page_table.map(va & PAGE_MASK, frame, bool(prot & PROT_WRITE), executable)
        self.present.add(va & PAGE_MASK)

    def _drop_pages(self, start: int, end: int) -> None:
        if (end - start) // PAGE_SIZE > len(self.present):
            doomed = sorted(va for va in self.present if start <= va < end)
        else:
            doomed = [va for va in range(start, end, PAGE_SIZE) if va in self.present]
        for va in doomed:
            frame = self.page_table.unmap(va)
            self.present.discard(va)
            if frame is not None:
                self.memory.free_frame(frame)
        if doomed:
            self.on_unmap(self)

    def release(self) -> None:
        """Free every page and the page table itself."""
        for region in list(self.regions):
            self._drop_pages(region.start, region.end)
        self.regions.clear()
        self.page_table.release()

    # --- kernel access to user memory ------------------------------------------------------

    def _chunks(self, va: int, length: int, access: str) -> Iterator[tuple[int, int]]:
        """(physical address, length) pieces of [va, va+length), faulting pages in as needed."""
        if va < 0 or length < 0 or va + length > self.limit:
            raise BadAddress(va, access)
        while length > 0:
            frame = self.resolve_fault(va, access)
            if frame is None:
                raise BadAddress(va, access)
            offset = va & (PAGE_SIZE - 1)
            piece = min(length, PAGE_SIZE - offset)
            yield frame + offset, piece
            va += piece
            length -= piece

    def read(self, va: int, length: int) -> bytes:
        if length <= PAGE_SIZE - (va & (PAGE_SIZE - 1)):  # the common case: one page
            for phys, _ in self._chunks(va, length, "read"):
                return bytes(self.memory.bytes[phys : phys + length])
            return b""
        return b"".join(bytes(self.memory.bytes[p : p + n]) for p, n in self._chunks(va, length, "read"))

    def write(self, va: int, data: bytes | bytearray | memoryview) -> None:
        done = 0
        view = memoryview(data)
        for phys, piece in self._chunks(va, len(view), "write"):
            self.memory.bytes[phys : phys + piece] = view[done : done + piece]
            entry = self.page_table.lookup(va + done)
            if entry is not None and entry[2]:
                self.on_code_write((va + done) & PAGE_MASK)
            done += piece

    def read_u64(self, va: int) -> int:
        return int.from_bytes(self.read(va, 8), "little")

    def write_u64(self, va: int, value: int) -> None:
        self.write(va, (value & 0xFFFFFFFFFFFFFFFF).to_bytes(8, "little"))

    def read_cstring(self, va: int, limit: int = 4096) -> bytes:
        """A NUL-terminated string (without the NUL); BadAddress if it runs past ``limit``."""
        out = bytearray()
        while len(out) < limit:
            chunk = self.read(va, min(PAGE_SIZE - (va & (PAGE_SIZE - 1)), limit - len(out)))
            end = chunk.find(b"\0")
            if end >= 0:
                return bytes(out + chunk[:end])
            out += chunk
            va += len(chunk)
        raise BadAddress(va, "read")


def _page_up(value: int) -> int:
    return (value + PAGE_SIZE - 1) & PAGE_MASK
