"""A thread's saved x86-64 CPU state: a Unicorn context blob (registers, flags, SSE, FS/GS)."""

from __future__ import annotations

import ctypes
import struct
from typing import TYPE_CHECKING

import attrs
from unicorn import x86_const as x86
from unicorn.unicorn_py3.unicorn import uclib

from kernkit.arch.x86_64.debug import GPRS, SEGMENTS, X87_CONTROL

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
#: MXCSR bits a program may set (MXCSR_MASK in the image; DAZ included); others fault.
MXCSR_MASK = 0xFFFF
#: FNINIT's control word and the default MXCSR: what a program (and a signal handler) starts with.
FPU_INIT = {"fcw": 0x37F, "mxcsr": 0x1F80}
_FXSAVE_HEAD = struct.Struct("<HHBxHQQII")


def fxsave_image(values: list[bytes]) -> bytes:
    """The FXSAVE (64-bit) image of the registers read as :data:`FPU_REGISTERS`."""
    fcw, fsw, tag, fop, fip, fdp, mxcsr = (int.from_bytes(v, "little") for v in values[:7])
    valid = sum(1 << i for i in range(8) if (tag >> (2 * i)) & 3 != 3)  # abridged: 1 = not empty
    head = _FXSAVE_HEAD.pack(fcw, fsw, valid, fop, fip, fdp, mxcsr, MXCSR_MASK)
    stack = b"".join(v.ljust(16, b"\0") for v in values[7:15])
    return (head + stack + b"".join(values[15:])).ljust(FXSAVE_SIZE, b"\0")


def fxsave_registers(image: bytes) -> list[bytes]:
    """The registers of an FXSAVE image, as :data:`FPU_REGISTERS` orders them; ValueError for
    an image the CPU's FXRSTOR would refuse (reserved MXCSR bits set)."""
    if len(image) < FXSAVE_SIZE:
        raise ValueError(f"an FXSAVE image is {FXSAVE_SIZE} bytes, got {len(image)}")
    fcw, fsw, valid, fop, fip, fdp, mxcsr, _ = _FXSAVE_HEAD.unpack_from(image)
    if mxcsr & ~MXCSR_MASK:
        raise ValueError(f"reserved MXCSR bits set: {mxcsr:#x}")
    tag = sum((0 if valid >> i & 1 else 3) << (2 * i) for i in range(8))
    words = [(fcw, 2), (fsw, 2), (tag, 2), (fop, 2), (fip, 8), (fdp, 8), (mxcsr, 4)]
    values = [value.to_bytes(size, "little") for value, size in words]
    values += [image[32 + 16 * i : 42 + 16 * i] for i in range(8)]
    values += [image[160 + 16 * i : 176 + 16 * i] for i in range(16)]
    return values


def initial_fxsave() -> bytes:
    """The FXSAVE image of the state after FNINIT with the default MXCSR (all registers empty)."""
    image = bytearray(FXSAVE_SIZE)
    _FXSAVE_HEAD.pack_into(image, 0, FPU_INIT["fcw"], 0, 0, 0, 0, 0, FPU_INIT["mxcsr"], MXCSR_MASK)
    return bytes(image)


INITIAL_FXSAVE = initial_fxsave()
INITIAL_REGISTERS = fxsave_registers(INITIAL_FXSAVE)


@attrs.frozen
class UserState:
    """A thread's whole user state kept aside: a context blob, where it resumes, and a syscall
    result not yet written to the blob."""

    blob: UcContext
    rip: int
    pending_result: int | None


class X86Context:
    """Saved registers of one thread.

    While the thread runs, ``live`` is the Uc of its core and reads and writes go there;
    otherwise they go to the saved blob.
    """

    def __init__(self, blob: UcContext, machine: X86Machine) -> None:
        self.blob = blob
        self.machine = machine
        #: A syscall result set while the context was not loaded (see set_syscall_result).
        self.pending_result: int | None = None
        #: The core (X86Core) this context is loaded on, if any.
        self.live = None
        #: The pc of the breakpoint this thread last stopped at (it runs that instruction next).
        self.at_breakpoint: int | None = None
        #: The last FPU image fpu_state() made, with the registers it was made from.
        self._fpu_read: tuple[bytes, list[bytes]] = (b"", [])
        #: The system call that last stopped the thread (Linux's orig_rax), and whether it was
        #: then set to run again (its pc at the syscall instruction, not after it).
        self.syscall_nr = -1
        self.syscall_restarts = False
        self._restarting = False

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
        return self.read(x86.UC_X86_REG_RSP)

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
        blob = self.machine.spare_context()
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
        too: the thread then resumes at the given rip instead of after the call)."""
        if "rax" in values and self.live is None:
            self.pending_result = None
        if len(values) == len(USER_REGISTERS):  # the whole set (a signal frame): one batch
            rip_fix = 2 if self._in_syscall() else 0
            raw = [
                ((values[name] - (rip_fix if name == "rip" else 0)) & MASK64).to_bytes(8, "little")
                for name in USER_REGISTERS
            ]
            self.machine.user_batch.write(*self._engine(), raw)
            return
        for name, value in values.items():
            if name == "rip" and self._in_syscall():
                value -= 2  # the syscall instruction's end adds 2 back
            self.write(USER_REGISTERS[name], value)

    # --- the FPU/SSE state, as FXSAVE lays it out (signal frames) --------------------------------

    def fpu_state(self) -> bytes:
        values = self.machine.fpu_batch.read(*self._engine())
        image = fxsave_image(values)
        self._fpu_read = (image, values)  # for set_fpu_state(..., current=image)
        return image

    def set_fpu_state(self, state: bytes, current: bytes | None = None) -> None:
        """``current``, if given, is what :meth:`fpu_state` returned just before: registers
        that keep their value are then not even read again."""
        known = None
        if current is not None:
            image, values = self._fpu_read
            known = values if current is image else fxsave_registers(current)
        wanted = INITIAL_REGISTERS if state is INITIAL_FXSAVE else fxsave_registers(state)
        self.machine.fpu_batch.write(*self._engine(), wanted, known)

    def reset_fpu_state(self, current: bytes | None = None) -> None:
        self.set_fpu_state(INITIAL_FXSAVE, current)

    # --- whole user states (a signal handler's frame, undone by rt_sigreturn) --------------------

    def save_user_state(self) -> UserState:
        """Every register and the FPU state as the thread is to resume, kept aside (a copy of
        the engine's context: two microseconds, where reading the registers costs ten)."""
        blob = self.machine.spare_context()
        if self.live is not None:
            self.live.uc.context_update(blob)
        else:
            self.machine.copy_context(self.blob, blob)
        rip = self.read(x86.UC_X86_REG_RIP) + (2 if self._in_syscall() else 0)
        return UserState(blob, rip, None if self.live is not None else self.pending_result)

    def restore_user_state(self, state: UserState) -> None:
        """Put back what :meth:`save_user_state` kept (from inside a system call too)."""
        if self.live is not None:
            self.live.uc.context_restore(state.blob)
        else:
            self.machine.copy_context(state.blob, self.blob)
            self.pending_result = state.pending_result
        self.write(x86.UC_X86_REG_RIP, state.rip - (2 if self._in_syscall() else 0))
        self.machine.spares.append(state.blob)  # put back once: its blob can serve again

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
