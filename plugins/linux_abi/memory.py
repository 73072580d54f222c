"""Memory syscalls: brk, mmap (anonymous memory and files), munmap, mprotect, mremap, madvise,
mincore, msync, memfd_create.

A file mapping shows the page cache of the file's device (``DeviceDriver.mmap``): MAP_SHARED
maps the cache's frames, so writes through it are the file's contents for read() and every
other mapper; MAP_PRIVATE maps them copy-on-write. MAP_SHARED|MAP_ANONYMOUS memory is a cache
of its own, shared with the children a fork makes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.devices import QTDIR, Chan, DeviceError
from kernkit.core.errnos import (
    EACCES,
    EBADF,
    EEXIST,
    EFAULT,
    EINVAL,
    EIO,
    EMFILE,
    ENODEV,
    ENOMEM,
    ENOSYS,
    EOPNOTSUPP,
    EOVERFLOW,
    EPERM,
    errno_of,
)
from kernkit.core.errors import BadAddress, OutOfMemory
from kernkit.core.pagecache import MappedFile, PageCache
from kernkit.core.physmem import PAGE_SIZE, page_up
from kernkit.core.vm import PROT_EXEC, PROT_READ, PROT_WRITE
from kernkit.plugins.linux_abi.chanio import O_APPEND, O_RDWR, O_WRONLY
from kernkit.plugins.ns.api import devices

if TYPE_CHECKING:
    from kernkit.core.process import Thread
    from kernkit.core.vm import AddressSpace

MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE = 0x01, 0x02, 0x03
MAP_FIXED, MAP_ANONYMOUS, MAP_NORESERVE, MAP_POPULATE = 0x10, 0x20, 0x4000, 0x8000
MAP_HUGETLB, MAP_SYNC, MAP_FIXED_NOREPLACE = 0x40000, 0x80000, 0x100000
#: Flags Linux knows (MAP_SHARED_VALIDATE refuses others with EOPNOTSUPP): GROWSDOWN,
#: DENYWRITE, EXECUTABLE, LOCKED, NONBLOCK, STACK and the huge page size bits are accepted
#: and mean nothing more here.
MAP_KNOWN = 0x03 | 0x10 | 0x20 | 0x100 | 0x800 | 0x1000 | 0x2000 | 0x4000 | 0x8000 | 0x10000 | 0x20000
MAP_KNOWN |= MAP_HUGETLB | MAP_SYNC | MAP_FIXED_NOREPLACE | (0x3F << 26)
MREMAP_MAYMOVE, MREMAP_FIXED, MREMAP_DONTUNMAP = 1, 2, 4
MS_ASYNC, MS_INVALIDATE, MS_SYNC = 1, 2, 4
MADV_DONTNEED, MADV_FREE, MADV_REMOVE = 4, 8, 9
MADV_POPULATE_READ, MADV_POPULATE_WRITE = 22, 23
#: Advice that only steers a kernel's caching (or features not modelled: KSM, huge pages):
#: accepted, with nothing to do.
MADV_HINTS = {0, 1, 2, 3, 12, 13, 14, 15, 16, 17, 20, 21}
MFD_CLOEXEC, MFD_KNOWN = 1, 0x1F
#: mincore reports this many pages at a time.
MINCORE_CHUNK = 1 << 16
MFD_NAME_MAX = 249
#: mmap without a usable hint places mappings from here upwards.
MMAP_BASE = 0x7F00_0000_0000
#: Like Linux's vm.mmap_min_addr: the first 64 KiB stay unmapped so NULL dereferences fault.
MMAP_MIN_ADDR = 0x10000
PROT_MASK = PROT_READ | PROT_WRITE | PROT_EXEC
#: Linux's PROT_GROWSDOWN / PROT_GROWSUP bits of mprotect (accepted, not modelled).
PROT_GROWS = 0x0100_0000 | 0x0200_0000
PROT_SEM = 0x8
U64 = 1 << 64


class ProgramBreak:
    """Where the heap starts (end of the program's data) and where ``brk`` has put its end."""

    __slots__ = ("start", "current")

    def __init__(self, start: int, current: int) -> None:
        self.start = start
        self.current = current


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


def _place(aspace: AddressSpace, addr: int, length: int, flags: int) -> int:
    """Where a new mapping of ``length`` bytes goes, or a negative errno."""
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr % PAGE_SIZE:
            return -EINVAL
        if addr < MMAP_MIN_ADDR or addr + length > aspace.limit:
            return -EPERM if addr < MMAP_MIN_ADDR else -ENOMEM
        if flags & MAP_FIXED_NOREPLACE and aspace.regions.overlaps(addr, addr + length):
            return -EEXIST
        return addr
    hinted = addr & ~(PAGE_SIZE - 1)
    fits = hinted >= MMAP_MIN_ADDR and hinted + length <= aspace.limit
    if fits and not aspace.regions.overlaps(hinted, hinted + length):  # a hint is only a hint
        return hinted
    start = aspace.find_free(length, MMAP_BASE) or aspace.find_free(length, MMAP_MIN_ADDR)
    return -ENOMEM if start is None else start


def _file_of(t: Thread, fd: int, prot: int, shared: bool) -> PageCache | int:
    """The page cache to map of descriptor ``fd``, or a negative errno (as Linux checks)."""
    chan = t.process.files.get(fd)
    if chan is None:
        return -EBADF
    if type(chan) is not Chan or chan.qid.type & QTDIR:
        return -ENODEV
    access = chan.mode & 3
    if access == O_WRONLY:
        return -EACCES
    if shared and prot & PROT_WRITE and (access != O_RDWR or chan.flags & O_APPEND):
        return -EACCES
    try:
        return chan.driver.mmap(chan)
    except DeviceError as exc:
        return -errno_of(exc.code)


def sys_mmap(t: Thread, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    aspace = t.process.aspace
    anonymous = bool(flags & MAP_ANONYMOUS)
    fd = fd & 0xFFFF_FFFF
    if not anonymous and t.process.files.get(fd) is None:
        return -EBADF
    kind = flags & MAP_SHARED_VALIDATE
    prot &= PROT_MASK  # Linux's mmap ignores other bits (PROT_SEM, ...); mprotect does not
    if length == 0 or offset % PAGE_SIZE or kind == 0:
        return -EINVAL
    if kind == MAP_SHARED_VALIDATE and flags & ~MAP_KNOWN:
        return -EOPNOTSUPP
    if flags & MAP_HUGETLB:
        return -ENOMEM  # no huge page pool, as on a Linux without one reserved
    if length > aspace.limit:
        return -ENOMEM
    length = page_up(length)
    shared = kind != MAP_PRIVATE
    if not anonymous and offset + length >= U64 >> 1:
        return -EOVERFLOW
    cache: PageCache | None = None
    chan = None
    if not anonymous:
        found = _file_of(t, fd, prot, shared)
        if isinstance(found, int):
            return found
        cache, chan = found, t.process.files.get(fd)
    elif shared:
        offset = 0
    start = _place(aspace, addr, length, flags)
    if start < 0:
        return start
    if anonymous and shared:
        cache = PageCache(aspace.memory, length, transient=True)
    mapped = None
    if cache is not None:
        label = chan.path if chan is not None else "/dev/zero (deleted)"
        mapped = MappedFile(cache, shared, aspace, chan, label)
    name = "anon" if mapped is None else mapped.label
    try:
        aspace.add_region(start, start + length, prot, name, mapped, offset if mapped else 0)
    except BadAddress:
        return -ENOMEM
    if flags & MAP_POPULATE:
        _populate(aspace, start, start + length, "write" if prot & PROT_WRITE and shared else "read")
    return start


def _populate(aspace: AddressSpace, start: int, end: int, access: str) -> bool:
    """Fault the pages of [start, end) in for ``access``; False at the first that cannot be."""
    for va in range(start, end, PAGE_SIZE):
        try:
            if aspace.resolve_fault(va, access) is None:
                return False
        except OutOfMemory:
            return False
    return True


def sys_munmap(t: Thread, addr: int, length: int) -> int:
    if addr % PAGE_SIZE or length == 0 or addr + length > t.process.aspace.limit:
        return -EINVAL
    t.process.aspace.remove_range(addr, addr + length)
    return 0


def sys_mprotect(t: Thread, addr: int, length: int, prot: int) -> int:
    if addr % PAGE_SIZE or prot & ~(PROT_MASK | PROT_SEM | PROT_GROWS):
        return -EINVAL
    if length == 0:
        return 0
    if addr + page_up(length) > t.process.aspace.limit:
        return -ENOMEM
    return 0 if t.process.aspace.protect_range(addr, addr + length, prot & PROT_MASK) else -ENOMEM


def sys_mremap(t: Thread, old: int, old_size: int, new_size: int, flags: int, new_addr: int) -> int:
    aspace = t.process.aspace
    if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP) or old % PAGE_SIZE:
        return -EINVAL
    if flags & (MREMAP_FIXED | MREMAP_DONTUNMAP) and not flags & MREMAP_MAYMOVE:
        return -EINVAL
    if new_size > aspace.limit:
        return -EINVAL
    if old_size > aspace.limit:
        return -EFAULT
    old_size, new_size = page_up(old_size), page_up(new_size)
    if new_size == 0:
        return -EINVAL
    region = aspace.region_at(old)
    if region is None:
        return -EFAULT
    duplicate = old_size == 0
    if duplicate and (region.mapped is None or not region.mapped.shared or not flags & MREMAP_MAYMOVE):
        return -EINVAL  # a second view of the same pages: shared mappings only
    if old + old_size > region.end:
        return -EFAULT  # the old range must lie in one mapping
    if flags & MREMAP_DONTUNMAP and (old_size != new_size or region.mapped is not None):
        return -EINVAL
    if flags & MREMAP_FIXED:
        if new_addr % PAGE_SIZE or new_addr < MMAP_MIN_ADDR or new_addr + new_size > aspace.limit:
            return -EINVAL
        if new_addr < old + max(old_size, 1) and old < new_addr + new_size:
            return -EINVAL  # the ranges overlap
        return _move(aspace, old, old_size, new_size, new_addr, flags)
    if new_size <= old_size:
        if new_size < old_size:
            aspace.remove_range(old + new_size, old + old_size)
        return old
    end = old + new_size
    if not duplicate and end <= aspace.limit and not aspace.regions.overlaps(old + old_size, end):
        return _extend(aspace, old, old_size, new_size)
    if not flags & MREMAP_MAYMOVE:
        return -ENOMEM
    target = aspace.find_free(new_size, MMAP_BASE) or aspace.find_free(new_size, MMAP_MIN_ADDR)
    if target is None:
        return -ENOMEM
    return _move(aspace, old, old_size, new_size, target, flags)


def _extend(aspace: AddressSpace, start: int, size: int, new_size: int) -> int:
    """Grow the mapping at ``start`` in place to ``new_size`` bytes (the space after is free)."""
    region = aspace.region_at(start + size - 1)
    offset = region.offset_of(start + size) if region.mapped is not None else 0
    try:
        aspace.add_region(start + size, start + new_size, region.prot, region.name, region.mapped, offset)
    except BadAddress:
        return -ENOMEM
    return start


def _move(aspace: AddressSpace, old: int, old_size: int, new_size: int, target: int, flags: int) -> int:
    """Move (or, with old_size 0, duplicate) the mapping at ``old`` to ``target``, sized
    ``new_size``."""
    region = aspace.region_at(old)
    if old_size == 0:
        try:
            aspace.add_region(
                target, target + new_size, region.prot, region.name, region.mapped, region.offset_of(old)
            )
        except BadAddress:
            return -ENOMEM
        return target
    if new_size < old_size:
        aspace.remove_range(old + new_size, old + old_size)
        old_size = new_size
    prot, name = region.prot, region.name
    try:
        aspace.move_range(old, old_size, target)
        if new_size > old_size:
            _extend(aspace, target, old_size, new_size)
        if flags & MREMAP_DONTUNMAP:  # the old range stays, empty (anonymous memory only)
            aspace.add_region(old, old + old_size, prot, name)
    except BadAddress:
        return -ENOMEM
    return target


def _mapped_throughout(aspace: AddressSpace, start: int, end: int) -> bool:
    return end <= aspace.limit and aspace.regions.covers(start, end)


def sys_madvise(t: Thread, addr: int, length: int, advice: int) -> int:
    aspace = t.process.aspace
    if addr % PAGE_SIZE or addr + length >= aspace.limit + PAGE_SIZE:
        return -EINVAL
    known = advice in MADV_HINTS or advice in (MADV_DONTNEED, MADV_FREE, MADV_REMOVE)
    if not known and advice not in (MADV_POPULATE_READ, MADV_POPULATE_WRITE):
        return -EINVAL  # DONTFORK/WIPEONFORK and the rest are not modelled
    if length == 0:
        return 0
    end = addr + page_up(length)
    regions = aspace.regions.between(addr, end)
    if advice in (MADV_DONTNEED, MADV_FREE):
        aspace.discard(addr, end)
    elif advice == MADV_REMOVE:
        if any(r.mapped is None or not r.mapped.shared for r in regions):
            return -EINVAL
        for region in regions:  # a hole in the file: its pages read as zeros
            low, high = max(region.start, addr), min(region.end, end)
            cache = region.mapped.cache
            offset = region.offset_of(low)
            size = max(min(high - low, cache.size - offset), 0)
            if size:
                cache.write(offset, bytes(size))
    elif advice in (MADV_POPULATE_READ, MADV_POPULATE_WRITE):
        if not _mapped_throughout(aspace, addr, end):
            return -ENOMEM
        access = "read" if advice == MADV_POPULATE_READ else "write"
        if not _populate(aspace, addr, end, access):
            return -EFAULT
        return 0
    return 0 if _mapped_throughout(aspace, addr, end) else -ENOMEM


def sys_mincore(t: Thread, addr: int, length: int, vec: int) -> int:
    aspace = t.process.aspace
    if addr % PAGE_SIZE:
        return -EINVAL
    end = addr + page_up(length)
    if end > aspace.limit or end < addr:
        return -ENOMEM
    if not _mapped_throughout(aspace, addr, end):
        return -ENOMEM
    chunk = MINCORE_CHUNK * PAGE_SIZE
    for start in range(addr, end, chunk):  # a piece at a time: a bad vector stops it early
        aspace.write(vec + (start - addr) // PAGE_SIZE, aspace.resident(start, min(start + chunk, end)))
    return 0


def sys_msync(t: Thread, addr: int, length: int, flags: int) -> int:
    aspace = t.process.aspace
    if flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) or addr % PAGE_SIZE:
        return -EINVAL
    if flags & MS_ASYNC and flags & MS_SYNC:
        return -EINVAL
    end = addr + page_up(length)
    if end > aspace.limit:
        return -ENOMEM
    if not _mapped_throughout(aspace, addr, end):
        return -ENOMEM
    try:
        aspace.sync_range(addr, end)
    except DeviceError:
        return -EIO
    return 0


def sys_memfd_create(t: Thread, name: int, flags: int) -> int:
    if flags & ~MFD_KNOWN:
        return -EINVAL
    text = t.process.aspace.read_cstring(name, MFD_NAME_MAX + 1)
    if text is None:
        return -EINVAL
    try:
        tmpfs = devices(t.kernel).driver("tmpfs")
    except DeviceError:
        return -ENOSYS  # no #tmpfs in this kernel: nowhere to keep the file
    name = text.decode("utf-8", "surrogateescape")
    try:
        chan = tmpfs.anonymous(f"memfd:{name}", 0o777, caller=t)
    except DeviceError as exc:
        return -errno_of(exc.code)
    chan.path = f"/memfd:{name} (deleted)"
    chan.flags = O_RDWR
    fd = t.process.files.install(chan, cloexec=bool(flags & MFD_CLOEXEC))
    if fd < 0:
        chan.close()
        return -EMFILE
    return fd
