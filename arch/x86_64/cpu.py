"""One x86-64 core: a Unicorn instance in ring 3, fed by the kernel one thread at a time."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from unicorn import (
    UC_ARCH_X86,
    UC_CTL_IO_WRITE,
    UC_CTL_TLB_FLUSH,
    UC_ERR_EXCEPTION,
    UC_ERR_INSN_INVALID,
    UC_MODE_64,
    UC_PROT_ALL,
    UC_PROT_EXEC,
    UC_PROT_READ,
    UC_PROT_WRITE,
    UC_TLB_VIRTUAL,
    Uc,
    UcError,
)
from unicorn import x86_const as x86
from unicorn.unicorn_py3.unicorn import uclib

from kernkit.arch.x86_64 import layout, lowlevel
from kernkit.arch.x86_64.context import X86Context
from kernkit.arch.x86_64.paging import ADDRESS_MASK, NO_EXECUTE, PRESENT, WRITABLE, walk
from kernkit.core.errors import OutOfMemory
from kernkit.core.machine import Fault, HandoffKind, Stop
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE

if TYPE_CHECKING:
    from kernkit.arch.x86_64.machine import X86Machine
    from kernkit.core.process import Thread
    from kernkit.core.vm import AddressSpace

ACCESS = {16: "read", 17: "write", 18: "exec"}
UC_MEM_WRITE, UC_MEM_FETCH = 17, 18
RIP, RAX, RDX = x86.UC_X86_REG_RIP, x86.UC_X86_REG_RAX, x86.UC_X86_REG_RDX
#: Exceptions a user program can raise, as (signal, description).
EXCEPTIONS = {
    0: (8, "divide error"),
    1: (5, "debug trap"),
    3: (5, "breakpoint"),
    4: (11, "overflow"),
    5: (11, "bound range exceeded"),
    6: (4, "invalid opcode"),
    7: (8, "device not available"),
    8: (11, "double fault"),
    13: (11, "general protection fault"),
    16: (8, "x87 floating-point error"),
    17: (7, "alignment check"),
    19: (8, "SIMD floating-point error"),
}
RDTSC, RDTSCP = b"\x0f\x31", b"\x0f\x01\xf9"
TCG_BUFFER = 32 << 20


class X86Core:
    """Runs threads of any process; keeps their address space in its TLB until another comes."""

    def __init__(self, machine: X86Machine, index: int) -> None:
        self.machine = machine
        self.index = index
        self.kernel = machine.kernel
        self.words = machine.memory.words
        self.deterministic = machine.deterministic
        uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.ctl_set_tcg_buffer_size(TCG_BUFFER)
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        uc.mem_map_ptr(0, machine.memory.size, UC_PROT_ALL, machine.memory.address)
        self.uc = uc
        self.uch = lowlevel.handle(uc)
        self.regs = lowlevel.Registers(uc)
        self._fast_reg = self.regs.fast_access()
        self._read_args = self.regs.syscall_args
        self._dispatch = self.kernel.dispatcher.dispatch
        self.counter = lowlevel.counter_reader(uc) if self.deterministic else (lambda: 0)
        self._counted = lowlevel.counter_cell(uc)
        #: The count of the emu_start in progress, and how far charge() took the counter past it.
        self._count = 0
        self._overshoot = 0
        self.scratch = uc.context_save()
        self.thread: Thread | None = None
        self.loaded: X86Context | None = None
        self.aspace: AddressSpace | None = None
        self.root = 0
        self.running = False  # inside emu_start (the fast-mode timer may stop it)
        self.in_run = False  # inside run(): live_instructions() counts
        self.in_syscall = False  # inside the syscall hook (RIP reads as the syscall itself)
        #: Instructions of this run that belong to threads the core handed over (Kernel.handoff).
        self.segment_base = 0
        self.switched = False
        self.run_base = 0
        self.kernel_mode = True
        self.needs_tb_flush = False
        self.fault: tuple[int, int, str] | None = None
        self.pending_intr: int | None = None
        self.hook_error: BaseException | None = None
        #: Debugging: where a breakpoint stopped the run, the one to pass over once, the hooks.
        self.breakpoint_hit: int | None = None
        self.skip_breakpoint: int | None = None
        self._breakpoints: dict[int, object] = {}
        self._step_hook: object | None = None
        self._step_seen = 0
        self._step_from = -1
        self._callbacks = (
            lowlevel.SYSCALL_CB(self._on_syscall),
            lowlevel.INTR_CB(self._on_intr),
            lowlevel.TLB_FILL_CB(self._on_tlb_fill),
            lowlevel.CODE_CB(self._on_breakpoint),
            lowlevel.CODE_CB(self._on_step),
        )
        lowlevel.add_syscall_hook(uc, self._callbacks[0])
        lowlevel.add_intr_hook(uc, self._callbacks[1])
        lowlevel.add_tlb_fill_hook(uc, self._callbacks[2])
        self._enter_user_mode()

    # --- start-up ----------------------------------------------------------------------------

    def _enter_user_mode(self) -> None:
        """Drop to ring 3 once, through an iretq from the boot stub; the core never leaves it."""
        uc = self.uc
        uc.reg_write(x86.UC_X86_REG_GDTR, (0, layout.KERNEL_BASE + layout.GDT, layout.GDT_LIMIT, 0))
        uc.reg_write(x86.UC_X86_REG_CR4, uc.reg_read(x86.UC_X86_REG_CR4) | layout.CR4_FLAGS)
        frame_top = layout.boot_stack_top(self.index)
        frame = (layout.USER_PARK, layout.USER_CS, 0x202, 0, layout.USER_SS)
        for i, value in enumerate(frame):
            self.machine.memory.words[(frame_top - 40) // 8 + i] = value
        uc.reg_write(x86.UC_X86_REG_RSP, layout.KERNEL_BASE + frame_top - 40)
        if self.deterministic:
            uc.emu_start(layout.KERNEL_BASE + layout.IRET_STUB, 0, count=1)
        else:  # never mix count= runs with plain ones (translations differ); stop at the park
            uc.emu_start(layout.KERNEL_BASE + layout.IRET_STUB, layout.USER_PARK)
        if uc.reg_read(x86.UC_X86_REG_CS) & 3 != 3:
            raise RuntimeError("could not enter ring 3 on the emulated core")
        self.kernel_mode = False
        self._flush_tlb()

    # --- hooks (called from C; exceptions must not escape) -------------------------------------

    def _on_syscall(self, _uch: int, _data: int) -> None:
        # the hot path: ctypes calls are inlined (a Python call costs as much as the read)
        self.in_syscall = True
        try:
            thread = self.thread
            read, write, uch, value, ref = self._fast_reg
            read(uch, RAX, ref)
            result = self._dispatch(thread, value.value, self._read_args)
            if result is not None:
                value.value = result & 0xFFFF_FFFF_FFFF_FFFF
                write(uch, RAX, ref)
            if self.needs_tb_flush or (thread.stop_requested and not self._hand_off(thread)):
                uclib.uc_emu_stop(uch)
        except BaseException as exc:  # noqa: BLE001 - re-raised after emu_start returns
            self.hook_error = exc
            uclib.uc_emu_stop(self.uch)
        finally:
            self.in_syscall = False

    def _hand_off(self, thread: Thread) -> bool:
        """Inside the syscall hook: let the kernel settle ``thread`` and, if it names a thread of
        the same address space, go on with that one in this run (True). False: stop the run."""
        if not self.deterministic:
            return False
        done = self.run_base + self.counter() - self.segment_base
        answer = self.kernel.handoff(self.index, thread, done)
        if answer.kind is HandoffKind.NOT_TAKEN:
            return False
        self.segment_base += done
        following = answer.thread
        # a thread whose context runs itself (a guest pcore's, after a vmm_run that blocked in
        # the guest) is the machine's to start, not this engine's
        if (
            answer.kind is HandoffKind.SETTLED
            or following.process.aspace is not self.aspace
            or type(following.context) is not X86Context
        ):
            self.switched = True
            return False
        regs = self.regs
        regs.write(RIP, regs.read(RIP) + 2)  # the stopped thread resumes after its syscall
        self.load(following)
        regs.write(RIP, regs.read(RIP) - 2)  # the syscall instruction's end adds 2 back
        following.stop_requested = False
        return True

    def _on_intr(self, _uch: int, number: int, _data: int) -> None:
        self.pending_intr = number
        uclib.uc_emu_stop(self.uch)

    def _on_breakpoint(self, _uch: int, address: int, _size: int, _data: int) -> None:
        if address == self.skip_breakpoint:  # the thread resumes from this breakpoint
            self.skip_breakpoint = None
            return
        self.breakpoint_hit = address
        uclib.uc_emu_stop(self.uch)

    def _on_step(self, _uch: int, address: int, _size: int, _data: int) -> None:
        """Fast mode's single step: stop before the second instruction."""
        if self._step_seen == 0:
            self._step_from = address
        self._step_seen += 1
        if self._step_seen > 1:
            uclib.uc_emu_stop(self.uch)

    def _step_or_retry(self, stop: Stop) -> Stop | None:
        """A fast-mode step the timer cut short: done if its instruction retired (the pc moved
        on), else tried again from the start (None)."""
        if self._step_seen > 1 or (self._step_seen == 1 and self.regs.read(RIP) != self._step_from):
            return stop
        self._step_seen = 0
        return None

    def _on_tlb_fill(self, _uch: int, vaddr: int, access: int, entry, _data: int) -> bool:  # noqa: ANN001
        try:
            page = vaddr & PAGE_MASK
            if page >= layout.USER_LIMIT:
                if self.kernel_mode and page >= layout.KERNEL_BASE:
                    entry.contents.paddr = page - layout.KERNEL_BASE
                    entry.contents.perms = UC_PROT_ALL
                    return True
                if page >= layout.KERNEL_BASE:
                    reason = "kernel address"
                else:
                    reason = "non-canonical address" if page >> 47 else "not mapped"
                self.fault = self.fault or (vaddr, access, reason)
                return False
            if self.aspace is None:  # booting: the first user fetch lands on the parking page
                if not self.kernel_mode:
                    self.fault = (vaddr, access, "no address space")
                    return False
                entry.contents.paddr = layout.IRET_STUB & PAGE_MASK
                entry.contents.perms = UC_PROT_READ | UC_PROT_EXEC
                return True
            pte = walk(self.words, self.root, page)
            if not pte & PRESENT or (access == UC_MEM_WRITE and not pte & WRITABLE):
                if self.aspace.resolve_fault(page, ACCESS[access]) is None:
                    if pte & PRESENT:
                        reason = "read-only page"
                    else:
                        reason = (
                            "not mapped"
                            if self.aspace.region_at(page) is None
                            else f"no {ACCESS[access]} access"
                        )
                    self.fault = self.fault or (vaddr, access, reason)
                    return False
                pte = walk(self.words, self.root, page)
            if access == UC_MEM_FETCH and pte & NO_EXECUTE:
                self.fault = self.fault or (vaddr, access, "page not executable")
                return False
            entry.contents.paddr = pte & ADDRESS_MASK
            entry.contents.perms = (
                UC_PROT_READ
                | (UC_PROT_WRITE if pte & WRITABLE else 0)
                | (0 if pte & NO_EXECUTE else UC_PROT_EXEC)
            )
            return True
        except OutOfMemory:
            self.fault = (vaddr, access, "out of memory")
            return False
        except BaseException as exc:  # noqa: BLE001 - a kernel bug; re-raised by run()
            self.hook_error = exc
            self.fault = (vaddr, access, "kernel error")
            return False

    # --- running a thread -----------------------------------------------------------------

    def _flush_tlb(self) -> None:
        self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    def load(self, thread: Thread) -> None:
        context = thread.context
        if self.loaded is not context:
            if context.live is not None and context.live is not self:
                context.live.unload()
            self.unload()
            self.uc.context_restore(context.blob)
            context.live = self
            self.loaded = context
            if context.pending_result is not None:
                self.regs.write(RAX, context.pending_result)
                context.pending_result = None
        aspace = thread.process.aspace
        if self.aspace is not aspace:
            self.aspace = aspace
            self.root = aspace.page_table.root
            self._flush_tlb()
        self.thread = thread

    def unload(self) -> None:
        """Save and detach the loaded context (its thread moves to another core)."""
        if self.loaded is not None:
            self.uc.context_update(self.loaded.blob)
            self.loaded.live = None
            self.loaded = None

    def run(self, thread: Thread, budget: int) -> Stop:
        self.machine.release_quarantine()
        self.load(thread)
        context = thread.context
        stepping = self.machine.stepping is thread
        if stepping:
            self.machine.stepping = None
            budget = 1
            if not self.deterministic:
                self._arm_step()
        if context.at_breakpoint is not None:  # resuming from a breakpoint: run its instruction
            if context.at_breakpoint == self.regs.read(RIP):
                self.skip_breakpoint = context.at_breakpoint
            context.at_breakpoint = None
        executed = 0
        stop: Stop | None = None
        self.segment_base = 0
        self.switched = False
        self.in_run = True
        try:
            while stop is None:
                stop, executed = self._run_once(self.thread, budget, executed)
                if stepping and not self.deterministic and stop is not None and stop.kind == "slice":
                    stop = self._step_or_retry(stop)
        finally:
            self.in_run = False
            self.skip_breakpoint = None
            if stepping and not self.deterministic:
                self._disarm_step()
        if self.switched:
            return Stop("switch", 0)
        last = self.thread
        kind = stop.kind
        if kind == "breakpoint":
            last.context.at_breakpoint = self.regs.read(RIP)
        elif kind == "slice" and stepping:
            kind = "step"
        return Stop(kind, executed - self.segment_base, stop.fault, last if last is not thread else None)

    # --- debugging ------------------------------------------------------------------------

    def set_breakpoints(self, addresses: Collection[int]) -> None:
        wanted = set(addresses)
        if wanted == self._breakpoints.keys():
            return
        for address in [a for a in self._breakpoints if a not in wanted]:
            lowlevel.delete_hook(self.uc, self._breakpoints.pop(address))
        for address in wanted - self._breakpoints.keys():
            self._breakpoints[address] = lowlevel.add_code_hook(self.uc, self._callbacks[3], address, address)
        self.needs_tb_flush = True  # code translated before a hook existed would not call it

    def _arm_step(self) -> None:
        self._step_seen = 0
        self._step_hook = lowlevel.add_code_hook(self.uc, self._callbacks[4])
        self.uc.ctl_flush_tb()

    def _disarm_step(self) -> None:
        if self._step_hook is not None:
            lowlevel.delete_hook(self.uc, self._step_hook)
            self._step_hook = None
            self.needs_tb_flush = True

    def _run_once(self, thread: Thread, budget: int, executed: int) -> tuple[Stop | None, int]:
        """One emu_start; (why the run ends or None to go on, instructions retired so far)."""
        if self.needs_tb_flush:
            self.uc.ctl_flush_tb()
            self.needs_tb_flush = False
        self.fault = self.pending_intr = self.hook_error = self.breakpoint_hit = None
        self.run_base = executed
        self._count, self._overshoot = budget - executed, 0
        error = None
        self.running = True
        try:
            if self.deterministic:
                self.uc.emu_start(self.regs.read(RIP), layout.UNTIL, count=budget - executed)
            else:
                self.uc.emu_start(self.regs.read(RIP), layout.UNTIL)
        except UcError as exc:
            error = exc.errno
        finally:
            self.running = False
        if self.hook_error is not None:
            raise self.hook_error
        counted = self.counter()
        if self.switched:  # the kernel took the core back inside the run (see _hand_off)
            return Stop("switch", 0), executed + counted
        done, stop = self._classify(self.thread, error, counted, budget - executed)
        executed += done
        if stop is None and self.deterministic and executed >= budget:
            stop = Stop("slice", 0)
        return stop, executed

    def _classify(
        self, thread: Thread, error: int | None, counted: int, budget: int
    ) -> tuple[int, Stop | None]:
        """(instructions retired, why the run ended or None to carry on)."""
        pc = self.regs.read(RIP)
        # an exception or fault first: a stop request set while the thread was off its core (a
        # kernel message replaced its context) must not hide what ended this run
        trapped = error is not None or self.pending_intr is not None or self.breakpoint_hit is not None
        if thread.stop_requested and not trapped:  # the syscall finished; what follows is not its
            return counted, Stop("syscall", 0)
        if self.breakpoint_hit is not None:  # stopped before the instruction, which was counted
            return max(counted - 1, 0), Stop("breakpoint", 0)
        if error == UC_ERR_EXCEPTION and self.fault is not None:
            address, access, reason = self.fault
            if reason == "out of memory":
                return max(counted - 1, 0), Stop("fault", 0, Fault(9, reason, pc, address, ACCESS[access]))
            what = f"page fault, {reason}"
            return max(counted - 1, 0), Stop("fault", 0, Fault(11, what, pc, address, ACCESS[access]))
        if error == UC_ERR_INSN_INVALID:
            return max(counted - 1, 0), Stop("fault", 0, Fault(4, "invalid opcode", pc))
        if error is not None:
            return max(counted - 1, 0), Stop("fault", 0, Fault(11, f"CPU error {error}", pc))
        if self.pending_intr is not None:
            return self._exception(thread, self.pending_intr, counted, pc)
        if pc == layout.UNTIL:
            return counted, Stop("fault", 0, Fault(11, "page fault, not mapped", pc, pc, "exec"))
        if self.needs_tb_flush:
            return counted, None
        # the count stops the run as it counts one more (not run); charge() may have passed it
        return min(counted, budget + self._overshoot), Stop("slice", 0)

    def _exception(self, thread: Thread, number: int, counted: int, pc: int) -> tuple[int, Stop | None]:
        lowlevel.clear_pending_exception(self.uc, self.scratch)
        if number == 13:
            code = self._peek(thread.process.aspace, pc, 3)
            if code.startswith(RDTSC) or code == RDTSCP:
                self._emulate_rdtsc(pc, len(RDTSC) if code.startswith(RDTSC) else len(RDTSCP))
                return counted, None
        if number >= 32:
            return counted, Stop("fault", 0, Fault(11, f"software interrupt {number:#x}", pc - 2))
        if number == 3 and self._peek(thread.process.aspace, pc - 1, 1) == b"\xcc":
            return counted, Stop("fault", 0, Fault(5, "breakpoint (int3)", pc - 1, breakpoint=True))
        signal, what = EXCEPTIONS.get(number, (11, f"CPU exception {number}"))
        return max(counted - 1, 0), Stop("fault", 0, Fault(signal, what, pc))

    def _emulate_rdtsc(self, pc: int, length: int) -> None:
        """Time-stamp counter = virtual time in ticks of ``[machine] ips`` per second."""
        ticks = self.kernel.now(self.index) * self.kernel.ips // 1_000_000_000
        self.regs.write(RAX, ticks & 0xFFFF_FFFF)
        self.regs.write(RDX, ticks >> 32)
        if length == len(RDTSCP):
            self.regs.write(x86.UC_X86_REG_RCX, self.index)
        self.regs.write(RIP, pc + length)

    def _peek(self, aspace: AddressSpace, va: int, length: int) -> bytes:
        entry = aspace.page_table.lookup(va) if aspace is not None else None
        if entry is None:
            return b""
        offset = va & (PAGE_SIZE - 1)
        return self.machine.memory.read(entry[0] + offset, min(length, PAGE_SIZE - offset))

    def live_instructions(self) -> int:
        """Instructions retired so far in the run in progress (0 between runs)."""
        return self.run_base + self.counter() - self.segment_base if self.in_run else 0

    def charge(self, instructions: int) -> None:
        """Instructions run elsewhere count as this run's (see Machine.charge): added to the
        engine's own count, so they come off what is left of ``emu_start``'s count too."""
        if self.deterministic and self.in_run:
            counted = self._counted.value = self._counted.value + instructions
            self._overshoot = max(self._overshoot, counted - self._count)

    def flush_tlb_if(self, aspace: AddressSpace) -> None:
        if self.aspace is aspace:
            self._flush_tlb()
