"""Guest backtraces without frame pointers: return addresses found on the stack.

Optimised code keeps no frame chain, so the stack is scanned: a word counts as a return address
when it points just past a call instruction in executable memory (as gdb's heuristics do when
unwind tables are missing). Spurious frames are possible; missing ones are rare.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errors import BadAddress

if TYPE_CHECKING:
    from kernkit.core.vm import AddressSpace

SCAN_BYTES = 8192


def _after_call(aspace: AddressSpace, address: int) -> bool:
    """Whether the bytes before ``address`` end with a call (e8 rel32, or ff /2 forms)."""
    region = aspace.region_at(address - 1)
    if region is None or not region.allows("exec") or address < 6:
        return False
    try:
        before = aspace.read(address - 7, 7)
    except BadAddress:
        return False
    if before[-5] == 0xE8:  # call rel32
        return True
    for length in (2, 3, 4, 6, 7):  # call *reg, *[reg+disp8], *[rip+disp32], ... (ff /2)
        opcode, modrm = before[-length], before[-length + 1]
        if opcode == 0xFF and (modrm >> 3) & 7 == 2:
            return True
    return False


def backtrace(aspace: AddressSpace, pc: int, sp: int, depth: int = 32) -> list[int]:
    """``pc`` then the return addresses found above ``sp``, innermost first."""
    frames = [pc]
    offset = 0
    while offset < SCAN_BYTES and len(frames) < depth:
        try:
            word = aspace.read_u64(sp + offset)
        except BadAddress:
            break
        if word != frames[-1] and _after_call(aspace, word):
            frames.append(word)
        offset += 8
    return frames
