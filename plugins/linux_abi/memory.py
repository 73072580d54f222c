"""Memory syscalls: brk, mmap, munmap, mprotect (anonymous memory)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errors import BadAddress
from kernkit.core.physmem import PAGE_SIZE
from kernkit.core.vm import PROT_EXEC, PROT_READ, PROT_WRITE
from kernkit.plugins.linux_abi.errno import EEXIST, EINVAL, ENODEV, ENOMEM

if TYPE_CHECKING:
    from kernkit.core.process import Thread

MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS = 0x01, 0x02, 0x10, 0x20
MAP_FIXED_NOREPLACE = 0x100000
#: mmap without a usable hint places mappings from here upwards.
MMAP_BASE = 0x7F00_0000_0000
PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC


def _page_up(value: int) -> int:
    return (value + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


def sys_brk(t: Thread, addr: int) -> int:
    aspace = t.process.aspace
    if addr < aspace.brk_start:
        return aspace.brk
    old_end, new_end = _page_up(aspace.brk), _page_up(addr)
    if new_end > old_end:
        if any(r.start < new_end and r.end > old_end for r in aspace.regions) or new_end > MMAP_BASE:
            return aspace.brk
        aspace.add_region(old_end, new_end, PROT_READ | PROT_WRITE, "[heap]")
    elif new_end < old_end:
        aspace.remove_range(new_end, old_end)
    aspace.brk = addr
    return addr


def sys_mmap(t: Thread, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    aspace = t.process.aspace
    if length == 0 or length > aspace.limit or prot & ~PROT_MASK:
        return -EINVAL
    if not flags & MAP_ANONYMOUS:
        return -ENODEV  # file mappings arrive with the namespace
    if not flags & (MAP_SHARED | MAP_PRIVATE):
        return -EINVAL
    length = _page_up(length)
    fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)
    if fixed:
        if addr % PAGE_SIZE or addr + length > aspace.limit:
            return -EINVAL
        if flags & MAP_FIXED_NOREPLACE and any(
            r.start < addr + length and r.end > addr for r in aspace.regions
        ):
            return -EEXIST
        start = addr
    else:
        start = aspace.find_free(length, addr, MMAP_BASE if addr < MMAP_BASE else addr)
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


__all__ = ["sys_brk", "sys_mmap", "sys_mprotect", "sys_munmap"]
