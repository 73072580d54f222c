"""Reading an ELF64 file's header and program headers (with ``struct``: loading is on the boot
path; symbols, needed only for reports, are read lazily with pyelftools)."""

from __future__ import annotations

import struct

from kernkit.core.errors import ProgramError
from kernkit.core.vm import PROT_EXEC, PROT_READ, PROT_WRITE

ELF_MAGIC = b"\x7fELF"
PF_X, PF_W, PF_R = 1, 2, 4
PT_LOAD, PT_INTERP, PT_NOTE, PT_PHDR = 1, 3, 4, 6
ET_EXEC, ET_DYN = 2, 3
#: A note (name "kernkit", type 1) whose text names the personality a program is built for.
KERNKIT_NOTE, NOTE_PERSONALITY = b"kernkit", 1
EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")


class Segment:
    __slots__ = ("type", "flags", "offset", "vaddr", "filesz", "memsz")

    def __init__(self, type: int, flags: int, offset: int, vaddr: int, filesz: int, memsz: int) -> None:
        self.type = type
        self.flags = flags
        self.offset = offset
        self.vaddr = vaddr
        self.filesz = filesz
        self.memsz = memsz

    @property
    def prot(self) -> int:
        return (
            (PROT_READ if self.flags & PF_R else 0)
            | (PROT_WRITE if self.flags & PF_W else 0)
            | (PROT_EXEC if self.flags & PF_X else 0)
        )


class ElfHeader:
    __slots__ = ("type", "machine", "entry", "phoff", "phentsize", "phnum", "segments")

    def __init__(
        self,
        type: int,
        machine: int,
        entry: int,
        phoff: int,
        phentsize: int,
        phnum: int,
        segments: tuple[Segment, ...],
    ) -> None:
        self.type = type
        self.machine = machine
        self.entry = entry
        self.phoff = phoff
        self.phentsize = phentsize
        self.phnum = phnum
        self.segments = segments

    @property
    def loads(self) -> list[Segment]:
        return [seg for seg in self.segments if seg.type == PT_LOAD]


def parse(data: bytes, path: str, *, any_class: bool = False) -> ElfHeader:
    """The ELF header and program headers; ProgramError for anything malformed. With
    ``any_class`` the header's class and byte order are not looked at (Linux does not, for an
    interpreter)."""
    if len(data) < EHDR.size or data[:4] != ELF_MAGIC:
        raise ProgramError(f"{path}: not an ELF file")
    ident, etype, machine, _, entry, phoff, _, _, _, phentsize, phnum, _, _, _ = EHDR.unpack_from(data)
    if not any_class and (ident[4] != 2 or ident[5] != 1):
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


def phdr_address(header: ElfHeader, base: int) -> int:
    """Where the program headers are in memory (AT_PHDR), or 0 when no segment loads them."""
    for seg in header.segments:
        if seg.type == PT_PHDR:
            return base + seg.vaddr
    for seg in header.loads:
        if seg.offset <= header.phoff < seg.offset + seg.filesz:
            return base + seg.vaddr + (header.phoff - seg.offset)
    return 0


def personality_note(data: bytes, header: ElfHeader) -> str | None:
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
