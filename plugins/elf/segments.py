"""Putting an ELF file's PT_LOAD segments into an address space.

A file whose device keeps a page cache (a host file of #root, a #tmpfs file, a 9P file) is
mapped as Linux maps it: each segment a private mapping of the file (pages read when first
touched, shared with every other process running the file until written), the rest of its
last file page zeroed and its bss anonymous memory after. Other files are copied in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.core.errors import ProgramError
from kernkit.core.files import release
from kernkit.core.pagecache import MappedFile
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE, page_up
from kernkit.plugins.ns.api import program_pages

if TYPE_CHECKING:
    from kernkit.core.devices import Chan
    from kernkit.core.kernel import Kernel
    from kernkit.core.pagecache import PageCache
    from kernkit.core.process import Process
    from kernkit.core.vm import AddressSpace
    from kernkit.plugins.elf.headers import ElfHeader, Segment


class Contents:
    """An ELF file to load: its bytes, and its page cache with an open channel on the file
    for mappings to hold (None: copy the segments)."""

    __slots__ = ("data", "path", "pages")

    def __init__(self, data: bytes, path: str, pages: tuple[PageCache, Chan] | None = None) -> None:
        self.data = data
        self.path = path
        self.pages = pages


def load_segments(
    kernel: Kernel, process: Process, header: ElfHeader, data: bytes, program: Any, base: int, name: str
) -> int:
    """Check and map the file's segments at ``base`` (from its page cache when its device keeps
    one), the regions named ``name``; the end of the highest."""
    pages = program_pages(kernel, process, program) if not isinstance(program, str) else None
    contents = Contents(data, str(program), pages)
    try:
        check_segments(process.aspace, header.loads, base, contents)
        return map_segments(process.aspace, header.loads, base, contents, name)
    finally:
        if pages is not None:
            release(pages[1])


def check_segments(aspace: AddressSpace, loads: list[Segment], base: int, contents: Contents) -> None:
    """ProgramError (ENOEXEC) unless every segment lies in the file and in user memory."""
    for seg in loads:
        vaddr = seg.vaddr + base
        if seg.filesz > seg.memsz or seg.offset + seg.filesz > len(contents.data):
            raise ProgramError(f"{contents.path}: truncated or inconsistent segment at {vaddr:#x}")
        if vaddr + seg.memsz > aspace.limit or vaddr < PAGE_SIZE:
            raise ProgramError(f"{contents.path}: segment at {vaddr:#x} lies outside user memory")


def map_segments(aspace: AddressSpace, loads: list[Segment], base: int, contents: Contents, name: str) -> int:
    """Map the (checked) segments at ``base``; the end of the highest one."""
    for seg in loads:
        vaddr = seg.vaddr + base
        if contents.pages is not None and (vaddr - seg.offset) % PAGE_SIZE == 0:
            _map_file_segment(aspace, seg, vaddr, contents.pages, name, contents.path)
        else:
            _copy_segment(aspace, seg, vaddr, contents.data, name)
    return max(seg.vaddr + base + seg.memsz for seg in loads)


def _map_file_segment(
    aspace: AddressSpace, seg: Segment, vaddr: int, pages: tuple[PageCache, Chan], name: str, label: str
) -> None:
    start, file_end, mem_end = vaddr & PAGE_MASK, vaddr + seg.filesz, vaddr + seg.memsz
    anonymous_from = start
    if seg.filesz:
        cache, chan = pages
        mapped = MappedFile(cache, False, aspace, chan, label)
        aspace.add_region(start, file_end, seg.prot, name, mapped, seg.offset - (vaddr - start))
        anonymous_from = page_up(file_end)
        if mem_end > file_end and file_end % PAGE_SIZE:  # the bss starts inside the last page
            aspace.poke(file_end, bytes(anonymous_from - file_end))
    if page_up(mem_end) > anonymous_from:
        aspace.add_region(anonymous_from, mem_end, seg.prot, name)


def _copy_segment(aspace: AddressSpace, seg: Segment, vaddr: int, data: bytes, name: str) -> None:
    prot = seg.prot
    start, end = vaddr & PAGE_MASK, page_up(vaddr + seg.memsz)
    shared = aspace.region_at(start)
    if shared is not None:  # the previous segment ends in this page: share it
        aspace.protect_range(start, start + PAGE_SIZE, shared.prot | prot)
        start += PAGE_SIZE
    if start < end:
        aspace.add_region(start, end, prot, name)
    file_end = vaddr + seg.filesz
    page = vaddr & PAGE_MASK
    while page < file_end:
        lo, hi = max(page, vaddr), min(page + PAGE_SIZE, file_end)
        piece = data[seg.offset + (lo - vaddr) : seg.offset + (hi - vaddr)]
        frame = aspace.present.get(page)
        if frame is None:  # a fresh frame: written before it is mapped (no code to drop yet)
            frame = aspace.memory.alloc_frame()
            aspace.memory.write(frame + (lo - page), piece)
            region = aspace.region_at(page)
            aspace.map_frame(page, frame, region.prot if region else prot)
        else:  # a page the previous segment has too
            aspace.poke(lo, piece)
        page += PAGE_SIZE
