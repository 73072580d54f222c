"""Mapping an ELF64 executable's PT_LOAD segments into a process's address space.

Headers are read with ``struct`` (loading is on the boot path); symbols, needed only for
reports, are read lazily with pyelftools.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import attrs

from kernkit.core.errors import ProgramError
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE
from kernkit.core.records import LoadedImage
from kernkit.core.vm import PROT_EXEC, PROT_READ, PROT_WRITE
from kernkit.plugins.elf.symbols import Symbolizer

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process
    from kernkit.core.vm import AddressSpace

ELF_MAGIC = b"\x7fELF"
#: Where position-independent static programs are placed (as Linux does for PIE).
PIE_BASE = 0x5555_5555_4000
PF_X, PF_W, PF_R = 1, 2, 4
PT_LOAD, PT_INTERP, PT_NOTE, PT_PHDR = 1, 3, 4, 6
#: A note (name "kernkit", type 1) whose text names the personality a program is built for.
KERNKIT_NOTE, NOTE_PERSONALITY = b"kernkit", 1
ET_EXEC, ET_DYN = 2, 3
EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")


@attrs.frozen
class Segment:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


@attrs.frozen
class ElfHeader:
    type: int
    machine: int
    entry: int
    phoff: int
    phentsize: int
    phnum: int
    segments: tuple[Segment, ...]


def parse(data: bytes, path: str) -> ElfHeader:
    """The ELF header and program headers; ProgramError for anything malformed."""
    if len(data) < EHDR.size or data[:4] != ELF_MAGIC:
        raise ProgramError(f"{path}: not an ELF file")
    ident, etype, machine, _, entry, phoff, _, _, _, phentsize, phnum, _, _, _ = EHDR.unpack_from(data)
    if ident[4] != 2 or ident[5] != 1:
        bits = {1: "32-bit", 2: "64-bit"}.get(ident[4], "unknown-class")
        order = {1: "little-endian", 2: "big-endian"}.get(ident[5], "unknown byte order")
        raise ProgramError(f"{path}: a {bits} {order} ELF file; this kernel runs 64-bit little-endian ones")
    if phnum == 0 or phentsize != PHDR.size or phoff + phnum * phentsize > len(data):
        raise ProgramError(f"{path}: malformed ELF file: bad program header table")
    segments = tuple(
        Segment(*(PHDR.unpack_from(data, phoff + i * phentsize)[j] for j in (0, 1, 2, 3, 5, 6)))
        for i in range(phnum)
    )
    return ElfHeader(etype, machine, entry, phoff, phentsize, phnum, segments)


def load_elf(kernel: Kernel, process: Process, data: bytes, path: str) -> LoadedImage:
    header = parse(data, path)
    wanted = kernel.arch.machine_ids.get("elf")
    if header.machine != wanted:
        raise ProgramError(
            f"{path}: ELF for machine {header.machine}, but this kernel's architecture is "
            f"{kernel.arch.name} (e_machine {wanted})"
        )
    if any(seg.type == PT_INTERP for seg in header.segments):
        raise ProgramError(f"{path}: dynamically linked; kernkit runs static programs (link with -static)")
    if header.type not in (ET_EXEC, ET_DYN):
        raise ProgramError(f"{path}: ELF type {header.type} is not an executable")
    base = 0 if header.type == ET_EXEC else PIE_BASE
    loads = [seg for seg in header.segments if seg.type == PT_LOAD]
    if not loads:
        raise ProgramError(f"{path}: no loadable segments")
    end = max(_map_segment(process.aspace, data, seg, base, path) for seg in loads)
    return LoadedImage(
        entry=base + header.entry,
        phdr=_phdr_address(header, loads, base),
        phent=header.phentsize,
        phnum=header.phnum,
        brk=(end + PAGE_SIZE - 1) & PAGE_MASK,
        base=base,
        path=path,
        personality=_personality_note(data, header),
        symbolize=Symbolizer(data, base),
    )


def _map_segment(aspace: AddressSpace, data: bytes, seg: Segment, base: int, path: str) -> int:
    vaddr = seg.vaddr + base
    if seg.filesz > seg.memsz or seg.offset + seg.filesz > len(data):
        raise ProgramError(f"{path}: truncated or inconsistent segment at {vaddr:#x}")
    if vaddr + seg.memsz > aspace.limit or vaddr < PAGE_SIZE:
        raise ProgramError(f"{path}: segment at {vaddr:#x} lies outside user memory")
    prot = (
        (PROT_READ if seg.flags & PF_R else 0)
        | (PROT_WRITE if seg.flags & PF_W else 0)
        | (PROT_EXEC if seg.flags & PF_X else 0)
    )
    start, end = vaddr & PAGE_MASK, (vaddr + seg.memsz + PAGE_SIZE - 1) & PAGE_MASK
    shared = aspace.region_at(start)
    if shared is not None:  # the previous segment ends in this page: share it
        aspace.protect_range(start, start + PAGE_SIZE, shared.prot | prot)
        start += PAGE_SIZE
    if start < end:
        aspace.add_region(start, end, prot, "program")
    file_end = vaddr + seg.filesz
    page = vaddr & PAGE_MASK
    while page < file_end:
        entry = aspace.page_table.lookup(page)
        frame = entry[0] if entry else aspace.memory.alloc_frame()
        lo, hi = max(page, vaddr), min(page + PAGE_SIZE, file_end)
        aspace.memory.write(frame + (lo - page), data[seg.offset + (lo - vaddr) : seg.offset + (hi - vaddr)])
        region = aspace.region_at(page)
        aspace.map_frame(page, frame, region.prot if region else prot)
        page += PAGE_SIZE
    return vaddr + seg.memsz


def _phdr_address(header: ElfHeader, loads: list[Segment], base: int) -> int:
    for seg in header.segments:
        if seg.type == PT_PHDR:
            return base + seg.vaddr
    for seg in loads:
        if seg.offset <= header.phoff < seg.offset + seg.filesz:
            return base + seg.vaddr + (header.phoff - seg.offset)
    return 0


def _personality_note(data: bytes, header: ElfHeader) -> str | None:
    """The personality named by a kernkit note in a PT_NOTE segment, if there is one."""
    for seg in header.segments:
        if seg.type != PT_NOTE:
            continue
        at, end = seg.offset, min(seg.offset + seg.filesz, len(data))
        while at + 12 <= end:
            namesz, descsz, kind = struct.unpack_from("<III", data, at)
            name_at = at + 12
            desc_at = name_at + ((namesz + 3) & ~3)
            next_at = desc_at + ((descsz + 3) & ~3)
            if next_at > end:
                break
            name = data[name_at : name_at + namesz].rstrip(b"\0")
            if name == KERNKIT_NOTE and kind == NOTE_PERSONALITY:
                text = data[desc_at : desc_at + descsz].split(b"\0", 1)[0]
                return text.decode("ascii", "replace") or None
            at = next_at
    return None
