"""Mapping an ELF64 executable's PT_LOAD segments into a process's address space."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from kernkit.core.errors import ProgramError
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE
from kernkit.core.records import LoadedImage
from kernkit.core.vm import PROT_EXEC, PROT_READ, PROT_WRITE

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process
    from kernkit.core.vm import AddressSpace

ELF_MAGIC = b"\x7fELF"
#: Where position-independent static programs are placed (as Linux does for PIE).
PIE_BASE = 0x5555_5555_4000
PF_X, PF_W, PF_R = 1, 2, 4


def load_elf(kernel: Kernel, process: Process, data: bytes, path: str) -> LoadedImage:
    try:
        return _load(kernel, process.aspace, data, path)
    except ELFError as exc:
        raise ProgramError(f"{path}: malformed ELF file: {exc}") from None
    except (ValueError, KeyError, IndexError, AssertionError) as exc:
        raise ProgramError(f"{path}: malformed ELF file: {exc or type(exc).__name__}") from None


def _load(kernel: Kernel, aspace: AddressSpace, data: bytes, path: str) -> LoadedImage:
    elf = ELFFile(io.BytesIO(data))
    if elf.elfclass != 64 or not elf.little_endian:
        raise ProgramError(
            f"{path}: a {elf.elfclass}-bit ELF file; this kernel runs 64-bit little-endian programs"
        )
    number, wanted = int.from_bytes(data[18:20], "little"), kernel.arch.elf_machine
    if number != wanted:
        raise ProgramError(
            f"{path}: ELF for machine {elf.header.e_machine} ({number}), but this kernel's "
            f"architecture is {kernel.arch.name} (e_machine {wanted})"
        )
    kind = elf.header.e_type
    segments = list(elf.iter_segments())
    if any(seg.header.p_type == "PT_INTERP" for seg in segments):
        raise ProgramError(f"{path}: dynamically linked; kernkit runs static programs (link with -static)")
    if kind == "ET_EXEC":
        base = 0
    elif kind == "ET_DYN":
        base = PIE_BASE
    else:
        raise ProgramError(f"{path}: ELF type {kind} is not an executable")
    loads = [seg for seg in segments if seg.header.p_type == "PT_LOAD"]
    if not loads:
        raise ProgramError(f"{path}: no loadable segments")
    end = 0
    for seg in loads:
        end = max(end, _map_segment(aspace, data, seg.header, base, path))
    phdr = _phdr_address(elf, segments, loads, base)
    return LoadedImage(
        entry=base + elf.header.e_entry,
        phdr=phdr,
        phent=elf.header.e_phentsize,
        phnum=elf.header.e_phnum,
        brk=(end + PAGE_SIZE - 1) & PAGE_MASK,
        base=base,
        path=path,
    )


def _map_segment(aspace: AddressSpace, data: bytes, header, base: int, path: str) -> int:  # noqa: ANN001
    vaddr, memsz, filesz, offset = header.p_vaddr + base, header.p_memsz, header.p_filesz, header.p_offset
    if filesz > memsz or offset + filesz > len(data):
        raise ProgramError(f"{path}: truncated or inconsistent segment at {vaddr:#x}")
    if vaddr + memsz > aspace.limit or vaddr < PAGE_SIZE:
        raise ProgramError(f"{path}: segment at {vaddr:#x} lies outside user memory")
    prot = (
        (PROT_READ if header.p_flags & PF_R else 0)
        | (PROT_WRITE if header.p_flags & PF_W else 0)
        | (PROT_EXEC if header.p_flags & PF_X else 0)
    )
    start, end = vaddr & PAGE_MASK, (vaddr + memsz + PAGE_SIZE - 1) & PAGE_MASK
    shared = aspace.region_at(start)
    if shared is not None:  # the previous segment ends in this page: share it
        shared.prot |= prot
        start += PAGE_SIZE
    if start < end:
        aspace.add_region(start, end, prot, "program")
    file_end = vaddr + filesz
    page = vaddr & PAGE_MASK
    while page < file_end:
        entry = aspace.page_table.lookup(page)
        frame = entry[0] if entry else aspace.memory.alloc_frame()
        lo, hi = max(page, vaddr), min(page + PAGE_SIZE, file_end)
        chunk = data[offset + (lo - vaddr) : offset + (hi - vaddr)]
        aspace.memory.write(frame + (lo - page), chunk)
        region = aspace.region_at(page)
        aspace.map_frame(page, frame, region.prot if region else prot)
        page += PAGE_SIZE
    return vaddr + memsz


def _phdr_address(elf: ELFFile, segments: list, loads: list, base: int) -> int:
    for seg in segments:
        if seg.header.p_type == "PT_PHDR":
            return base + seg.header.p_vaddr
    phoff = elf.header.e_phoff
    for seg in loads:
        if seg.header.p_offset <= phoff < seg.header.p_offset + seg.header.p_filesz:
            return base + seg.header.p_vaddr + (phoff - seg.header.p_offset)
    return 0
