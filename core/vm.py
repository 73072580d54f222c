"""Address spaces: regions (what a process may touch) over an architecture's page table."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Iterator
from typing import Protocol

from kernkit.core.errors import BadAddress, OutOfMemory
from kernkit.core.pagecache import MappedFile, PageCache
from kernkit.core.physmem import PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, PhysicalMemory, page_up
from kernkit.core.regions import PROT_EXEC, PROT_READ, PROT_WRITE, Region, RegionMap

__all__ = ["PROT_EXEC", "PROT_READ", "PROT_WRITE", "AddressSpace", "PageTable", "Region"]

#: Signals a refused touch of user memory becomes (see :meth:`AddressSpace.fault_reason`).
SIGBUS, SIGSEGV = 7, 11
#: A fault on a mapped file maps the cached pages of this many around it (an aligned window).
FAULT_AROUND = 16

_SERIALS = itertools.count(1)
#: User ranges whose physical pieces an address space remembers (see AddressSpace._ranges).
RANGES_KEPT = 16


class PageTable(Protocol):
    """What an architecture provides for one address space (x86-64: 4-level tables)."""

    root: int

    def map(self, va: int, frame: int, writable: bool, executable: bool) -> None: ...
    def unmap(self, va: int) -> int | None: ...
    def lookup(self, va: int) -> tuple[int, bool, bool] | None: ...
    def protect(self, va: int, writable: bool, executable: bool) -> None: ...
    def share_into(self, child: PageTable, pages: list[int], copy_on_write: bool) -> None:
        """Copy the entries of ``pages`` (present here) into ``child``; with
        ``copy_on_write`` neither may write them any more."""

    def release(self) -> None: ...


class AddressSpace:
    """A process's view of memory.

    Regions say what may be touched; the page table holds what is present (``present``: page
    -> frame). A touch of an absent page inside a region that allows it maps a frame (demand
    paging): a zeroed one for anonymous memory, the file's page for a mapped file; anything
    else is a fault. Frames are reference counted (:class:`PhysicalMemory`), so a fork shares
    every page copy-on-write: both sides lose write rights, and the first write to a page
    still held elsewhere copies it. Pages of a PROT_NONE range leave the page table but keep
    their frame (``hidden``), so their contents come back when the protection is lifted.

    Several processes may share one address space (``users``: vfork, clone with CLONE_VM); it
    is released when the last lets go.
    """

    def __init__(self, memory: PhysicalMemory, page_table: PageTable, limit: int) -> None:
        self.memory = memory
        self.page_table = page_table
        self.limit = limit
        #: A number no other address space of this run has had (unlike id(), never reused).
        self.serial = next(_SERIALS)
        self.regions = RegionMap()
        #: Virtual page -> frame of the pages currently in the page table.
        self.present: dict[int, int] = {}
        #: Virtual page -> frame of pages made inaccessible by PROT_NONE.
        self.hidden: dict[int, int] = {}
        #: Pages whose frames the kernel itself reads and writes (map_frame(pinned=True)): a
        #: fork gives the child copies at once instead of sharing them.
        self.pinned: set[int] = set()
        #: Processes using this address space.
        self.users = 1
        #: Called after pages were unmapped, lost permissions or moved to other frames (TLB
        #: shootdown), with ``code`` False when none of them was executable (what the machine
        #: knows about the code at each virtual address still holds).
        self.on_unmap: Callable[[AddressSpace, bool], None] = lambda aspace, code: None
        #: Called when the address space is gone (nothing may use what it cached of it).
        self.on_release: Callable[[AddressSpace], None] = lambda aspace: None
        #: Called when the kernel wrote into a frame that may hold translated code.
        self.on_code_write: Callable[[AddressSpace], None] = lambda aspace: None
        #: Called when a fault made a page present (a kernel with a cost model charges for it).
        self.on_fault: Callable[[], None] | None = None
        #: Page -> (frame, writable, executable) as the page table said, for the kernel's own
        #: accesses to user memory (a walk of the tables in Python costs about a microsecond).
        #: Emptied whenever a page leaves the tables or loses rights. Read, never written, by a
        #: native system call entry that copies into user memory itself.
        self.known_pages: dict[int, tuple[int, bool, bool]] = {}
        #: (start, length, writing) -> the physical pieces of that user range, for buffers the
        #: kernel copies to and from again and again (a read loop's); emptied whenever an entry
        #: of ``known_pages`` goes, so it is exactly as fresh as they are.
        self._ranges: dict[tuple[int, int, bool], list[tuple[int, int]]] = {}

    # --- regions --------------------------------------------------------------------------

    def region_at(self, va: int) -> Region | None:
        return self.regions.find(va)

    def add_region(
        self,
        start: int,
        end: int,
        prot: int,
        name: str = "anon",
        mapped: MappedFile | None = None,
        offset: int = 0,
    ) -> None:
        """Map [start, end) with ``prot``, replacing whatever was there; BadAddress if
        impossible. With ``mapped``, the region shows that file from ``offset`` on."""
        start, end = start & PAGE_MASK, page_up(end)
        if start >= end or end > self.limit:
            raise BadAddress(start, "map")
        self._drop_pages(start, end)
        if not self.regions.insert(start, end, prot, name, mapped, offset):
            raise BadAddress(start, "map")

    def remove_range(self, start: int, end: int) -> None:
        """Unmap [start, end): drop pages and cut regions."""
        start, end = start & PAGE_MASK, page_up(end)
        self._drop_pages(start, end)
        self.regions.remove(start, end)

    def protect_range(self, start: int, end: int, prot: int) -> bool:
        """Change protections of [start, end); False if part of it is not mapped."""
        start, end = start & PAGE_MASK, page_up(end)
        executable = bool(prot & PROT_EXEC)
        code = executable or self._has_code(start, end)
        if not self.regions.protect(start, end, prot):
            return False
        self._forget_pages()
        pages = self._pages_in(self.present, start, end)
        if not pages and not code:  # no TLB holds a page of the range: nothing to flush
            return True
        for va in pages:
            if prot == 0:
                self.page_table.unmap(va)
                self.hidden[va] = self.present.pop(va)
                continue
            frame = self.present[va]
            if executable:
                self.memory.mark_code(frame)
            region = self.regions.find(va)
            self.page_table.protect(va, self._writable(region, va, frame, False), executable)
        self.on_unmap(self, code)
        return True

    def _has_code(self, start: int, end: int) -> bool:
        """Whether part of [start, end) is mapped executable."""
        return any(region.prot & PROT_EXEC for region in self.regions.between(start, end))

    def find_free(self, length: int, start: int) -> int | None:
        """The lowest page-aligned gap of ``length`` bytes at or above ``start``."""
        return self.regions.find_gap(start & PAGE_MASK, page_up(length), self.limit)

    # --- pages ----------------------------------------------------------------------------

    def resolve_fault(self, va: int, access: str) -> int | None:
        """Make the page at ``va`` present for ``access`` if a region allows it; its frame, or
        None (see :meth:`fault_reason` for why). OutOfMemory when a frame was needed."""
        region = self.regions.find(va)
        if region is None or not region.allows(access):
            return None
        va &= PAGE_MASK
        frame = self.present.get(va)
        if frame is not None:
            if access != "write":
                return frame
            entry = self.page_table.lookup(va)
            if entry[1]:
                return frame
            if self.on_fault is not None:
                self.on_fault()
            return self._write_fault(va, region, frame)
        if self.on_fault is not None:
            self.on_fault()
        frame = self.hidden.pop(va, None)
        if frame is not None:
            self._install(va, frame, self._writable(region, va, frame, access == "write"), region.prot)
            return frame
        if region.mapped is not None:
            return self._file_fault(va, region, access)
        # a fresh anonymous page: neither the kernel's caches of present pages (_forget_page)
        # nor the code frames can know it, so the page goes straight into the table
        frame, prot = self.memory.alloc_frame(), region.prot
        try:
            self.page_table.map(va, frame, bool(prot & PROT_WRITE), bool(prot & PROT_EXEC))
        except OutOfMemory:  # no frame left for a page table: give the data frame back
            self.memory.free_frame(frame)
            raise
        if prot & PROT_EXEC:
            self.memory.mark_code(frame)
        self.present[va] = frame
        return frame

    def fault_reason(self, va: int, access: str) -> tuple[int, str]:
        """Why :meth:`resolve_fault` refused ``access`` at ``va``: (signal, what), SIGBUS for a
        page of a mapped file past its end, else SIGSEGV."""
        region = self.regions.find(va)
        if region is None:
            return SIGSEGV, "not mapped"
        if not region.allows(access):
            return SIGSEGV, "read-only page" if access == "write" and region.prot else f"no {access} access"
        if region.mapped is not None:
            return SIGBUS, "beyond the end of the mapped file"
        return SIGSEGV, f"no {access} access"

    def _writable(self, region: Region, va: int, frame: int, writing: bool) -> bool:
        """Whether the page at ``va`` may be entered writable now: its region allows it, and it
        is the process's own (copy-on-write until then) or, in a shared mapping of a file kept
        elsewhere, dirty (so the first write after a write-back is seen)."""
        if not region.prot & PROT_WRITE:
            return False
        mapped = region.mapped
        if mapped is not None and mapped.shared:
            cache = mapped.cache
            if not cache.tracks_dirty:
                return True
            index = region.offset_of(va) >> PAGE_SHIFT
            if writing:
                cache.dirty.add(index)
            return index in cache.dirty
        return self.memory.holders(frame) == 1 or va in self.pinned

    def _write_fault(self, va: int, region: Region, frame: int) -> int:
        """A write to a present page entered read-only in a writable region: mark a shared
        page dirty, or take a copy of a page shared with another holder."""
        executable = bool(region.prot & PROT_EXEC)
        if self._writable(region, va, frame, True):
            self._forget_page(va)
            self.page_table.protect(va, True, executable)
            return frame
        copy = self.memory.alloc_frame()
        self.memory.copy_frame(frame, copy)
        self._install(va, copy, True, region.prot)
        self.memory.free_frame(frame)
        self.on_unmap(self, executable)  # other cores may still read the old frame through their TLBs
        return copy

    def _file_fault(self, va: int, region: Region, access: str) -> int | None:
        writing = access == "write"
        frame = self._file_frame(va, region, writing)
        if frame is None:
            return None  # SIGBUS
        try:
            self._install(va, frame, self._writable(region, va, frame, writing), region.prot)
        except OutOfMemory:
            self.memory.free_frame(frame)
            raise
        self._fault_around(va, region)
        return frame

    def _fault_around(self, va: int, region: Region) -> None:
        """Map the file's pages already in its cache around ``va`` (in the aligned window of
        FAULT_AROUND pages, inside the region and the file) read-only or as they may be
        written, so that touching them next costs no fault (Linux's fault-around)."""
        cache = region.mapped.cache
        low = max(va & ~(FAULT_AROUND * PAGE_SIZE - 1), region.start)
        high = min(low + FAULT_AROUND * PAGE_SIZE, region.end)
        present, pages, share = self.present, cache.pages, self.memory.share
        first = region.offset_of(low) >> PAGE_SHIFT
        last = (cache.size - 1) >> PAGE_SHIFT
        for page in range(low, high, PAGE_SIZE):
            index = first + ((page - low) >> PAGE_SHIFT)
            if index > last:
                break
            frame = pages.get(index)
            if frame is None or page in present or page in self.hidden:
                continue
            share(frame)
            self._install(page, frame, self._writable(region, page, frame, False), region.prot)

    def _file_frame(self, va: int, region: Region, copy: bool) -> int | None:
        """A hold on the frame to map at ``va`` of a mapped file's region: the cache's own
        page, or for a private mapping with ``copy`` a copy of it; None past the file's end."""
        mapped = region.mapped
        cache: PageCache = mapped.cache
        offset = region.offset_of(va)
        if offset >= page_up(cache.size):
            return None
        source = cache.page(offset >> PAGE_SHIFT)
        if copy and not mapped.shared:
            frame = self.memory.alloc_frame()
            self.memory.copy_frame(source, frame)
            return frame
        self.memory.share(source)
        return source

    def map_frame(self, va: int, frame: int, prot: int, pinned: bool = False) -> None:
        """Install a given frame (program loading); the region must already exist. The address
        space takes over the caller's hold on the frame. ``pinned``: the kernel keeps using
        the frame by its physical address (a fork copies it for the child at once)."""
        va &= PAGE_MASK
        old = self.present.get(va)
        if old is not None and old != frame:
            self.memory.free_frame(old)
        if pinned:
            self.pinned.add(va)
        self._install(va, frame, bool(prot & PROT_WRITE), prot)

    def _install(self, va: int, frame: int, writable: bool, prot: int) -> None:
        self._forget_page(va)
        executable = bool(prot & PROT_EXEC)
        self.page_table.map(va, frame, writable, executable)
        if executable:
            self.memory.mark_code(frame)
        self.present[va] = frame

    @staticmethod
    def _pages_in(pages: dict[int, int], start: int, end: int) -> list[int]:
        if (end - start) // PAGE_SIZE > len(pages):
            return sorted(va for va in pages if start <= va < end)
        return [va for va in range(start, end, PAGE_SIZE) if va in pages]

    def _drop_pages(self, start: int, end: int) -> None:
        doomed = self._pages_in(self.present, start, end)
        if doomed:
            self._forget_pages()
        free, unmap, present = self.memory.free_frame, self.page_table.unmap, self.present
        for va in doomed:
            unmap(va)
            free(present.pop(va))
        for va in self._pages_in(self.hidden, start, end):
            free(self.hidden.pop(va))
        if self.pinned:
            self.pinned = {va for va in self.pinned if not start <= va < end}
        if doomed:
            self.on_unmap(self, self._has_code(start, end))

    def discard(self, start: int, end: int) -> None:
        """Drop the pages of [start, end) but keep the regions (madvise MADV_DONTNEED): private
        anonymous memory reads as zeros again, a private file mapping shows the file again, a
        shared mapping loses nothing."""
        self._drop_pages(start & PAGE_MASK, page_up(end))

    # --- mapped files -----------------------------------------------------------------------

    def _file_ranges(self, cache: PageCache) -> Iterator[tuple[Region, int, int]]:
        """(region, first page index, page count) of every region mapping ``cache``."""
        for region in self.regions:
            if region.mapped is not None and region.mapped.cache is cache:
                yield region, region.offset >> PAGE_SHIFT, (region.end - region.start) >> PAGE_SHIFT

    def drop_file_pages(self, cache: PageCache, first: int) -> None:
        """The file shrank to ``first`` pages: unmap its pages from there on (a private copy
        too), so that touching them is SIGBUS."""
        for region, index, count in self._file_ranges(cache):
            if index + count > first:
                self._drop_pages(region.start + max(first - index, 0) * PAGE_SIZE, region.end)

    def protect_file_pages(self, cache: PageCache, indexes: list[int]) -> None:
        """Pages ``indexes`` (sorted) of the file were written back: shared mappings may no
        longer write them without telling the cache."""
        changed = False
        for region, index, count in self._file_ranges(cache):
            if not region.mapped.shared:
                continue
            executable = bool(region.prot & PROT_EXEC)
            for i in indexes[bisect.bisect_left(indexes, index) : bisect.bisect_left(indexes, index + count)]:
                va = region.start + (i - index) * PAGE_SIZE
                if va in self.present:
                    self.page_table.protect(va, False, executable)
                    changed = True
        if changed:
            self._forget_pages()
            self.on_unmap(self, False)  # write rights only: the contents stay

    def sync_range(self, start: int, end: int) -> None:
        """Write back what shared mappings of files in [start, end) changed (msync)."""
        for region in self.regions.between(start, end):
            mapped = region.mapped
            if mapped is not None and mapped.shared:
                low, high = max(region.start, start), min(region.end, end)
                mapped.cache.sync(
                    region.offset_of(low) >> PAGE_SHIFT, (region.offset_of(high) - 1) >> PAGE_SHIFT
                )

    def resident(self, start: int, end: int) -> bytes:
        """One byte per page of [start, end): 1 when the page is in memory (mincore)."""
        out = bytearray()
        for va in range(start, end, PAGE_SIZE):
            if va in self.present or va in self.hidden:
                out.append(1)
                continue
            region = self.regions.find(va)
            mapped = region.mapped if region is not None else None
            out.append(int(mapped is not None and (region.offset_of(va) >> PAGE_SHIFT) in mapped.cache.pages))
        return bytes(out)

    def move_range(self, old: int, length: int, new: int) -> None:
        """Move the mapping [old, old+length) to ``new`` (free, or replaced), pages and all
        (mremap): the frames change address, not contents."""
        regions = self.regions.between(old, old + length)
        self._drop_pages(new, new + length)
        for region in regions:
            low, high = max(region.start, old), min(region.end, old + length)
            offset = region.offset_of(low) if region.mapped is not None else 0
            if not self.regions.insert(
                new + (low - old), new + (high - old), region.prot, region.name, region.mapped, offset
            ):
                raise BadAddress(new, "map")
        self._forget_pages()
        delta = new - old
        for store in (self.present, self.hidden):
            for va in self._pages_in(store, old, old + length):
                frame = store.pop(va)
                if store is self.present:
                    entry = self.page_table.lookup(va)
                    self.page_table.unmap(va)
                    self.page_table.map(va + delta, frame, entry[1], entry[2])
                store[va + delta] = frame
        moved = [va for va in self.pinned if old <= va < old + length]
        self.pinned.difference_update(moved)
        self.pinned.update(va + delta for va in moved)
        self.regions.remove(old, old + length)
        self.on_unmap(self, any(region.prot & PROT_EXEC for region in regions))

    # --- whole address spaces ------------------------------------------------------------------

    def fork(self, page_table: PageTable) -> AddressSpace:
        """A copy of this address space on ``page_table``: the same regions, every page shared
        copy-on-write (pages of shared mappings stay shared, pinned pages are copied)."""
        child = AddressSpace(self.memory, page_table, self.limit)
        child.on_unmap, child.on_code_write = self.on_unmap, self.on_code_write
        child.on_release = self.on_release
        clones: dict[int, MappedFile] = {}

        def remap(mapped: MappedFile) -> MappedFile:
            twin = clones.get(id(mapped))
            if twin is None:
                twin = clones[id(mapped)] = mapped.clone_for(child)
            return twin

        child.regions = self.regions.copy(remap)
        present, memory = self.present, self.memory
        shared = [va for r in self.regions if r.mapped is not None and r.mapped.shared
                  for va in self._pages_in(present, r.start, r.end)]  # fmt: skip
        pinned = [va for va in self.pinned if va in present]
        if shared or pinned:
            kept = set(shared) | set(pinned)
            private = [va for va in present if va not in kept]
        else:
            private = list(present)
        try:
            for va in pinned:
                copy = memory.alloc_frame()
                memory.copy_frame(present[va], copy)
                child._install(va, copy, *self._rights_of(va))
                child.pinned.add(va)
        except OutOfMemory:
            child.release()
            raise
        self.page_table.share_into(page_table, private, True)
        self.page_table.share_into(page_table, shared, False)
        refs = memory.refs
        child_present = child.present
        for pages in (private, shared):
            for va in pages:
                frame = child_present[va] = present[va]
                refs[frame >> PAGE_SHIFT] += 1
        for va, frame in self.hidden.items():
            refs[frame >> PAGE_SHIFT] += 1
            child.hidden[va] = frame
        if private:
            self._forget_pages()
            self.on_unmap(self, False)  # write rights only: the contents stay
        return child

    def _rights_of(self, va: int) -> tuple[bool, int]:
        entry = self.page_table.lookup(va)
        return entry[1], PROT_EXEC if entry[2] else 0

    def share(self) -> AddressSpace:
        """One more process uses this address space (vfork, clone with CLONE_VM)."""
        self.users += 1
        return self

    def release(self) -> None:
        """One user less; the last frees every page and the page table itself."""
        self.users -= 1
        if self.users > 0:
            return
        memory = self.memory
        refs, free = memory.refs, memory.free_frame
        for frames in (self.present.values(), self.hidden.values()):
            for frame in frames:
                number = frame >> PAGE_SHIFT
                if refs[number] > 1:  # still held elsewhere (copy-on-write, a page cache)
                    refs[number] -= 1
                else:
                    free(frame)
        self.present.clear()
        self.hidden.clear()
        self.pinned.clear()
        self._forget_pages()
        regions, self.regions = self.regions, RegionMap()
        regions.remove(0, 1 << 64)  # lets go of mapped files (writing shared ones back)
        self.page_table.release()
        self.on_release(self)

    # --- kernel access to user memory ------------------------------------------------------

    def _forget_page(self, va: int) -> None:
        self.known_pages.pop(va, None)
        self._ranges.clear()

    def _forget_pages(self) -> None:
        self.known_pages.clear()
        self._ranges.clear()

    def _lookup(self, va: int) -> tuple[int, bool, bool] | None:
        """The page table's entry for the page at ``va`` (through the kernel's cache of them)."""
        page = va & PAGE_MASK
        entry = self.known_pages.get(page)
        if entry is None:
            entry = self.page_table.lookup(page)
            if entry is not None:
                self.known_pages[page] = entry
        return entry

    def allows(self, va: int, length: int, access: str) -> bool:
        """Whether the guest range [va, va+length) may be accessed so (without touching it)."""
        # one test per bound (a chained comparison costs more bytecodes): this is on every read
        if length > 0 and length <= PAGE_SIZE - (va & (PAGE_SIZE - 1)) and va >= 0 and va < self.limit:
            entry = self.known_pages.get(va & PAGE_MASK)  # a page already known present and writable
            if entry is not None and (entry[1] or access == "read"):
                return True
        return va >= 0 and va + length <= self.limit and self.regions.covers(va, va + length, access)

    def _chunks(self, va: int, length: int, access: str) -> list[tuple[int, int]]:
        """(physical address, length) pieces of [va, va+length), faulting pages in as needed;
        pages the kernel has seen are taken from its cache of page-table entries (no fault
        path per page), pages whose frames follow each other make one piece, and the pieces
        of the last ranges copied are remembered."""
        if va < 0 or length < 0 or va + length > self.limit:
            raise BadAddress(va, access)
        writing = access == "write"
        key = (va, length, writing)
        pieces = self._ranges.get(key)
        if pieces is not None:
            return pieces
        pieces = []
        run_start = run_end = -1
        end = va + length
        known = self.known_pages
        while va < end:
            page = va & PAGE_MASK
            entry = known.get(page) or self._lookup(page)
            if entry is not None and (entry[1] or not writing):  # present (and writable)
                frame = entry[0]
            else:
                frame = self.resolve_fault(va, access)
                if frame is None:
                    raise BadAddress(va, access)
            phys = frame + va - page
            piece = PAGE_SIZE - (va - page)
            if piece > end - va:
                piece = end - va
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
        if length > 0 and length <= PAGE_SIZE - offset and va >= 0 and va < self.limit:  # the common case
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
        entry = self.known_pages.get(va & PAGE_MASK)
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
        if length > 0 and length <= PAGE_SIZE - offset and va >= 0 and va < self.limit:  # the common case
            entry = self.known_pages.get(va & PAGE_MASK) or self._lookup(va)
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

    def write_all_or_none(self, va: int, data: bytes | bytearray | memoryview) -> bool:
        """Write ``data`` at ``va`` if the whole range may be written (:meth:`allows`), and say
        whether it was: nothing is written otherwise (a signal frame is all there or absent)."""
        offset = va & (PAGE_SIZE - 1)
        if 0 <= va < self.limit and len(data) <= PAGE_SIZE - offset:
            entry = self.known_pages.get(va & PAGE_MASK)  # a page known present and writable
            if entry is not None and entry[1]:
                start = entry[0] + offset
                self.memory.bytes[start : start + len(data)] = data
                if self.memory.is_code(entry[0]):
                    self.on_code_write(self)
                return True
        if not self.allows(va, len(data), "write"):
            return False
        self.write(va, data)
        return True

    def holds(self, va: int, data: bytes) -> bool:
        """Whether the guest memory at ``va`` holds ``data`` (False where it cannot be read)."""
        offset = va & (PAGE_SIZE - 1)
        if 0 <= va < self.limit and len(data) <= PAGE_SIZE - offset:
            entry = self.known_pages.get(va & PAGE_MASK)  # a present page is readable
            if entry is not None:
                start = entry[0] + offset
                # as bytes: a memoryview compares item by item, ten times slower than memcmp
                return self.memory.bytes[start : start + len(data)].tobytes() == data
        try:
            return self.read(va, len(data)) == data
        except BadAddress:
            return False

    def read_u64(self, va: int) -> int:
        return int.from_bytes(self.read(va, 8), "little")

    def write_u64(self, va: int, value: int) -> None:
        self.write(va, (value & 0xFFFF_FFFF_FFFF_FFFF).to_bytes(8, "little"))

    # --- debugger access (as ptrace's): past protections ------------------------------------

    def _debug_frame(self, page: int) -> int | None:
        frame = self.present.get(page)
        return frame if frame is not None else self.hidden.get(page)

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
                out += self._untouched(page, offset, piece)
            else:
                out += self.memory.bytes[frame + offset : frame + offset + piece]
        return bytes(out)

    def _untouched(self, page: int, offset: int, length: int) -> bytes:
        """What an absent page would show: zeros, or its file's contents."""
        region = self.regions.find(page)
        if region is None or region.mapped is None:
            return bytes(length)
        data = region.mapped.cache.read(region.offset_of(page) + offset, length)
        return data + bytes(length - len(data))

    def poke(self, va: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at ``va`` whatever the protection (a debugger setting a variable or
        patching code); pages not touched yet are made present, and a page shared
        copy-on-write is copied first. Nothing is written, and BadAddress raised, if part of
        the range is in no region; OutOfMemory if no frame is left."""
        view = memoryview(data)
        done = 0
        for page, offset, piece in self._debug_pieces(va, len(view), "write"):
            frame = self._private_frame(page)
            self.memory.bytes[frame + offset : frame + offset + piece] = view[done : done + piece]
            if self.memory.is_code(frame):
                self.on_code_write(self)
            done += piece

    def _private_frame(self, page: int) -> int:
        """The frame of ``page`` the debugger's writes go to: the process's own (a page shared
        copy-on-write is copied first; a shared mapping's page is the file's)."""
        region = self.regions.find(page)
        frame = self._debug_frame(page)
        if frame is None:  # untouched: bring it in as the program would see it
            if region.mapped is not None:
                frame = self._file_frame(page, region, True)
                if frame is None:
                    raise BadAddress(page, "write")
            else:
                frame = self.memory.alloc_frame()
            if region.prot:
                self._install(page, frame, self._writable(region, page, frame, False), region.prot)
            else:
                self.hidden[page] = frame
        if (region.mapped is not None and region.mapped.shared) or self.memory.holders(frame) == 1:
            return frame
        copy = self.memory.alloc_frame()
        self.memory.copy_frame(frame, copy)
        self.memory.free_frame(frame)
        if page in self.present:
            self._forget_page(page)
            self.page_table.map(page, copy, bool(region.prot & PROT_WRITE), bool(region.prot & PROT_EXEC))
            self.present[page] = copy
            self.on_unmap(self, bool(region.prot & PROT_EXEC))
        else:
            self.hidden[page] = copy
        return copy
