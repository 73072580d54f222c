"""Memory syscalls: brk, mmap, munmap, mprotect (anonymous memory)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kernkit.core.errnos import EEXIST, EINVAL, ENODEV, ENOMEM, EPERM
from kernkit.core.errors import BadAddress
from kernkit.core.physmem import PAGE_SIZE, page_up
from kernkit.core.vm import PROT_EXEC, PROT_READ, PROT_WRITE

if TYPE_CHECKING:
    from kernkit.core.process import Thread

MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_FIXED_NOREPLACE = 0x100000
#: mmap without a usable hint places mappings from here upwards.
MMAP_BASE = 0x7F00_0000_0000
#: Like Linux's vm.mmap_min_addr: the first 64 KiB stay unmapped so NULL dereferences fault.
MMAP_MIN_ADDR = 0x10000
PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC


@attrs.define
class ProgramBreak:
    """Where the heap starts (end of the program's data) and where ``brk`` has put its end."""

    start: int
    current: int


def sys_brk(t: Thread, addr: int) -> int:
    aspace, brk = t.process.aspace, t.process.data["brk"]
    if addr < brk.start:
        return brk.current
    old_end, new_end = page_up(brk.current), page_up(addr)
    if new_end > old_end:
        if new_end > MMAP_BASE or aspace.regions.overlaps(old_end, new_end):
            return brk.current
        aspace.add_region(old_end, new_end, PROT_READ | PROT_WRITE, "[heap]")
    elif new_end < old_end:
        aspace.remove_range(new_end, old_end)
    brk.current = addr
    return addr


def sys_mmap(t: Thread, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    aspace = t.process.aspace
    if length == 0 or prot & ~PROT_MASK or not flags & (MAP_SHARED | MAP_PRIVATE):
        return -EINVAL
    if length > aspace.limit:
        return -ENOMEM
    if not flags & MAP_ANONYMOUS:
        return -ENODEV  # file mappings arrive with the namespace
    length = page_up(length)
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr % PAGE_SIZE:
            return -EINVAL
        if addr < MMAP_MIN_ADDR or addr + length > aspace.limit:
            return -EPERM if addr < MMAP_MIN_ADDR else -ENOMEM
        if flags & MAP_FIXED_NOREPLACE and aspace.regions.overlaps(addr, addr + length):
            return -EEXIST
        start = addr
    else:
        start = None
        hinted = addr & ~(PAGE_SIZE - 1)
        if hinted >= MMAP_MIN_ADDR and hinted + length <= aspace.limit:  # a hint is only a hint
            start = None if aspace.regions.overlaps(hinted, hinted + length) else hinted
        if start is None:
            start = aspace.find_free(length, MMAP_BASE) or aspace.find_free(length, MMAP_MIN_ADDR)
        if start is None:
            return -ENOMEM
    try:
        aspace.add_region(start, start + length, prot, "anon")
    except BadAddress:
        return -ENOMEM
    return start


def sys_munmap(t: Thread, addr: int, length: int) -> int:
    if addr % PAGE_SIZE or length == 0 or addr + length > t.process.aspace.limit:
        return -EINVAL
    t.process.aspace.remove_range(addr, addr + length)
    return 0


def sys_mprotect(t: Thread, addr: int, length: int, prot: int) -> int:
    if addr % PAGE_SIZE or prot & ~PROT_MASK:
        return -EINVAL
    if length == 0:
        return 0
    return 0 if t.process.aspace.protect_range(addr, addr + length, prot) else -ENOMEM
