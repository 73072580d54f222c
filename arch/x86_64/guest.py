"""Guest CPUs: an x86-64 guest pcore in its own Unicorn instance, with VM exits.

A guest runs in ring 0, long mode, over *guest-physical* memory that is a range of its VMM
process's memory. The instance maps the machine's whole physical memory, and its TLB fill walks
two levels, as EPT does: the guest's own page tables (root in CR3, guest-physical; CR3 0 means
the guest runs with guest-virtual = guest-physical) and then guest-physical -> host frame
through the VMM's address space (``translate``). What the VMM writes in that range, the guest
sees, because it is the same frame.

Unicorn delivers no exception through a guest IDT, so every guest exception is an exit; with no
IDT loaded (limit 0) a real CPU would shut down, and the exit is a triple fault. External
interrupts are delivered by the kernel (:meth:`GuestCpu.inject`): it reads the gate from the
guest's IDT, pushes the 64-bit interrupt frame on the guest stack and jumps to the handler; the
guest's ``iretq`` returns as on a real CPU.

Instructions are counted by translated block, as on the machine's cores (blocks.py), and an exit
counts exactly what retired before it. An I/O exit must stop right after its ``in`` or ``out``,
which does not end a block, and a stop requested inside a block takes effect only where the
engine checks for one: at the start of a block, and before an instruction a code hook watches.
So every block is scanned for I/O instructions the first time the block hook meets it, before
it runs; the instruction after one that is not the block's last gets a (do-nothing) code hook,
and the run stops before the block, which is translated again with the check in it.
``[kernel] max_instructions`` holds exactly: the last instructions before it run under a step
hook over that one block.
"""

from __future__ import annotations

import ctypes
import re
from collections.abc import Callable

import attrs
from unicorn import (
    UC_ARCH_X86,
    UC_ERR_EXCEPTION,
    UC_ERR_INSN_INVALID,
    UC_HOOK_INSN,
    UC_HOOK_INSN_INVALID,
    UC_MODE_64,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    UC_TLB_VIRTUAL,
    Uc,
)
from unicorn import x86_const as x86
from unicorn.unicorn_py3.unicorn import uclib

from kernkit.arch.x86_64 import lowlevel
from kernkit.arch.x86_64.blocks import NEVER, STOPPED_BUDGET, STOPPED_SCAN, BlockCounter
from kernkit.arch.x86_64.context import USER_REGISTERS
from kernkit.arch.x86_64.native import native_library
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE

# Exit reasons: Intel's basic exit reasons (SDM vol. 3, appendix C), plus kernkit's own above 0xffff.
EXIT_EXCEPTION = 0
EXIT_EXTERNAL_INTERRUPT = 1
EXIT_TRIPLE_FAULT = 2
EXIT_CPUID = 10
EXIT_HLT = 12
EXIT_VMCALL = 18
EXIT_IO = 30
EXIT_MSR_READ = 31
EXIT_MSR_WRITE = 32
EXIT_EPT_VIOLATION = 48
EXIT_GUEST_IN_USE = 0x10000
EXIT_BAD_STATE = 0x10001
EXIT_LIMIT = 0x10002
EXIT_NAMES = {
    EXIT_EXCEPTION: "exception",
    EXIT_EXTERNAL_INTERRUPT: "external_interrupt",
    EXIT_TRIPLE_FAULT: "triple_fault",
    EXIT_CPUID: "cpuid",
    EXIT_HLT: "hlt",
    EXIT_VMCALL: "vmcall",
    EXIT_IO: "io",
    EXIT_MSR_READ: "msr_read",
    EXIT_MSR_WRITE: "msr_write",
    EXIT_EPT_VIOLATION: "ept_violation",
    EXIT_GUEST_IN_USE: "guest_in_use",
    EXIT_BAD_STATE: "bad_state",
    EXIT_LIMIT: "exit_limit",
}
#: I/O qualification bits (as Intel's): size-1 in bits 0-2, bit 3 set for IN, port in 16-31.
IO_IN = 1 << 3
#: EPT violation qualification bits: read, write, fetch.
EPT_READ, EPT_WRITE, EPT_FETCH = 1, 2, 4
_ACCESS_BITS = {16: EPT_READ, 17: EPT_WRITE, 18: EPT_FETCH}

#: Registers of a guest context, in the order of the vm_trapframe (see plugins/vmm/layout.py).
GUEST_REGISTERS = {name: reg for name, reg in USER_REGISTERS.items() if not name.endswith("_base")}

_PRESENT, _WRITABLE, _LARGE, _NX = 1, 2, 0x80, 1 << 63
RFLAGS_IF, RFLAGS_TF, RFLAGS_NT, RFLAGS_RF = 1 << 9, 1 << 8, 1 << 14, 1 << 16
_GATE_INTERRUPT, _GATE_TRAP = 0xE, 0xF
_STI_HLT = b"\xfb\xf4"
_ADDR = 0x000F_FFFF_FFFF_F000
_MASK64 = (1 << 64) - 1
#: Opcode bytes of port I/O (in, out, ins, outs): a block holding none has no I/O instruction.
_IO_OPCODE = re.compile(rb"[\xe4-\xe7\xec-\xef\x6c-\x6f]")
_IO_MNEMONICS = frozenset({"in", "out", "insb", "insw", "insd", "outsb", "outsw", "outsd"})
#: block counters of guest pcores running in fast mode, which the host timer preempts as it
#: preempts the machine's cores (a guest run nested in a core's system call is not that core's
#: engine): it sets their flag, and their block hook stops them before the next block
RUNNING_FAST: dict[int, BlockCounter] = {}
_CANONICAL_LOW, _CANONICAL_HIGH = 1 << 47, 0xFFFF_8000_0000_0000
IN_CB = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_void_p)
OUT_CB = ctypes.CFUNCTYPE(
    None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_int, ctypes.c_uint32, ctypes.c_void_p
)
CPUID_CB = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)
INVALID_CB = ctypes.CFUNCTYPE(ctypes.c_bool, ctypes.c_void_p, ctypes.c_void_p)
VMCALL = b"\x0f\x01\xc1"
_CPUID_OUT = (x86.UC_X86_REG_RAX, x86.UC_X86_REG_RBX, x86.UC_X86_REG_RCX, x86.UC_X86_REG_RDX)
TCG_BUFFER = 8 << 20
_ZERO = ctypes.c_uint64(0)


@attrs.define
class VmExit:
    """Why a guest run ended (None from :meth:`GuestCpu.run` means the budget ran out).

    ``qual`` is the exit qualification (I/O: size-1, direction, port; EPT violation: access
    bits), ``gpa``/``gva`` the guest-physical and guest-virtual addresses involved, ``intrinfo``
    an exception's vector, ``value`` what an OUT wrote, ``insn_len`` the exiting instruction's
    length. For I/O, HLT and CPUID the guest's rip is already past the instruction; for VMCALL,
    faults and EPT violations it is at the instruction."""

    reason: int
    qual: int = 0
    gpa: int = 0
    gva: int = 0
    intrinfo: int = 0
    value: int = 0
    insn_len: int = 0


class GuestCpu:
    """One guest pcore: a Unicorn instance whose memory is guest-physical memory.

    ``translate(gpa)`` gives the host frame address of a guest-physical page, or None for an
    address outside guest memory (an EPT violation: MMIO for the VMM). ``cpuid(leaf, subleaf)``
    answers CPUID in the kernel: (eax, ebx, ecx, edx)."""

    def __init__(
        self,
        memory,  # noqa: ANN001 - kernkit.core.physmem.PhysicalMemory
        translate: Callable[[int], int | None],
        cpuid: Callable[[int, int], tuple[int, int, int, int]],
        deterministic: bool = True,
    ) -> None:
        self.memory = memory
        self.words = memory.words
        self.translate = translate
        self.cpuid_answer = cpuid
        self.deterministic = deterministic
        uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.ctl_set_tcg_buffer_size(TCG_BUFFER)
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        uc.mem_map_ptr(0, memory.size, UC_PROT_ALL, memory.address)
        self.uc = uc
        self.uch = lowlevel.handle(uc)
        self.regs = lowlevel.Registers(uc)
        self._emu_start = lowlevel.unchecked(uclib.uc_emu_start)
        self._start_at = ctypes.c_uint64()  # its argument, reused
        self.block = lowlevel.RegisterBlock(uc, list(GUEST_REGISTERS.values()))
        #: counts instructions by translated block (deterministic mode); in fast mode, the host
        #: timer's preemption, made between two blocks (never mid-instruction)
        self.blocks = BlockCounter(uc, self.read_guest, counting=deterministic, scan=self._scan_block)
        self._block_state = self.blocks.state
        #: Instructions after an I/O instruction that get a stop check, and their hooks.
        self._io_sites: set[int] = set()
        self._site_hooks: list[ctypes.c_size_t] = []
        #: Blocks translated before their I/O instructions' next had a check: to translate again.
        self._retranslate: list[tuple[int, int, list[int]]] = []
        self._run_base = 0
        #: The exact tail before a hard limit: instructions left, the hook, the block it covers.
        self._step_left = 0
        self._step_hook: ctypes.c_size_t | None = None
        self._step_range = (0, 0)
        self.scratch = uc.context_save()
        self.cr3 = 0
        self.walk_fault: int | None = None
        self.exit: VmExit | None = None
        self.hook_error: BaseException | None = None
        self.in_run = False
        self.cpuid_count = 0
        self._callbacks = (
            lowlevel.TLB_FILL_CB(self._on_fill),
            lowlevel.INTR_CB(self._on_intr),
            IN_CB(self._on_in),
            OUT_CB(self._on_out),
            CPUID_CB(self._on_cpuid),
            INVALID_CB(self._on_invalid),
            lowlevel.CODE_CB(self._on_step),
        )
        library = native_library()
        #: the code hook after an I/O instruction: its presence is the stop check, it does nothing
        self._stop_check = library.kernkit_stop_check if library is not None else lowlevel.CODE_CB(_no_op)
        lowlevel.add_tlb_fill_hook(uc, self._callbacks[0])
        lowlevel.add_intr_hook(uc, self._callbacks[1])
        lowlevel.add_hook(uc, UC_HOOK_INSN, self._callbacks[2], ctypes.c_int(x86.UC_X86_INS_IN))
        lowlevel.add_hook(uc, UC_HOOK_INSN, self._callbacks[3], ctypes.c_int(x86.UC_X86_INS_OUT))
        lowlevel.add_hook(uc, UC_HOOK_INSN, self._callbacks[4], ctypes.c_int(x86.UC_X86_INS_CPUID))
        lowlevel.add_hook(uc, UC_HOOK_INSN_INVALID, self._callbacks[5])

    # --- state ----------------------------------------------------------------------------

    def set_state(self, registers: dict[str, int], cr3: int) -> None:
        """Load registers by name (GUEST_REGISTERS) and the paging root (guest-physical)."""
        for name, value in registers.items():
            self.regs.write(GUEST_REGISTERS[name], value & 0xFFFF_FFFF_FFFF_FFFF)
        if cr3 != self.cr3:
            self._switch_paging(cr3)

    def state(self) -> dict[str, int]:
        return {name: self.regs.read(reg) for name, reg in GUEST_REGISTERS.items()}

    def load_raw(self, raw: bytes, cr3: int) -> None:
        """:meth:`set_state` from the registers as u64s in GUEST_REGISTERS order (one C call)."""
        self.block.write(raw)
        if cr3 != self.cr3:
            self._switch_paging(cr3)

    def raw_state(self) -> bytes:
        """The registers as u64s in GUEST_REGISTERS order (one C call)."""
        return self.block.read()

    def _switch_paging(self, cr3: int) -> None:
        self.cr3 = cr3
        self.flush_tlb()
        self.blocks.switch_space(cr3)  # block counts are kept per guest address space

    def flush_tlb(self) -> None:
        """Guest paging or guest memory changed: forget translations of addresses, and the
        block counts cached by address (the same address may hold other code now)."""
        from unicorn import UC_CTL_IO_WRITE, UC_CTL_TLB_FLUSH

        self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)
        self.blocks.forget()

    def code_changed(self) -> None:
        """The VMM wrote guest memory that may hold translated code: drop translations."""
        self.uc.ctl_flush_tb()
        self.blocks.forget()

    def close(self) -> None:
        self.uc = None  # type: ignore[assignment]

    # --- address translation --------------------------------------------------------------

    def guest_physical(self, gva: int, write: bool = False) -> int | None:
        """The guest-physical address of guest-virtual ``gva`` under the guest's paging, or
        None when the guest's tables do not map it (for writes: writably); ``walk_fault`` is then
        the guest-physical address of a table outside guest memory the walk met, if any."""
        self.walk_fault = None
        gva &= _MASK64
        if _CANONICAL_LOW <= gva < _CANONICAL_HIGH:  # not canonical: no paging reaches it
            return None
        if not self.cr3:
            return gva
        table = self.cr3 & _ADDR
        for level, shift in enumerate((39, 30, 21, 12)):
            host = self.translate(table)
            if host is None:
                self.walk_fault = table
                return None
            entry = self.words[(host + ((gva >> shift) & 511) * 8) >> 3]
            if not entry & _PRESENT or (write and not entry & _WRITABLE):
                return None
            if level in (1, 2) and entry & _LARGE:
                size = 1 << shift
                return (entry & _ADDR & ~(size - 1)) | (gva & (size - 1))
            table = entry & _ADDR
        return table | (gva & (PAGE_SIZE - 1))

    def read_guest(self, gva: int, length: int) -> bytes:
        """Bytes at a guest-virtual address (b"" where unmapped)."""
        out = b""
        while length > 0:
            gpa = self.guest_physical(gva)
            host = self.translate(gpa & PAGE_MASK) if gpa is not None else None
            if host is None:
                break
            offset = gva & (PAGE_SIZE - 1)
            take = min(length, PAGE_SIZE - offset)
            out += self.memory.read(host + offset, take)
            gva += take
            length -= take
        return out

    def write_guest(self, gva: int, data: bytes) -> bool:
        """Write bytes at a guest-virtual address the guest's paging maps writable; False (and
        nothing written) where it does not."""
        pieces = []
        offset = 0
        while offset < len(data):
            gpa = self.guest_physical(gva + offset, write=True)
            host = self.translate(gpa & PAGE_MASK) if gpa is not None else None
            if host is None:
                return False
            take = min(len(data) - offset, PAGE_SIZE - ((gva + offset) & (PAGE_SIZE - 1)))
            pieces.append((host + ((gva + offset) & (PAGE_SIZE - 1)), data[offset : offset + take]))
            offset += take
        for host, piece in pieces:
            self.memory.write(host, piece)
        return True

    # --- interrupts -----------------------------------------------------------------------

    def interruptible(self) -> bool:
        """RFLAGS.IF: the guest takes external interrupts now."""
        return bool(self.regs.read(x86.UC_X86_REG_RFLAGS) & RFLAGS_IF)

    def inject(self, vector: int) -> VmExit | None:
        """Deliver external interrupt ``vector`` through the guest's IDT, as a CPU does between
        instructions: push SS, RSP, RFLAGS, CS, RIP (16-byte aligned), clear IF (interrupt
        gate) and TF/NT/RF, and continue at the gate's handler. None when delivered; a triple
        fault exit (``intrinfo`` = vector) when the IDT cannot deliver it: no IDT or a vector
        past its limit, a gate that is not a present interrupt/trap gate, or a stack the
        guest's paging does not map writable (a real CPU would fault, double fault, shut down).
        An interrupt arriving between ``sti`` and ``hlt`` (the STI shadow) is taken after the
        halt, which it wakes, so the ``sti; hlt`` idiom loses no wake-up."""
        regs = self.regs
        fault = VmExit(EXIT_TRIPLE_FAULT, intrinfo=vector)
        _selector, base, limit, _flags = self.uc.reg_read(x86.UC_X86_REG_IDTR)
        if limit == 0 or vector * 16 + 15 > limit:
            return fault
        gate = int.from_bytes(self.read_guest(base + vector * 16, 16).ljust(16, b"\0"), "little")
        kind, present = (gate >> 40) & 0xF, (gate >> 47) & 1
        if not present or kind not in (_GATE_INTERRUPT, _GATE_TRAP):
            return fault
        handler = (gate & 0xFFFF) | ((gate >> 48) & 0xFFFF) << 16 | ((gate >> 64) & 0xFFFF_FFFF) << 32
        selector = (gate >> 16) & 0xFFFF
        rip = regs.read(x86.UC_X86_REG_RIP)
        if self.read_guest(rip - 1, 2) == _STI_HLT:
            rip += 1
        rsp, rflags = regs.read(x86.UC_X86_REG_RSP), regs.read(x86.UC_X86_REG_RFLAGS)
        cs, ss = regs.read(x86.UC_X86_REG_CS), regs.read(x86.UC_X86_REG_SS)
        frame_at = ((rsp & ~0xF) - 40) & _MASK64  # a stack at 0 wraps to the top, as on a CPU
        frame = b"".join(v.to_bytes(8, "little") for v in (rip, cs, rflags, rsp, ss))
        if not self.write_guest(frame_at, frame):
            return fault
        cleared = RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | (RFLAGS_IF if kind == _GATE_INTERRUPT else 0)
        if selector != cs:
            regs.write(x86.UC_X86_REG_CS, selector)
        regs.write(x86.UC_X86_REG_RSP, frame_at)
        regs.write(x86.UC_X86_REG_RFLAGS, rflags & ~cleared)
        regs.write(x86.UC_X86_REG_RIP, handler)
        return None

    # --- hooks (called from C; exceptions must not escape) --------------------------------

    def _on_fill(self, _uch: int, vaddr: int, access: int, entry, _data: int) -> bool:  # noqa: ANN001
        try:
            page = vaddr & PAGE_MASK
            if _CANONICAL_LOW <= vaddr < _CANONICAL_HIGH:  # a real CPU checks before paging: #GP
                if self.exit is None:
                    self.exit = VmExit(EXIT_EXCEPTION, gva=vaddr, intrinfo=13)
                return False
            gpa = self.guest_physical(page, write=access == 17)
            if gpa is None and self.walk_fault is not None:  # a table outside guest memory
                if self.exit is None:
                    self.exit = VmExit(EXIT_EPT_VIOLATION, qual=EPT_READ, gpa=self.walk_fault, gva=vaddr)
                return False
            if gpa is None:
                if self.exit is None:
                    self.exit = VmExit(EXIT_EXCEPTION, gva=vaddr, intrinfo=14)
                return False
            host = self.translate(gpa)
            if host is None:
                if self.exit is None:
                    qual = _ACCESS_BITS.get(access, 0)
                    self.exit = VmExit(EXIT_EPT_VIOLATION, qual=qual, gpa=gpa, gva=vaddr)
                return False
            entry.contents.paddr = host
            entry.contents.perms = UC_PROT_READ | UC_PROT_WRITE | UC_PROT_EXEC
            return True
        except BaseException as exc:  # noqa: BLE001 - re-raised after emu_start
            self.hook_error = exc
            return False

    def _stop(self, exit_: VmExit) -> None:
        if self.exit is None:
            self.exit = exit_
        uclib.uc_emu_stop(self.uch)

    def _on_intr(self, _uch: int, number: int, _data: int) -> None:
        self._stop(VmExit(EXIT_EXCEPTION, intrinfo=number))

    # An I/O exit's stop takes effect before the next instruction: the next block's start, or
    # the check a site hook put in (see the module's docstring).

    def _on_in(self, _uch: int, port: int, size: int, _data: int) -> int:
        self._stop(VmExit(EXIT_IO, qual=(size - 1) | IO_IN | port << 16, insn_len=1))
        return 0

    def _on_out(self, _uch: int, port: int, size: int, value: int, _data: int) -> None:
        self._stop(VmExit(EXIT_IO, qual=(size - 1) | port << 16, value=value, insn_len=1))

    def _scan_block(self, pc: int, size: int) -> bool:
        """A block the block hook meets for the first time: if an I/O instruction in it is not
        its last, the one after needs a stop check; True stops the run before the block, which
        is translated again with the check."""
        try:
            code = self.read_guest(pc, size)
            if not _IO_OPCODE.search(code):
                return False
            from capstone import CS_ARCH_X86, CS_MODE_64, Cs

            decoded = list(Cs(CS_ARCH_X86, CS_MODE_64).disasm_lite(code, pc))
            sites = [
                address + length
                for address, length, mnemonic, _ops in decoded[:-1]
                if mnemonic.split(" ")[-1] in _IO_MNEMONICS and address + length not in self._io_sites
            ]
            if sites:
                self._retranslate.append((pc, pc + size, sites))
            return bool(sites)
        except BaseException as exc:  # noqa: BLE001 - called from C; re-raised after emu_start
            self.hook_error = exc
            return True

    def _on_step(self, _uch: int, _address: int, _size: int, _data: int) -> None:
        """The exact tail before a hard limit: stop before instruction ``_step_left + 1``."""
        if self._step_left <= 0:
            uclib.uc_emu_stop(self.uch)
        self._step_left -= 1

    def _on_cpuid(self, _uch: int, _data: int) -> int:
        try:
            regs = self.regs
            leaf = regs.read(x86.UC_X86_REG_RAX) & 0xFFFF_FFFF
            subleaf = regs.read(x86.UC_X86_REG_RCX) & 0xFFFF_FFFF
            values = self.cpuid_answer(leaf, subleaf)
            for reg, value in zip(_CPUID_OUT, values, strict=True):
                regs.write(reg, value & 0xFFFF_FFFF)
            self.cpuid_count += 1
        except BaseException as exc:  # noqa: BLE001
            self.hook_error = exc
            uclib.uc_emu_stop(self.uch)
        return 1

    def _on_invalid(self, _uch: int, _data: int) -> bool:
        return False

    # --- running --------------------------------------------------------------------------

    def live_instructions(self) -> int:
        return self._run_base + self._block_state.counted if self.in_run else 0

    def run(self, budget: int, limit: int | None = None) -> tuple[int, VmExit | None]:
        """Run to the first block boundary at or after ``budget`` instructions and never past
        ``limit`` (deterministic mode; fast mode has no counts, the host timer ends the run):
        (instructions retired, the exit, or None when the budget or the timer ended it)."""
        self._run_base = 0
        executed, exit_, more = self._run_once(budget, limit)
        while more:  # a block was translated again, or the exact tail before the limit is next
            if self.deterministic and (executed >= budget or (limit is not None and executed >= limit)):
                return executed, None
            self._run_base = executed
            left = None if limit is None else limit - executed
            retired, exit_, more = self._run_once(budget - executed, left)
            executed += retired
        return executed, exit_

    def _run_once(self, budget: int, limit: int | None) -> tuple[int, VmExit | None, bool]:
        """One emu_start: (instructions retired, the exit, whether to go on: a block was
        translated again or the exact tail before ``limit`` is to run)."""
        self.exit = None
        self.hook_error = None
        blocks, state = self.blocks, self._block_state
        if not self.deterministic:  # no count ends it: the host timer's tick does
            blocks.start_run()
            RUNNING_FAST[id(self)] = blocks
        elif self._step_hook is not None:  # the last instructions before the limit, in one block
            blocks.start_run()
        else:
            blocks.start_run(max(budget, 1), NEVER if limit is None else limit)
        error = None
        self.in_run = True
        rip = self._start_at
        rip.value = self.regs.read(x86.UC_X86_REG_RIP)
        try:  # uc_emu_start without the binding's wrapper: its status is the error
            error = self._emu_start(self.uch, rip, _ZERO, _ZERO, _ZERO) or None
        finally:
            self.in_run = False
            RUNNING_FAST.pop(id(self), None)
            state.preempt = 0
        if self.hook_error is not None:
            raise self.hook_error
        pc = self.regs.read(x86.UC_X86_REG_RIP)
        retired = blocks.retired(pc)
        exit_ = self.exit
        plain = not self._retranslate and self._step_hook is None
        if plain and exit_ is not None and exit_.reason == EXIT_IO:
            return retired, exit_, False  # the common exit, first
        stepped = self._end_step()
        retranslated = bool(self._retranslate)
        if retranslated:  # (the run may have ended otherwise before the block ran)
            self._add_io_checks()
        if exit_ is not None:
            if exit_.reason == EXIT_EXCEPTION:
                lowlevel.clear_pending_exception(self.uc, self.scratch)
                if self.uc.reg_read(x86.UC_X86_REG_IDTR)[2] == 0:
                    exit_.reason = EXIT_TRIPLE_FAULT
            return retired, exit_, False
        if error == UC_ERR_INSN_INVALID:
            if self.read_guest(pc, 3) == VMCALL:
                return retired, VmExit(EXIT_VMCALL, insn_len=3), False
            invalid = VmExit(EXIT_EXCEPTION, intrinfo=6)
            if self.uc.reg_read(x86.UC_X86_REG_IDTR)[2] == 0:
                invalid.reason = EXIT_TRIPLE_FAULT
            return retired, invalid, False
        if error == UC_ERR_EXCEPTION:
            return retired, VmExit(EXIT_TRIPLE_FAULT, intrinfo=13), False
        if error is not None:
            return retired, VmExit(EXIT_BAD_STATE, qual=error), False
        if retranslated and state.stopped == STOPPED_SCAN:  # before a block to translate again
            return retired, None, True
        if stepped:
            return retired, None, False
        if state.stopped == STOPPED_BUDGET and limit is not None and retired < min(budget, limit):
            # stopped before a block that would pass the limit: its first instructions, one by one
            self._begin_step(limit - retired)
            return retired, None, True
        if state.stopped or (self.deterministic and retired >= budget):
            return retired, None, False
        if self.read_guest(pc - 1, 1) == b"\xf4":
            return retired, VmExit(EXIT_HLT, insn_len=1), False
        return retired, None, False

    def _add_io_checks(self) -> None:
        """Put a code hook on the instruction after each I/O instruction found in a block, and
        drop the block's translation: it is translated again with the checks in it."""
        for start, end, sites in self._retranslate:
            for site in sites:
                if site not in self._io_sites:
                    self._io_sites.add(site)
                    self._site_hooks.append(lowlevel.add_code_hook(self.uc, self._stop_check, site, site))
            self.uc.ctl_remove_cache(start, end)
        self._retranslate.clear()

    def _begin_step(self, instructions: int) -> None:
        """Run the next ``instructions`` under a step hook on the block the run stopped before
        (that block only is translated again, with the hook, and again without it after)."""
        state = self._block_state
        self._step_left = instructions
        self._step_range = (state.start, state.start + state.size)
        self._step_hook = lowlevel.add_code_hook(
            self.uc, self._callbacks[6], state.start, state.start + state.size - 1
        )
        self.uc.ctl_remove_cache(*self._step_range)

    def _end_step(self) -> bool:
        """After a run under the step hook: remove it (True), else False."""
        if self._step_hook is None:
            return False
        lowlevel.delete_hook(self.uc, self._step_hook)
        self.uc.ctl_remove_cache(*self._step_range)
        self._step_hook = None
        self._step_left = 0
        return True


def _no_op(_uch: int, _address: int, _size: int, _data: int) -> None:
    """The pure-Python stop check (a code hook that does nothing)."""
