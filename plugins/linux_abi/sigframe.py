"""The x86-64 rt_sigframe: what a handler finds on its stack, and what rt_sigreturn restores.

Layout (Linux, arch/x86/include/asm/sigframe.h), from the handler's rsp up::

    +0     pretcode        the handler's return address: sa_restorer (which calls rt_sigreturn)
    +8     ucontext        uc_flags, uc_link, uc_stack (24), uc_mcontext (sigcontext, 256),
                           uc_sigmask (8): 304 bytes
    +312   siginfo         128 bytes
    +440   16 unused bytes
    +456   fpstate         64-byte aligned, XSAVE layout: the 512-byte FXSAVE image (its
                           software-reserved bytes say "xstate follows"), the 64-byte XSAVE
                           header, FP_XSTATE_MAGIC2

sigcontext: r8-r15, rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip, eflags, cs, gs, fs, ss (2
bytes each), err, trapno, oldmask, cr2, fpstate pointer, 8 reserved words. The frame lies below
the interrupted stack's 128-byte red zone (or at the top of the alternate stack), with rsp = 8
mod 16 at the handler's entry, as after a call. The frame and the FPU area are written (and
compared, at rt_sigreturn) as one block of 1036 bytes, registers read into it in one go.
"""

from __future__ import annotations

import struct

#: Offsets in the frame.
UC, SIGINFO, FRAME_SIZE = 8, 312, 440
MCONTEXT = UC + 40
SIGMASK = UC + 40 + 256
RED_ZONE = 128
#: uc_flags: the FPU state is in XSAVE layout, ss is saved and restored as saved.
UC_FP_XSTATE, UC_SIGCONTEXT_SS, UC_STRICT_RESTORE_SS = 1, 2, 4
FP_XSTATE_MAGIC1, FP_XSTATE_MAGIC2 = 0x46505853, 0x46505845
FXSAVE_SIZE, XSAVE_HEADER = 512, 64
XSTATE_SIZE = FXSAVE_SIZE + XSAVE_HEADER  # x87 and SSE: the components this CPU has
FPSTATE_SIZE = XSTATE_SIZE + 4
XFEATURES = 3  # x87 | SSE
#: sigcontext's general registers, in order (glibc's REG_R8 .. REG_EFL).
GREGS = ("r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rdi", "rsi", "rbp", "rbx",
         "rdx", "rax", "rcx", "rsp", "rip", "rflags")  # fmt: skip
USER_CS, USER_DS = 0x33, 0x2B
_SIGCONTEXT_TAIL = struct.Struct("<HHHHQQQQQ")  # cs gs fs ss err trapno oldmask cr2 fpstate
#: eflags bits a frame may change (Linux's FIX_EFLAGS): AC OF DF TF SF ZF AF PF CF RF.
FIX_EFLAGS = 0x40000 | 0x800 | 0x400 | 0x100 | 0x80 | 0x40 | 0x10 | 0x4 | 0x1 | 0x10000
#: Cleared for the handler: DF, TF, RF (and the rest of eflags kept).
HANDLER_CLEARS = 0x400 | 0x100 | 0x10000
HANDLER_KEEPS = 0xFFFF_FFFF_FFFF_FFFF ^ HANDLER_CLEARS


class BadFrame(Exception):
    """A frame that cannot be built or restored; the message names the cause."""


class Trap:
    """What sigcontext says about a fault: trap number, error code, faulting address."""

    __slots__ = ("trapno", "err", "cr2")

    def __init__(self, trapno: int = 0, err: int = 0, cr2: int = 0) -> None:
        self.trapno = trapno
        self.err = err
        self.cr2 = cr2


#: The FPU area is 64-byte aligned, and the frame below it 16-byte aligned less 8 (rsp at a
#: handler's entry, as after a call): always this far below.
FPSTATE_OFFSET = 456


def frame_addresses(sp: int) -> tuple[int, int]:
    """(frame, fpstate) for a frame below ``sp`` (the red zone already skipped, or the top of
    an alternate stack)."""
    fpstate = sp - FPSTATE_SIZE
    fpstate -= fpstate & 63
    return fpstate - FPSTATE_OFFSET, fpstate


#: The FPU area after the FXSAVE image's first 464 bytes: the software bytes saying "xstate
#: follows" (the rest of the image's reserved bytes zero), the XSAVE header, magic 2.
_SW_BYTES = struct.pack("<IIQI", FP_XSTATE_MAGIC1, FPSTATE_SIZE, XFEATURES, XSTATE_SIZE)
_FPSTATE_TAIL = (
    _SW_BYTES.ljust(FXSAVE_SIZE - 464, b"\0")
    + struct.pack("<QQ", XFEATURES, 0).ljust(XSAVE_HEADER, b"\0")
    + struct.pack("<I", FP_XSTATE_MAGIC2)
)


def fpstate_bytes(fxsave: bytes) -> bytes:
    """The FPU area: the FXSAVE image with the XSAVE software bytes, the header, magic 2."""
    return fxsave[:464] + _FPSTATE_TAIL


#: The two are written as one block: the frame, 16 unused bytes, the FPU area.
BLOCK_SIZE = FPSTATE_OFFSET + FPSTATE_SIZE
UC_FLAGS = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS
#: Where the registers go in the block (see Machine.register_image).
BLOCK_FIELDS = (*((name, MCONTEXT + 8 * i) for i, name in enumerate(GREGS)), ("fpu", FPSTATE_OFFSET))
#: What the block holds besides the registers and the fields packed for each frame.
BLOCK_TEMPLATE = bytes(FPSTATE_OFFSET + 464) + _FPSTATE_TAIL
#: pretcode, uc_flags, uc_link, uc_stack (sp, flags, size)
_HEAD = struct.Struct("<QQQQi4xQ")
#: rsp, rip, eflags in the frame's sigcontext: where the thread resumes
RESUME = struct.Struct("<QQQ")
#: uc_sigmask, then the siginfo
_MASK_INFO = struct.Struct("<Q128s")
NO_TRAP = Trap()


#: Where :data:`RESUME` is in a block whose registers were read.
RESUME_AT = MCONTEXT + 15 * 8
#: The saved rax (a system call's result), and where it is.
RAX = struct.Struct("<Q")
RAX_AT = MCONTEXT + 13 * 8


def complete(
    block: memoryview,
    frame: int,
    restorer: int,
    stack: tuple[int, int, int],
    mask: int,
    info: bytes,
    trap: Trap = NO_TRAP,
) -> None:
    """Fill in what an rt_sigframe at ``frame`` holds besides the registers (read into
    ``block`` already): return address, uc_stack (sp, size, flags: as a thread keeps its
    alternate stack), the trap, the FPU area's address, the mask sigreturn restores, the
    siginfo. (Positional: it runs once a signal, and keywords cost a call more.)"""
    sp, size, flags = stack
    _HEAD.pack_into(block, 0, restorer, UC_FLAGS, 0, sp, flags, size)
    _SIGCONTEXT_TAIL.pack_into(
        block, MCONTEXT + 144, USER_CS, 0, 0, USER_DS, trap.err, trap.trapno, mask & 0xFFFF_FFFF,
        trap.cr2, frame + FPSTATE_OFFSET,
    )  # fmt: skip
    _MASK_INFO.pack_into(block, SIGMASK, mask, info)


class Restored:
    """What an rt_sigreturn frame holds: registers, mask, alternate stack, FPU image or None."""

    __slots__ = ("regs", "mask", "stack", "fpstate")

    def __init__(self, regs: dict[str, int], mask: int, stack: tuple[int, int, int], fpstate: int) -> None:
        self.regs = regs
        self.mask = mask
        self.stack = stack
        self.fpstate = fpstate


def parse(raw: bytes, current_rflags: int) -> Restored:
    """Read a frame (``raw`` from its pretcode on); BadFrame names what is wrong."""
    if len(raw) < FRAME_SIZE:
        raise BadFrame("frame cut short")
    uc_flags, _link, ss_sp, ss_flags, ss_size = struct.unpack_from("<QQQi4xQ", raw, UC)
    values = struct.unpack_from("<18Q", raw, MCONTEXT)
    regs = dict(zip(GREGS, values, strict=True))
    cs, _gs, _fs, ss, _err, _trapno, _oldmask, _cr2, fpstate = _SIGCONTEXT_TAIL.unpack_from(
        raw, MCONTEXT + 144
    )
    if cs | 3 != USER_CS:
        raise BadFrame(f"bad code segment selector {cs:#x} (a 64-bit user program runs with {USER_CS:#x})")
    if uc_flags & UC_STRICT_RESTORE_SS and ss | 3 != USER_DS:
        raise BadFrame(f"bad stack segment selector {ss:#x} (expected {USER_DS:#x})")
    rip = regs["rip"]
    if 0x0000_8000_0000_0000 <= rip < 0xFFFF_8000_0000_0000:
        raise BadFrame(f"non-canonical rip {rip:#x}")
    regs["rflags"] = (current_rflags & ~FIX_EFLAGS) | (regs["rflags"] & FIX_EFLAGS)
    (mask,) = struct.unpack_from("<Q", raw, SIGMASK)
    return Restored(regs, mask, (ss_sp, ss_flags, ss_size), fpstate)
