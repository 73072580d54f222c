"""Address spaces: regions (what a process may touch) over an architecture's page table."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Protocol

from kernkit.core.errors import BadAddress, OutOfMemory
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE, PhysicalMemory, page_up
from kernkit.core.regions import PROT_EXEC, PROT_READ, PROT_WRITE, Region, RegionMap

__all__ = ["PROT_EXEC", "PROT_READ", "PROT_WRITE", "AddressSpace", "PageTable", "Region"]


_SERIALS = itertools.count(1)
#: Ranges whose physical pieces an address space remembers (see AddressSpace._ranges).
RANGES_KEPT = 16


class PageTable(Protocol):
    """What an architecture provides for one address space (x86-64: 4-level tables)."""

    root: int

    def map(self, va: int, frame: int, writable: bool, executable: bool) -> None: ...
    def unmap(self, va: int) -> int | None: ...
    def lookup(self, va: int) -> tuple[int, bool, bool] | None: ...
    def protect(self, va: int, writable: bool, executable: bool) -> None: ...
    def release(self) -> None: ...


class AddressSpace:
    """A process's view of memory.

    Regions say what may be touched; the page table holds what is present. A touch of an absent
    page inside a region that allows it maps a zeroed frame (demand paging); anything else is a
    fault. Pages of a PROT_NONE range leave the page table but keep their frame (``hidden``), so
    their contents come back when the protection is lifted.
    """

    def __init__(self, memory: PhysicalMemory, page_table: PageTable, limit: int) -> None:
        self.memory = memory
        self.page_table = page_table
        self.limit = limit
        #: A number no other address space of this run has had (unlike id(), never reused).
        self.serial = next(_SERIALS)
        self.regions = RegionMap()
        #: Virtual pages currently in the page table.
        self.present: set[int] = set()
        #: Virtual page -> frame of pages made inaccessible by PROT_NONE.
        self.hidden: dict[int, int] = {}
        #: Called after pages were unmapped or lost permissions (TLB shootdown).
        self.on_unmap: Callable[[AddressSpace], None] = lambda aspace: None
        #: Called when the kernel wrote into a frame that may hold translated code.
        self.on_code_write: Callable[[AddressSpace], None] = lambda aspace: None
        #: Page -> (frame, writable, executable) as the page table said, for the kernel's own
        #: accesses to user memory (a walk of the tables in Python costs about a microsecond).
        #: Emptied whenever a page leaves the tables or loses rights.
        self._pages: dict[int, tuple[int, bool, bool]] = {}
        #: (start, length, writing) -> the physical pieces of that range, for buffers the kernel
        #: copies to and from again and again (a read loop's); emptied with ``_pages``.
        self._ranges: dict[tuple[int, int, bool], list[tuple[int, int]]] = {}

    # --- regions --------------------------------------------------------------------------

    def region_at(self, va: int) -> Region | None:
        return self.regions.find(va)

    def add_region(self, start: int, end: int, prot: int, name: str = "anon") -> None:
        """Map [start, end) with ``prot``, replacing whatever was there; BadAddress if impossible."""
        start, end = start & PAGE_MASK, page_up(end)
        if start >= end or end > self.limit:
            raise BadAddress(start, "map")
        self._drop_pages(start, end)
        if not self.regions.insert(start, end, prot, name):
            raise BadAddress(start, "map")

    def remove_range(self, start: int, end: int) -> None:
        """Unmap [start, end): drop pages and cut regions."""
        start, end = start & PAGE_MASK, page_up(end)
        self.regions.remove(start, end)
        self._drop_pages(start, end)

    def protect_range(self, start: int, end: int, prot: int) -> bool:
        """Change protections of [start, end); False if part of it is not mapped."""
        start, end = start & PAGE_MASK, page_up(end)
        if not self.regions.protect(start, end, prot):
            return False
        writable, executable = bool(prot & PROT_WRITE), bool(prot & PROT_EXEC)
        self._forget_pages()
        for va in self._pages_in(self.present, start, end):
            if prot == 0:
                self.hidden[va] = self.page_table.unmap(va)
                self.present.discard(va)
                continue
            if executable:
                self.memory.mark_code(self.page_table.lookup(va)[0])
            self.page_table.protect(va, writable, executable)
        self.on_unmap(self)
        return True

    def find_free(self, length: int, start: int) -> int | None:
        """The lowest page-aligned gap of ``length`` bytes at or above ``start``."""
        return self.regions.find_gap(start & PAGE_MASK, page_up(length), self.limit)

    # --- pages ----------------------------------------------------------------------------

    def resolve_fault(self, va: int, access: str) -> int | None:
        """Make the page at ``va`` present for ``access`` if a region allows it; its frame or None."""
        region = self.regions.find(va)
        if region is None or not region.allows(access):
            return None
        va &= PAGE_MASK
        entry = self.page_table.lookup(va)
        if entry is not None:
            return entry[0] if access != "write" or entry[1] else None
        frame = self.hidden.pop(va, None)
        if frame is None:
            frame = self.memory.alloc_frame()
        try:
            self._install(va, frame, region.prot)
        except OutOfMemory:  # no frame left for a page table: give the data frame back
            self.memory.free_frame(frame)
            raise
        return frame

    def map_frame(self, va: int, frame: int, prot: int) -> None:
        """Install a given frame (program loading); the region must already exist."""
        self._install(va & PAGE_MASK, frame, prot)

    def _install(self, va: int, frame: int, prot: int) -> None:
        if self._pages.pop(va, None) is not None:
            self._ranges.clear()
        executable = bool(prot & PROT_EXEC)
        self.page_table.map(va, frame, bool(prot & PROT_WRITE), executable)
        if executable:
            self.memory.mark_code(frame)
        self.present.add(va)

    @staticmethod
    def _pages_in(pages: set[int] | dict[int, int], start: int, end: int) -> list[int]:
        if (end - start) // PAGE_SIZE > len(pages):
            return sorted(va for va in pages if start <= va < end)
        return [va for va in range(start, end, PAGE_SIZE) if va in pages]

    def _drop_pages(self, start: int, end: int) -> None:
        doomed = self._pages_in(self.present, start, end)
        if doomed:
            self._forget_pages()
        for va in doomed:
            self.memory.free_frame(self.page_table.unmap(va))
            self.present.discard(va)
        for va in self._pages_in(self.hidden, start, end):
            self.memory.free_frame(self.hidden.pop(va))
        if doomed:
            self.on_unmap(self)

    def fork(self, page_table: PageTable) -> AddressSpace:
        """A copy of this address space on ``page_table``: same regions, each present or hidden
        page copied into a frame of its own."""
        child = AddressSpace(self.memory, page_table, self.limit)
        child.on_unmap, child.on_code_write = self.on_unmap, self.on_code_write
        child.regions = self.regions.copy()
        memory = self.memory.bytes
        try:
            for va in sorted(self.present):
                frame, _, _ = self.page_table.lookup(va)
                copy = self.memory.alloc_frame()
                memory[copy : copy + PAGE_SIZE] = memory[frame : frame + PAGE_SIZE]
                child._install(va, copy, child.regions.find(va).prot)
            for va, frame in self.hidden.items():
                copy = self.memory.alloc_frame()
                memory[copy : copy + PAGE_SIZE] = memory[frame : frame + PAGE_SIZE]
                child.hidden[va] = copy
        except OutOfMemory:
            child.release()
            raise
        return child

    def release(self) -> None:
        """Free every page and the page table itself."""
        for va in self.present:
            self.memory.free_frame(self.page_table.unmap(va))
        for frame in self.hidden.values():
            self.memory.free_frame(frame)
        self.present.clear()
        self.hidden.clear()
        self._forget_pages()
        self.regions = RegionMap()
        self.page_table.release()
        self.on_unmap(self)

    # --- kernel access to user memory ------------------------------------------------------

    def _forget_pages(self) -> None:
        self._pages.clear()
        self._ranges.clear()

    def _lookup(self, va: int) -> tuple[int, bool, bool] | None:
        """The page table's entry for the page at ``va`` (through the kernel's cache of them)."""
        page = va & PAGE_MASK
        entry = self._pages.get(page)
        if entry is None:
            entry = self.page_table.lookup(page)
            if entry is not None:
                self._pages[page] = entry
        return entry

    def allows(self, va: int, length: int, access: str) -> bool:
        """Whether the guest range [va, va+length) may be accessed so (without touching it)."""
        if 0 < length <= PAGE_SIZE - (va & (PAGE_SIZE - 1)) and 0 <= va < self.limit:
            entry = self._pages.get(va & PAGE_MASK)  # a page already known present and writable
            if entry is not None and (entry[1] or access == "read"):
                return True
        return va >= 0 and va + length <= self.limit and self.regions.covers(va, va + length, access)

    def _chunks(self, va: int, length: int, access: str) -> list[tuple[int, int]]:
        """(physical address, length) pieces of [va, va+length), faulting pages in as needed;
        pages whose frames follow each other make one piece."""
        if va < 0 or length < 0 or va + length > self.limit:
            raise BadAddress(va, access)
        writing = access == "write"
        key = (va, length, writing)
        known = self._ranges.get(key)
        if known is not None:
            return known
        pieces: list[tuple[int, int]] = []
        run_start = run_end = -1
        end = va + length
        while va < end:
            entry = self._lookup(va)  # pages the kernel has seen: no page-table walk
            if entry is not None and (entry[1] or not writing):
                frame = entry[0]
            else:
                frame = self.resolve_fault(va, access)
                if frame is None:
                    raise BadAddress(va, access)
            offset = va & (PAGE_SIZE - 1)
            piece = min(end - va, PAGE_SIZE - offset)
            phys = frame + offset
            if phys != run_end:
                if run_end > run_start:
                    pieces.append((run_start, run_end - run_start))
                run_start = phys
            run_end = phys + piece
            va += piece
        if run_end > run_start:
            pieces.append((run_start, run_end - run_start))
        if len(self._ranges) >= RANGES_KEPT:
            self._ranges.clear()
        self._ranges[key] = pieces
        return pieces

    def read(self, va: int, length: int) -> bytes:
        offset = va & (PAGE_SIZE - 1)
        if 0 < length <= PAGE_SIZE - offset and 0 <= va < self.limit:  # the common case
            entry = self._lookup(va)  # a present page is readable (PROT_NONE ones are not)
            if entry is not None:
                start = entry[0] + offset
                return bytes(self.memory.bytes[start : start + length])
        pieces = self._chunks(va, length, "read")
        memory = self.memory.bytes
        if len(pieces) == 1:
            phys, n = pieces[0]
            return memory[phys : phys + n].tobytes()
        return b"".join([memory[p : p + n] for p, n in pieces])

    def read_cstring(self, va: int, limit: int) -> bytes | None:
        """The bytes at ``va`` up to a NUL (not included), or None when there is none in the
        first ``limit`` bytes; BadAddress if the string runs into memory it may not read."""
        memory = self.memory
        entry = self._pages.get(va & PAGE_MASK)
        if entry is not None:  # the common case: a short string in a page the kernel knows
            start = entry[0] + (va & (PAGE_SIZE - 1))
            end = memory.find(b"\0", start, start + min(PAGE_SIZE - (va & (PAGE_SIZE - 1)), limit))
            if end >= 0:
                return memory.bytes[start:end].tobytes()
        out = b""
        while len(out) < limit:
            offset = va & (PAGE_SIZE - 1)
            size = min(PAGE_SIZE - offset, limit - len(out))
            entry = self._lookup(va) if 0 <= va < self.limit else None
            if entry is None:  # absent: fault it in (or fail) the general way
                self.read(va, 1)
                entry = self._lookup(va)
            start = entry[0] + offset
            end = memory.find(b"\0", start, start + size)
            if end >= 0:
                return out + bytes(memory.bytes[start:end])
            out += bytes(memory.bytes[start : start + size])
            va += size
        return None

    def write(self, va: int, data: bytes | bytearray | memoryview) -> None:
        length = len(data)
        offset = va & (PAGE_SIZE - 1)
        if 0 < length <= PAGE_SIZE - offset and 0 <= va < self.limit:  # the common case
            entry = self._lookup(va)
            if entry is not None and entry[1]:  # present and writable
                start = entry[0] + offset
                self.memory.bytes[start : start + length] = data
                if self.memory.is_code(entry[0]):
                    self.on_code_write(self)
                return
        done = 0
        view = memoryview(data)
        memory = self.memory
        for phys, piece in self._chunks(va, len(view), "write"):
            memory.bytes[phys : phys + piece] = view[done : done + piece]
            if memory.touches_code(phys, piece):
                self.on_code_write(self)
            done += piece

    def read_u64(self, va: int) -> int:
        return int.from_bytes(self.read(va, 8), "little")

    def write_u64(self, va: int, value: int) -> None:
        self.write(va, (value & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little"))

    # --- debugger access (as ptrace's): past protections ------------------------------------

    def _debug_frame(self, page: int) -> int | None:
        entry = self.page_table.lookup(page)
        return entry[0] if entry is not None else self.hidden.get(page)

    def _debug_pieces(self, va: int, length: int, access: str) -> list[tuple[int, int, int]]:
        """(page, offset in page, length) pieces of [va, va+length), each in some region (or
        present); BadAddress naming the first address that is not."""
        pieces = []
        while length > 0:
            page, offset = va & PAGE_MASK, va & (PAGE_SIZE - 1)
            piece = min(length, PAGE_SIZE - offset)
            if (
                va < 0
                or va >= self.limit
                or (self._debug_frame(page) is None and self.regions.find(page) is None)
            ):
                raise BadAddress(va, access)
            pieces.append((page, offset, piece))
            va += piece
            length -= piece
        return pieces

    def peek(self, va: int, length: int) -> bytes:
        """The bytes the program would see at [va, va+length), whatever the protection (for
        debuggers). A page not touched yet reads as zeros and stays absent; BadAddress if part
        of the range is in no region."""
        out = bytearray()
        for page, offset, piece in self._debug_pieces(va, length, "read"):
            frame = self._debug_frame(page)
            if frame is None:
                out += bytes(piece)
            else:
                out += self.memory.bytes[frame + offset : frame + offset + piece]
        return bytes(out)

    def poke(self, va: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at ``va`` whatever the protection (a debugger setting a variable or
        patching code); pages not touched yet are made present. Nothing is written, and
        BadAddress raised, if part of the range is in no region; OutOfMemory if no frame is left."""
        view = memoryview(data)
        done = 0
        for page, offset, piece in self._debug_pieces(va, len(view), "write"):
            frame = self._debug_frame(page)
            if frame is None:
                frame = self.memory.alloc_frame()
                prot = self.regions.find(page).prot
                if prot:
                    self._install(page, frame, prot)
                else:
                    self.hidden[page] = frame
            self.memory.bytes[frame + offset : frame + offset + piece] = view[done : done + piece]
            if self.memory.is_code(frame):
                self.on_code_write(self)
            done += piece
