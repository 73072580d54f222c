"""procinfo and procdata: pages the kernel and an Akaros process both see.

The kernel allocates their frames when the program is loaded and maps them at fixed addresses
(procinfo read-only to the process), then reads and writes them by physical address.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.vm import PROT_READ, PROT_WRITE
from kernkit.plugins.akaros_abi import layout

if TYPE_CHECKING:
    from kernkit.core.physmem import PhysicalMemory
    from kernkit.core.process import Process

U32, U64 = struct.Struct("<I"), struct.Struct("<Q")


class SharedPages:
    """A run of guest pages backed by frames the kernel knows."""

    def __init__(self, process: Process, address: int, size: int, prot: int, name: str) -> None:
        aspace = process.aspace
        self.memory: PhysicalMemory = aspace.memory
        aspace.add_region(address, address + size, prot, name)
        self.frames = []
        for page in range(0, size, layout.PAGE):
            frame = self.memory.alloc_frame()
            aspace.map_frame(address + page, frame, prot, pinned=True)
            self.frames.append(frame)

    def _at(self, offset: int) -> int:
        return self.frames[offset // layout.PAGE] + offset % layout.PAGE

    def u8(self, offset: int) -> int:
        return self.memory.bytes[self._at(offset)]

    def set_u8(self, offset: int, value: int) -> None:
        self.memory.bytes[self._at(offset)] = value & 0xFF

    def u32(self, offset: int) -> int:
        return U32.unpack_from(self.memory.bytes, self._at(offset))[0]

    def set_u32(self, offset: int, value: int) -> None:
        U32.pack_into(self.memory.bytes, self._at(offset), value & 0xFFFF_FFFF)

    def u64(self, offset: int) -> int:
        return U64.unpack_from(self.memory.bytes, self._at(offset))[0]

    def set_u64(self, offset: int, value: int) -> None:
        U64.pack_into(self.memory.bytes, self._at(offset), value & 0xFFFF_FFFF_FFFF_FFFF)

    def read(self, offset: int, length: int) -> bytes:
        # structures never straddle a page here except user contexts: go byte-range by page
        out = bytearray()
        while length:
            piece = min(length, layout.PAGE - offset % layout.PAGE)
            start = self._at(offset)
            out += self.memory.bytes[start : start + piece]
            offset, length = offset + piece, length - piece
        return bytes(out)

    def write(self, offset: int, data: bytes) -> None:
        done = 0
        while done < len(data):
            piece = min(len(data) - done, layout.PAGE - offset % layout.PAGE)
            start = self._at(offset)
            self.memory.bytes[start : start + piece] = data[done : done + piece]
            offset, done = offset + piece, done + piece


def map_shared_pages(process: Process) -> tuple[SharedPages, SharedPages]:
    info = SharedPages(process, layout.PROCINFO_ADDR, layout.PROCINFO_SIZE, PROT_READ, "[procinfo]")
    data = SharedPages(
        process, layout.PROCDATA_ADDR, layout.PROCDATA_SIZE, PROT_READ | PROT_WRITE, "[procdata]"
    )
    return info, data
