"""x86-64 4-level page tables kept in the machine's physical memory."""

from __future__ import annotations

from kernkit.core.physmem import PAGE_SIZE, PhysicalMemory

PRESENT, WRITABLE, USER = 1 << 0, 1 << 1, 1 << 2
NO_EXECUTE = 1 << 63
ADDRESS_MASK = 0x000F_FFFF_FFFF_F000
#: Bits of the virtual address that index each level, PML4 first.
LEVEL_SHIFTS = (39, 30, 21, 12)


class X86PageTable:
    """PML4 -> PDPT -> PD -> PT, 4 KiB pages, in the format the CPU walks.

    ``root`` is the physical address of the PML4 (what CR3 holds).
    """

    def __init__(self, memory: PhysicalMemory) -> None:
        self.memory = memory
        self.words = memory.words
        self.root = memory.alloc_frame()
        self._tables = [self.root]
        #: va >> 21 -> the page table (last level) covering those 2 MiB: a dictionary lookup
        #: instead of a three-level walk. Tables are freed only with the whole address space.
        self._leaves: dict[int, int] = {}

    def _slot(self, va: int, *, create: bool = False) -> int | None:
        """Index (in 8-byte words) of the last-level entry for ``va`` (None where a table on the
        way is absent, unless ``create`` makes it)."""
        table = self._leaves.get(va >> 21)
        if table is not None:
            return (table >> 3) + ((va >> 12) & 511)
        words = self.words
        table = self.root
        for shift in LEVEL_SHIFTS[:3]:
            index = (table >> 3) + ((va >> shift) & 511)
            entry = words[index]
            if not entry & PRESENT:
                if not create:
                    return None
                child = self.memory.alloc_frame()
                self._tables.append(child)
                entry = child | PRESENT | WRITABLE | USER
                words[index] = entry
            table = entry & ADDRESS_MASK
        self._leaves[va >> 21] = table
        return (table >> 3) + ((va >> 12) & 511)

    def map(self, va: int, frame: int, writable: bool, executable: bool) -> None:
        table = self._leaves.get(va >> 21)  # _slot's first step, inline: a first touch's path
        slot = self._slot(va, create=True) if table is None else (table >> 3) + ((va >> 12) & 511)
        self.words[slot] = (
            frame | PRESENT | USER | (WRITABLE if writable else 0) | (0 if executable else NO_EXECUTE)
        )

    def unmap(self, va: int) -> int | None:
        slot = self._slot(va)
        if slot is None or not self.words[slot] & PRESENT:
            return None
        frame = self.words[slot] & ADDRESS_MASK
        self.words[slot] = 0
        return frame

    def lookup(self, va: int) -> tuple[int, bool, bool] | None:
        """(frame, writable, executable) of the page at ``va``, or None when absent."""
        slot = self._slot(va)
        if slot is None:
            return None
        entry = self.words[slot]
        if not entry & PRESENT:
            return None
        return entry & ADDRESS_MASK, bool(entry & WRITABLE), not entry & NO_EXECUTE

    def protect(self, va: int, writable: bool, executable: bool) -> None:
        slot = self._slot(va)
        if slot is not None and self.words[slot] & PRESENT:
            frame = self.words[slot] & ADDRESS_MASK
            self.map(va, frame, writable, executable)

    def share_into(self, child: X86PageTable, pages: list[int], copy_on_write: bool) -> None:
        """Give ``child`` the same entries for ``pages`` (all present here); with
        ``copy_on_write``, both lose the right to write them (the first write copies)."""
        words = self.words
        leaves, child_leaves = self._leaves, child._leaves  # noqa: SLF001 - same class
        keep = ~WRITABLE if copy_on_write else -1
        for va in pages:
            key, index = va >> 21, (va >> 12) & 511
            at = (leaves[key] >> 3) + index
            entry = words[at] & keep
            words[at] = entry
            table = child_leaves.get(key)
            if table is None:
                child._slot(va, create=True)  # noqa: SLF001 - same class; makes the tables on the way
                table = child_leaves[key]
            words[(table >> 3) + index] = entry

    def release(self) -> None:
        """Free the table pages (the mapped frames belong to the address space)."""
        for table in self._tables:
            self.memory.free_frame(table)
        self._tables.clear()
        self._leaves.clear()


def walk(words, root: int, va: int) -> int:  # noqa: ANN001 - a memoryview of 64-bit words
    """The page-table entry for ``va`` (0 when some level is absent). Used on the TLB-fill path."""
    table = root
    for shift in (39, 30, 21):
        entry = words[(table >> 3) + ((va >> shift) & 511)]
        if not entry & PRESENT:
            return 0
        table = entry & ADDRESS_MASK
    return words[(table >> 3) + ((va >> 12) & 511)]


__all__ = ["PAGE_SIZE", "X86PageTable", "walk"]
