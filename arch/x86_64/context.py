"""A thread's saved x86-64 CPU state: a Unicorn context blob (registers, flags, SSE, FS/GS)."""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

from unicorn import x86_const as x86
from unicorn.unicorn_py3.unicorn import uclib

from kernkit.arch.x86_64 import lowlevel
from kernkit.arch.x86_64.debug import GPRS, SEGMENTS, X87_CONTROL
from kernkit.arch.x86_64.native import image_mover

if TYPE_CHECKING:
    from unicorn.unicorn_py3.unicorn import UcContext

    from kernkit.arch.x86_64.machine import X86Machine

#: Registers shown in fault reports, in this order.
REPORT_REGISTERS = {
    "rax": x86.UC_X86_REG_RAX,
    "rbx": x86.UC_X86_REG_RBX,
    "rcx": x86.UC_X86_REG_RCX,
    "rdx": x86.UC_X86_REG_RDX,
    "rsi": x86.UC_X86_REG_RSI,
    "rdi": x86.UC_X86_REG_RDI,
    "rbp": x86.UC_X86_REG_RBP,
    "rsp": x86.UC_X86_REG_RSP,
}

#: Every register of a user context, in the order of the Akaros-style ``user_context`` layout.
USER_REGISTERS = {
    **REPORT_REGISTERS,
    **{f"r{n}": getattr(x86, f"UC_X86_REG_R{n}") for n in range(8, 16)},
    "rip": x86.UC_X86_REG_RIP,
    "rflags": x86.UC_X86_REG_RFLAGS,
    "fs_base": x86.UC_X86_REG_FS_BASE,
    "gs_base": x86.UC_X86_REG_GS_BASE,
}
#: Debugger register name -> (Unicorn register id, size in bytes); see debug.DEBUG_TARGET.
UC_REGISTERS: dict[str, tuple[int, int]] = {
    **{name: (getattr(x86, f"UC_X86_REG_{name.upper()}"), 8) for name in (*GPRS, "rip")},
    "eflags": (x86.UC_X86_REG_RFLAGS, 8),
    **{name: (getattr(x86, f"UC_X86_REG_{name.upper()}"), 8) for name in SEGMENTS},
    **{f"st{i}": (getattr(x86, f"UC_X86_REG_ST{i}"), 10) for i in range(8)},
    **dict(
        zip(
            X87_CONTROL,
            (
                (x86.UC_X86_REG_FPCW, 2),
                (x86.UC_X86_REG_FPSW, 2),
                (x86.UC_X86_REG_FPTAG, 2),
                (x86.UC_X86_REG_FCS, 2),
                (x86.UC_X86_REG_FIP, 8),
                (x86.UC_X86_REG_FDS, 2),
                (x86.UC_X86_REG_FDP, 8),
                (x86.UC_X86_REG_FOP, 2),
            ),
            strict=True,
        )
    ),
    **{f"xmm{i}": (getattr(x86, f"UC_X86_REG_XMM{i}"), 16) for i in range(16)},
    "mxcsr": (x86.UC_X86_REG_MXCSR, 4),
    "fs_base": (x86.UC_X86_REG_FS_BASE, 8),
    "gs_base": (x86.UC_X86_REG_GS_BASE, 8),
}
MASK64 = 0xFFFF_FFFF_FFFF_FFFF
#: Registers ring 3 code cannot load, so a debugger cannot either.
READ_ONLY = frozenset(SEGMENTS)

#: The FPU/SSE registers of the FXSAVE image, in the order they are moved (the status word
#: before the stack registers: it sets the top of stack the ST registers are relative to).
FPU_REGISTERS = (
    (x86.UC_X86_REG_FPCW, 2),
    (x86.UC_X86_REG_FPSW, 2),
    (x86.UC_X86_REG_FPTAG, 2),
    (x86.UC_X86_REG_FOP, 2),
    (x86.UC_X86_REG_FIP, 8),
    (x86.UC_X86_REG_FDP, 8),
    (x86.UC_X86_REG_MXCSR, 4),
    *((getattr(x86, f"UC_X86_REG_ST{i}"), 10) for i in range(8)),
    *((getattr(x86, f"UC_X86_REG_XMM{i}"), 16) for i in range(16)),
)
FXSAVE_SIZE = 512
#: Where each of FPU_REGISTERS sits in the FXSAVE image; the tag word goes to scratch bytes
#: past the image, which holds it abridged (a bit per register: 1 = not empty).
FXSAVE_OFFSETS = (0, 2, FXSAVE_SIZE, 6, 8, 16, 24, *(32 + 16 * i for i in range(8)),
                  *(160 + 16 * i for i in range(16)))  # fmt: skip
#: MXCSR bits a program may set (MXCSR_MASK in the image; DAZ included); others fault.
MXCSR_MASK = 0xFFFF
#: FNINIT's control word and the default MXCSR: what a program (and a signal handler) starts with.
FPU_INIT = {"fcw": 0x37F, "mxcsr": 0x1F80}
_FXSAVE_HEAD = struct.Struct("<HHBxHQQII")
#: Bits 0, 2, 4, 6 of a byte packed into bits 0-3.
_EVEN_BITS = bytes(sum(((b >> (2 * i)) & 1) << i for i in range(4)) for b in range(256))


def abridged_tag(tag: int) -> int:
    """FXSAVE's tag byte for an x87 tag word: register i is valid unless its two bits are 11."""
    empty = tag & (tag >> 1) & 0x5555
    return 0xFF ^ (_EVEN_BITS[empty & 0xFF] | _EVEN_BITS[empty >> 8] << 4)


def full_tag(abridged: int) -> int:
    """The x87 tag word for an abridged tag byte (an empty register: 11, any other: 00)."""
    return sum((0 if abridged >> i & 1 else 3) << (2 * i) for i in range(8))


def initial_fxsave() -> bytes:
    """The FXSAVE image of the state after FNINIT with the default MXCSR (all registers empty)."""
    image = bytearray(FXSAVE_SIZE)
    _FXSAVE_HEAD.pack_into(image, 0, FPU_INIT["fcw"], 0, 0, 0, 0, 0, FPU_INIT["mxcsr"], MXCSR_MASK)
    return bytes(image)


INITIAL_FXSAVE = initial_fxsave()


class RegisterImage:
    """User registers laid out at fixed places of a byte image (a saved-register record such as
    a signal frame), moved between the image and a thread's context in one engine call each
    way (see core.machine.Machine.register_image). Fields: a user register name (8 bytes), or
    "fpu" (the FXSAVE image, 512 bytes)."""

    def __init__(self, fields: Sequence[tuple[str, int]], size: int, template: bytes = b"") -> None:
        registers: list[int] = []
        offsets: list[int] = []
        self.rip = self.rax = self.fpu = -1
        for name, offset in fields:
            if name == "fpu":
                self.fpu = offset
                registers += [reg for reg, _ in FPU_REGISTERS]
                offsets += [size if at == FXSAVE_SIZE else offset + at for at in FXSAVE_OFFSETS]
                continue
            registers.append(USER_REGISTERS[name])
            offsets.append(offset)
            if name == "rip":
                self.rip = offset
            elif name == "rax":
                self.rax = offset
        # past the image: the x87 tag word (the image holds it abridged), and rip inside a
        # system call (the engine then reads and writes the syscall instruction's address)
        self.cells = cells = (ctypes.c_uint8 * (size + 16))()
        base, n = ctypes.addressof(cells), len(registers)
        ids = (ctypes.c_int * n)(*registers)
        self._args = (ids, (ctypes.c_void_p * n)(*[base + offset for offset in offsets]), n)
        moved = [size + 8 if offset == self.rip else offset for offset in offsets]
        self._syscall_args = (ids, (ctypes.c_void_p * n)(*[base + offset for offset in moved]), n)
        self._tag = ctypes.c_uint16.from_buffer(cells, size)
        self._mxcsr = ctypes.c_uint32.from_buffer(cells, self.fpu + 24) if self.fpu >= 0 else None
        self._syscall_rip = ctypes.c_uint64.from_buffer(cells, size + 8)
        self._rip = ctypes.c_uint64.from_buffer(cells, self.rip) if self.rip >= 0 else None
        self.buffer = memoryview(cells).cast("B")[:size]
        self.buffer[: len(template)] = template[:size]
        if self.fpu >= 0:  # its registers start as a program's (the rest of the image as given)
            self.buffer[self.fpu : self.fpu + 416] = INITIAL_FXSAVE[:416]
        self._live_read = lowlevel.unchecked(uclib.uc_reg_read_batch)
        self._blob_read = lowlevel.unchecked(uclib.uc_context_reg_read_batch)
        self._live_write = lowlevel.unchecked(uclib.uc_reg_write_batch)
        self._blob_write = lowlevel.unchecked(uclib.uc_context_reg_write_batch)
        #: On a running core, the moves and their conversions in one C call each (native.py)
        self._mover = image_mover(cells, ids, self._args[1], self._syscall_args[1], self.fpu, self.rip)
        if self._mover is not None:
            self._mover_ref = ctypes.byref(self._mover[0])
            _, self._mover_read, self._mover_write = self._mover

    def read(self, context: X86Context) -> memoryview:
        """The registers as ``context``'s thread is to resume, in place in :attr:`buffer`."""
        live = context.live
        if live is not None and self._mover is not None:
            self._mover_read(live.uch, self._mover_ref, live.in_syscall)
            return self.buffer
        if live is None:
            self._blob_read(context.blob.context, *self._args)
            if self.rax >= 0 and context.pending_result is not None:
                _WORD.pack_into(self.buffer, self.rax, context.pending_result & MASK64)
        elif live.in_syscall and self._rip is not None:
            self._live_read(live.uch, *self._syscall_args)
            self._rip.value = self._syscall_rip.value + 2
        else:
            self._live_read(live.uch, *self._args)
        if self.fpu >= 0:
            self.buffer[self.fpu + 4] = _abridged(self._tag.value)
        return self.buffer

    def write(self, context: X86Context) -> None:
        """Load the registers from :attr:`buffer` (as the thread is to resume); ValueError for
        an FPU image the CPU's FXRSTOR would refuse (reserved MXCSR bits set)."""
        live = context.live
        if live is not None and self._mover is not None:
            if self._mover_write(live.uch, self._mover_ref, live.in_syscall):
                raise ValueError(f"reserved MXCSR bits set: {self._mxcsr.value:#x}")
            return
        if self.fpu >= 0:
            mxcsr = self._mxcsr.value
            if mxcsr > MXCSR_MASK:
                raise ValueError(f"reserved MXCSR bits set: {mxcsr:#x}")
            self._tag.value = _FULL_TAGS[self.buffer[self.fpu + 4]]
        if live is None:
            if self.rax >= 0:
                context.pending_result = None
            self._blob_write(context.blob.context, *self._args)
        elif live.in_syscall and self._rip is not None:  # the syscall instruction's end adds 2
            self._syscall_rip.value = (self._rip.value - 2) & MASK64
            self._live_write(live.uch, *self._syscall_args)
        else:
            self._live_write(live.uch, *self._args)


_WORD = struct.Struct("<Q")
_RSP = x86.UC_X86_REG_RSP
_ABRIDGED: dict[int, int] = {}
_FULL_TAGS = tuple(full_tag(abridged) for abridged in range(256))


def _abridged(tag: int) -> int:
    value = _ABRIDGED.get(tag)
    if value is None:
        value = _ABRIDGED[tag] = abridged_tag(tag)
    return value


class X86Context:
    """Saved registers of one thread.

    While the thread runs, ``live`` is the Uc of its core and reads and writes go there;
    otherwise they go to the saved blob.
    """

    def __init__(self, blob: UcContext, machine: X86Machine) -> None:
        self._blob = blob
        #: the blob's C pointer, for the cores' loads and saves (the binding's property is a call)
        self.blob_ptr = blob.context
        #: Bytes the blob's RIP lags behind where the thread resumes: a core that hands its engine
        #: to another thread inside a system call saves this one with RIP still on the syscall
        #: instruction (X86Core._hand_off); anything else that looks at the blob settles it first.
        self.rip_lag = 0
        self.machine = machine
        #: A syscall result set while the context was not loaded (see set_syscall_result).
        self.pending_result: int | None = None
        #: The core (X86Core) this context is loaded on, if any.
        self.live = None
        #: The pc of the breakpoint this thread last stopped at (it runs that instruction next).
        self.at_breakpoint: int | None = None
        #: The system call that last stopped the thread (Linux's orig_rax), and whether it was
        #: then set to run again (its pc at the syscall instruction, not after it).
        self.syscall_nr = -1
        self.syscall_restarts = False
        self._restarting = False

    @property
    def blob(self) -> UcContext:
        """The saved state, with RIP where the thread resumes."""
        if self.rip_lag:
            self.settle_rip()
        return self._blob

    def settle_rip(self) -> None:
        """Move the blob's RIP to where the thread resumes (see ``rip_lag``)."""
        lag, self.rip_lag = self.rip_lag, 0
        rip = x86.UC_X86_REG_RIP
        self._blob.reg_write(rip, self._blob.reg_read(rip) + lag)

    def read(self, reg: int) -> int:
        if self.live is not None:
            return self.live.regs.read(reg)
        if reg == x86.UC_X86_REG_RAX and self.pending_result is not None:
            return self.pending_result
        return self.blob.reg_read(reg)

    def write(self, reg: int, value: int) -> None:
        if self.live is not None:
            self.live.regs.write(reg, value)
        else:
            if reg == x86.UC_X86_REG_RAX:
                self.pending_result = None
            self.blob.reg_write(reg, value & 0xFFFF_FFFF_FFFF_FFFF)

    @property
    def pc(self) -> int:
        return self.read(x86.UC_X86_REG_RIP)

    @pc.setter
    def pc(self, value: int) -> None:
        self.write(x86.UC_X86_REG_RIP, value)

    @property
    def sp(self) -> int:
        live = self.live  # read(), inlined for the running thread: rt_sigreturn asks each time
        if live is not None:
            return live.regs.read(_RSP)
        return self.read(_RSP)

    @sp.setter
    def sp(self, value: int) -> None:
        self.write(x86.UC_X86_REG_RSP, value)

    def _in_syscall(self) -> bool:
        """Inside the syscall hook, RIP reads as the syscall instruction and execution resumes
        two bytes after whatever RIP is written."""
        return self.live is not None and self.live.in_syscall

    def set_syscall_result(self, value: int) -> None:
        if self.live is not None:
            self.live.regs.write(x86.UC_X86_REG_RAX, value)
        else:  # written on the next load, through the fast register path
            self.pending_result = value

    def restart_syscall(self) -> None:
        """Make the current syscall run again when the thread next runs (RAX keeps its number)."""
        if not self._in_syscall():
            raise RuntimeError("restart_syscall outside a system call")
        self.write(x86.UC_X86_REG_RIP, self.pc - 2)
        self._restarting = True

    def stopped_in_syscall(self, number: int) -> None:
        """The core's note, when system call ``number`` stops the thread: what to resume."""
        self.syscall_nr = number
        self.syscall_restarts, self._restarting = self._restarting, False

    def syscall_number(self) -> int:
        return self.syscall_nr

    def resume_syscall(self, result: int | None) -> None:
        """Return ``result`` from the stopped system call, or (None) run it again (see
        CpuContext.resume_syscall). Not from inside a system call."""
        after = self.pc + 2 if self.syscall_restarts else self.pc
        if result is None:
            self.pc = after - 2
            self.write(x86.UC_X86_REG_RAX, self.syscall_nr)
        else:
            self.pc = after
            self.write(x86.UC_X86_REG_RAX, result)
        self.syscall_restarts = result is None

    def fork(self) -> X86Context:
        """A copy that returns 0 from the system call in progress."""
        blob = self.machine.blank_context()
        if self.live is not None:
            self.live.uc.context_update(blob)
        else:
            self.machine.copy_context(self.blob, blob)
        child = X86Context(blob, self.machine)
        if self._in_syscall():
            child.pc += 2
        child.set_syscall_result(0)
        return child

    def set_tls_base(self, value: int) -> None:
        self.write(x86.UC_X86_REG_FS_BASE, value)

    def tls_base(self) -> int:
        return self.read(x86.UC_X86_REG_FS_BASE)

    def registers(self) -> dict[str, int]:
        return {name: self.read(reg) for name, reg in REPORT_REGISTERS.items()}

    def _engine(self) -> tuple[object | None, object | None]:
        """(live engine handle, None) or (None, saved context) for a register batch."""
        if self.live is not None:
            return self.live.uch, None
        return None, self.blob.context

    def user_registers(self) -> dict[str, int]:
        """All user registers as the thread would resume (after a syscall in progress)."""
        values = dict(zip(USER_REGISTERS, self.machine.user_batch.words(*self._engine()), strict=True))
        if self.live is None and self.pending_result is not None:
            values["rax"] = self.pending_result
        if self._in_syscall():
            values["rip"] += 2
        return values

    def set_user_registers(self, values: dict[str, int]) -> None:
        """Set user registers by name, as the thread is to resume (from inside a system call
        too: the thread then resumes at the given rip instead of after the call); one engine
        call for them all."""
        if "rax" in values and self.live is None:
            self.pending_result = None
        if "rip" in values and self._in_syscall():
            values = {**values, "rip": values["rip"] - 2}  # the syscall instruction's end adds 2 back
        batch = self.machine.register_batch(tuple(values))
        batch.write_words(*self._engine(), [value & MASK64 for value in values.values()])

    # --- the FPU/SSE state, as FXSAVE lays it out (signal frames) --------------------------------

    def fpu_state(self) -> bytes:
        return self.machine.fpu_image.read(self).tobytes()

    def set_fpu_state(self, state: bytes, current: bytes | None = None) -> None:
        """``current``, if given, is what :meth:`fpu_state` returned just before: a state whose
        registers (the image's first 416 bytes) are the same is not written again."""
        if len(state) < FXSAVE_SIZE:
            raise ValueError(f"an FXSAVE image is {FXSAVE_SIZE} bytes, got {len(state)}")
        if current is not None and state[:416] == current[:416]:
            return
        image = self.machine.fpu_loader
        image.buffer[:] = state[:FXSAVE_SIZE]
        image.write(self)

    def reset_fpu_state(self, current: bytes | None = None) -> None:
        self.set_fpu_state(INITIAL_FXSAVE, current)

    # --- any register, by the debugger's name (see debug.DEBUG_TARGET) -------------------------

    def get_register(self, name: str) -> int:
        if name == "orig_rax":  # no such register here: "not inside a system call"
            return (1 << 64) - 1
        reg, size = UC_REGISTERS[name]
        if size == 8:
            return self.read(reg)
        buffer = ctypes.create_string_buffer(16)
        if self.live is not None:
            uclib.uc_reg_read(self.live.uch, reg, buffer)
        else:
            uclib.uc_context_reg_read(self.blob.context, reg, buffer)
        return int.from_bytes(buffer.raw[:size], "little")

    def set_register(self, name: str, value: int) -> None:
        if name == "orig_rax" or name in READ_ONLY:
            return
        reg, size = UC_REGISTERS[name]
        if size == 8:
            self.write(reg, value)
            return
        buffer = ctypes.create_string_buffer((value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"), 16)
        if self.live is not None:
            uclib.uc_reg_write(self.live.uch, reg, buffer)
        else:
            uclib.uc_context_reg_write(self.blob.context, reg, buffer)
