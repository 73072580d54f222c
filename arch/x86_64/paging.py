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

    def _slot(self, va: int, create: bool) -> int | None:
        """Index (in 8-byte words) of the last-level entry for ``va``."""
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
        return (table >> 3) + ((va >> 12) & 511)

    def map(self, va: int, frame: int, writable: bool, executable: bool) -> None:
        slot = self._slot(va, True)
        self.words[slot] = (
            frame | PRESENT | USER | (WRITABLE if writable else 0) | (0 if executable else NO_EXECUTE)
        )

    def unmap(self, va: int) -> int | None:
        slot = self._slot(va, False)
        if slot is None or not self.words[slot] & PRESENT:
            return None
        frame = self.words[slot] & ADDRESS_MASK
        self.words[slot] = 0
        return frame

    def lookup(self, va: int) -> tuple[int, bool, bool] | None:
        """(frame, writable, executable) of the page at ``va``, or None when absent."""
        slot = self._slot(va, False)
        if slot is None:
            return None
        entry = self.words[slot]
        if not entry & PRESENT:
            return None
        return entry & ADDRESS_MASK, bool(entry & WRITABLE), not entry & NO_EXECUTE

    def protect(self, va: int, writable: bool, executable: bool) -> None:
        slot = self._slot(va, False)
        if slot is not None and self.words[slot] & PRESENT:
            frame = self.words[slot] & ADDRESS_MASK
            self.map(va, frame, writable, executable)

    def release(self) -> None:
        """Free the table pages (the mapped frames belong to the address space)."""
        for table in self._tables:
            self.memory.free_frame(table)
        self._tables.clear()


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
