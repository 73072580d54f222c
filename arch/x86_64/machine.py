"""The emulated x86-64 machine: cores sharing one physical memory."""

from __future__ import annotations

import ctypes
import itertools
import threading
import weakref
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from unicorn import x86_const as x86
from unicorn.unicorn_py3.unicorn import UcContext

from kernkit.arch.x86_64 import layout, lowlevel
from kernkit.arch.x86_64.backtrace import backtrace
from kernkit.arch.x86_64.context import FXSAVE_SIZE, USER_REGISTERS, RegisterImage, X86Context
from kernkit.arch.x86_64.cpu import X86Core
from kernkit.arch.x86_64.paging import X86PageTable
from kernkit.core.errors import ConfigError
from kernkit.core.physmem import PAGE_SIZE, PhysicalMemory

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.machine import Stop
    from kernkit.core.process import Thread
    from kernkit.core.vm import AddressSpace

_ZEROED = (
    x86.UC_X86_REG_RAX,
    x86.UC_X86_REG_RBX,
    x86.UC_X86_REG_RCX,
    x86.UC_X86_REG_RDX,
    x86.UC_X86_REG_RSI,
    x86.UC_X86_REG_RDI,
    x86.UC_X86_REG_RBP,
    x86.UC_X86_REG_R8,
    x86.UC_X86_REG_R9,
    x86.UC_X86_REG_R10,
    x86.UC_X86_REG_R11,
    x86.UC_X86_REG_R12,
    x86.UC_X86_REG_R13,
    x86.UC_X86_REG_R14,
    x86.UC_X86_REG_R15,
    x86.UC_X86_REG_FS_BASE,
    x86.UC_X86_REG_GS_BASE,
)


def frame_ranges(frames: list[int]) -> list[tuple[int, int]]:
    """[start, end) physical ranges covering ``frames``, neighbours joined."""
    ranges: list[tuple[int, int]] = []
    for frame in sorted(frames):
        if ranges and ranges[-1][1] == frame:
            ranges[-1] = (ranges[-1][0], frame + PAGE_SIZE)
        else:
            ranges.append((frame, frame + PAGE_SIZE))
    return ranges


class X86Machine:
    """``[machine] cores`` Unicorn instances over one ``[machine] memory`` buffer, run in turn."""

    user_limit = layout.USER_LIMIT

    @property
    def hwcap(self) -> int:
        """Linux's AT_HWCAP on x86-64: the feature bits CPUID leaf 1 puts in EDX."""
        return lowlevel.cpuid(1)[3]

    def __init__(self, kernel: Kernel) -> None:
        options = kernel.config["machine"]
        self.kernel = kernel
        self.deterministic = options.mode == "deterministic"
        if options.memory % PAGE_SIZE:
            raise ConfigError(
                f"{kernel.config.raw.source_of('machine.memory')}: machine.memory: must be a multiple "
                f"of the 4K page size, got {options.memory}"
            )
        if options.memory < layout.RESERVED + layout.MIN_USER_MEMORY:
            smallest = (layout.RESERVED + layout.MIN_USER_MEMORY) >> 20
            raise ConfigError(
                f"{kernel.config.raw.source_of('machine.memory')}: machine.memory: the x86_64 machine "
                f"needs at least {smallest}M (its first 1M is the machine's own)"
            )
        self.memory = PhysicalMemory(options.memory, reserved=layout.RESERVED)
        self.memory.code_written = lambda frame: self.code_changed(None)
        #: The core inside a TLB fill, if any: its own TLB is being refilled, not shot down.
        self.filling: X86Core | None = None
        for i, descriptor in enumerate(layout.GDT_ENTRIES):
            self.memory.words[layout.GDT // 8 + i] = descriptor
        self.memory.write(layout.IRET_STUB, layout.IRETQ)
        #: Register batches for whole user states (signal frames); one engine call each.
        self.user_batch = lowlevel.RegisterBatch([(reg, 8) for reg in USER_REGISTERS.values()])
        #: FPU states read from (and written to) threads, as FXSAVE images.
        self.fpu_image = RegisterImage([("fpu", 0)], FXSAVE_SIZE)
        self.fpu_loader = RegisterImage([("fpu", 0)], FXSAVE_SIZE)
        self._register_batches: dict[tuple[str, ...], lowlevel.RegisterBatch] = {}
        with lowlevel.small_host_pages():
            self.cores = [X86Core(self, i) for i in range(options.cores)]
        self._template = self.cores[0].uc.context_save()
        #: Per core, the foreign context (see core.machine.Machine.run) running there, if any.
        self.foreign: list[object | None] = [None] * options.cores
        #: Guest CPUs by the id of the VMM address space whose memory they use.
        self.guests: dict[int, list] = {}
        #: The thread whose next run is a single step (see single_step).
        self.stepping: Thread | None = None
        self._disassembler = None
        #: A number per address space and version of its mappings (cores cache block counts
        #: by it: a space whose mappings changed gets a new one).
        self._space_numbers: weakref.WeakKeyDictionary[AddressSpace, int] = weakref.WeakKeyDictionary()
        self._next_space = itertools.count(1)
        self._watchdog: threading.Thread | None = None
        self._closing = threading.Event()
        if not self.deterministic:
            self._start_watchdog(options.slice_us / 1e6)

    def new_page_table(self) -> X86PageTable:
        return X86PageTable(self.memory)

    def blank_context(self) -> UcContext:
        return UcContext(self.cores[0].uch, self._template.arch, self._template.mode)

    def register_image(
        self, fields: Sequence[tuple[str, int]], size: int, template: bytes = b""
    ) -> RegisterImage:
        """See core.machine.Machine.register_image."""
        return RegisterImage(fields, size, template)

    def register_batch(self, names: tuple[str, ...]) -> lowlevel.RegisterBatch:
        """A batch moving the user registers ``names`` (8 bytes each) in one engine call."""
        batch = self._register_batches.get(names)
        if batch is None:
            ids = [(USER_REGISTERS[name], 8) for name in names]
            batch = self._register_batches[names] = lowlevel.RegisterBatch(ids)
        return batch

    @staticmethod
    def copy_context(source: UcContext, target: UcContext) -> None:
        ctypes.memmove(
            ctypes.cast(target.context, ctypes.c_void_p).value,
            ctypes.cast(source.context, ctypes.c_void_p).value,
            source.size,
        )

    def new_context(self, entry: int, stack: int) -> X86Context:
        blob = self.blank_context()
        self.copy_context(self._template, blob)
        for reg in _ZEROED:
            blob.reg_write(reg, 0)
        blob.reg_write(x86.UC_X86_REG_RIP, entry)
        blob.reg_write(x86.UC_X86_REG_RSP, stack)
        blob.reg_write(x86.UC_X86_REG_RFLAGS, 0x202)
        context = X86Context(blob, self)
        context.reset_fpu_state()  # as after FNINIT: the engine's own reset state is all zeros
        return context

    def run(self, core: int, thread: Thread, budget: int, limit: int | None = None) -> Stop:
        runner = getattr(thread.context, "run_on_core", None)
        if runner is not None:  # a context of another kind (a VM's guest pcore) runs itself
            self.foreign[core] = thread.context
            try:
                return runner(core, budget, limit)
            finally:
                self.foreign[core] = None
        return self.cores[core].run(thread, budget, limit)

    def space_number(self, aspace: AddressSpace) -> int:
        number = self._space_numbers.get(aspace)
        if number is None:
            number = self._space_numbers[aspace] = next(self._next_space)
        return number

    def live_instructions(self, core: int) -> int:
        foreign = self.foreign[core]
        if foreign is not None:
            return foreign.live_instructions()
        # X86Core.live_instructions inlined: a traced system call asks this for its time stamp
        cpu = self.cores[core]
        return cpu.run_base + cpu._block_state.counted - cpu.segment_base if cpu.in_run else 0

    def charge(self, core: int, instructions: int) -> None:
        self.cores[core].charge(instructions)

    def set_breakpoints(self, addresses: Collection[int]) -> None:
        """Breakpoints are code hooks on their addresses, on every core (virtual addresses: a
        breakpoint holds in every address space)."""
        for core in self.cores:
            core.set_breakpoints(addresses)

    def single_step(self, thread: Thread | None) -> None:
        self.stepping = thread

    def address_space_changed(self, aspace: AddressSpace, code: bool = True) -> None:
        if code:  # the code at an address may not be what it was: block counts start afresh
            self._space_numbers[aspace] = next(self._next_space)
        for core in self.cores:
            if core is not self.filling:
                core.flush_tlb_if(aspace)
        for guest in self.guests.get(id(aspace), ()):
            guest.flush_tlb()

    def address_space_released(self, aspace: AddressSpace) -> None:
        """A core that had ``aspace`` loaded flushes its TLB when it loads the next one (it
        cannot run ``aspace`` again), so nothing is flushed now."""
        for guest in self.guests.get(id(aspace), ()):
            guest.flush_tlb()

    def add_guest(self, aspace: AddressSpace, guest: object) -> None:
        """A guest CPU over ``aspace``'s memory: its TLB goes when that memory changes."""
        self.guests.setdefault(id(aspace), []).append(guest)

    def remove_guests(self, aspace: AddressSpace) -> None:
        for guest in self.guests.pop(id(aspace), ()):
            guest.close()

    def code_changed(self, aspace: AddressSpace) -> None:
        """The kernel wrote into a frame that may hold translated code: every core drops its
        translations before it next runs (the running one stops after the current syscall)."""
        for core in self.cores:
            core.needs_tb_flush = True

    def release_quarantine(self) -> None:
        """Frames that held code may be reused once no core has translations of them left:
        every core drops the translations of those frames (only them: code of other programs
        stays translated), then they go back to the free frames. Called before a core runs,
        when no core is inside the emulator."""
        quarantine = self.memory.quarantine
        if quarantine:
            ranges = frame_ranges(quarantine)
            for core in self.cores:
                core.drop_translations(ranges)
            self.memory.release_quarantine()

    def backtrace(self, aspace: AddressSpace, context: X86Context, depth: int = 32) -> list[int]:
        return backtrace(aspace, context.pc, context.sp, depth)

    def disassemble(self, aspace: AddressSpace, pc: int) -> str:
        code = self.cores[0]._peek(aspace, pc, 16)  # noqa: SLF001 - same machine
        if not code:
            return "(no code mapped at this address)"
        if self._disassembler is None:
            from capstone import CS_ARCH_X86, CS_MODE_64, Cs

            self._disassembler = Cs(CS_ARCH_X86, CS_MODE_64)
        for insn in self._disassembler.disasm(code, pc, 1):
            text = f"{insn.mnemonic} {insn.op_str}".strip()
            return f"{text}    ({' '.join(f'{b:02x}' for b in insn.bytes)})"
        return f"(cannot decode: {code[:8].hex(' ')})"

    def _start_watchdog(self, period: float) -> None:
        from kernkit.arch.x86_64 import guest

        def tick() -> None:
            while not self._closing.wait(period):
                for core in self.cores:
                    if core.running:  # the core's block hook stops it before its next block
                        core.blocks.state.preempt = 1
                for blocks in list(guest.RUNNING_FAST.values()):
                    blocks.state.preempt = 1

        self._watchdog = threading.Thread(target=tick, name="kernkit-preempt", daemon=True)
        self._watchdog.start()

    def close(self) -> None:
        self._closing.set()
        if self._watchdog is not None:
            self._watchdog.join()
