"""A thread's saved x86-64 CPU state: a Unicorn context blob (registers, flags, SSE, FS/GS)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from unicorn import x86_const as x86

if TYPE_CHECKING:
    from unicorn import Uc
    from unicorn.unicorn_py3.unicorn import UcContext

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


class X86Context:
    """Saved registers of one thread.

    While the thread runs, ``live`` is the Uc of its core and reads and writes go there;
    otherwise they go to the saved blob.
    """

    def __init__(self, blob: UcContext) -> None:
        self.blob = blob
        #: The core (X86Core) this context is loaded on, if any.
        self.live = None

    def _target(self) -> Uc | UcContext:
        return self.live.uc if self.live is not None else self.blob

    def read(self, reg: int) -> int:
        return self._target().reg_read(reg)

    def write(self, reg: int, value: int) -> None:
        self._target().reg_write(reg, value & 0xFFFF_FFFF_FFFF_FFFF)

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

    def set_tls_base(self, value: int) -> None:
        self.write(x86.UC_X86_REG_FS_BASE, value)

    def tls_base(self) -> int:
        return self.read(x86.UC_X86_REG_FS_BASE)

    def registers(self) -> dict[str, int]:
        return {name: self.read(reg) for name, reg in REPORT_REGISTERS.items()}
