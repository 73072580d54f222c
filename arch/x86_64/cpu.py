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

from kernkit.api import SyscallDispatcher, TracingDispatcher
from kernkit.arch.x86_64 import layout, lowlevel
from kernkit.arch.x86_64.blocks import NEVER, STOPPED_BUDGET, BlockCounter
from kernkit.arch.x86_64.context import X86Context
from kernkit.arch.x86_64.native import (
    ENTRY_DISPATCH,
    ENTRY_TRACED,
    EntryDispatch,
    SyscallState,
    args_reader,
    dispatch_in_c,
    install_syscall_entry,
    install_tlb_fill,
    registered_files,
)
from kernkit.arch.x86_64.paging import ADDRESS_MASK, NO_EXECUTE, PRESENT, WRITABLE, walk
from kernkit.core.errors import OutOfMemory
from kernkit.core.machine import Fault, HandoffKind, Stop
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE
from kernkit.core.process import RUNNING

if TYPE_CHECKING:
    from kernkit.arch.x86_64.machine import X86Machine
    from kernkit.core.process import Thread
    from kernkit.core.records import Syscall
    from kernkit.core.vm import AddressSpace

ACCESS = {16: "read", 17: "write", 18: "exec"}
#: The C TLB fill's "the page is in the tables now: fill from them" (native.install_tlb_fill).
FILL_FROM_TABLES = -1
UC_MEM_WRITE, UC_MEM_FETCH = 17, 18
RIP, RAX, RDX = x86.UC_X86_REG_RIP, x86.UC_X86_REG_RAX, x86.UC_X86_REG_RDX
#: Exceptions a user program can raise, as (signal, description, POSIX si_code name).
EXCEPTIONS = {
    0: (8, "divide error", "FPE_INTDIV"),
    1: (5, "debug trap", "TRAP_TRACE"),
    3: (5, "breakpoint", ""),
    4: (11, "overflow", ""),
    5: (11, "bound range exceeded", ""),
    6: (4, "invalid opcode", "ILL_ILLOPN"),
    7: (8, "device not available", ""),
    8: (11, "double fault", ""),
    13: (11, "general protection fault", ""),
    16: (8, "x87 floating-point error", "FPE_FLTINV"),
    17: (7, "alignment check", "BUS_ADRALN"),
    19: (8, "SIMD floating-point error", "FPE_FLTINV"),
}
#: Why a TLB fill was refused -> the POSIX si_code of the page fault (others: no finer cause).
PAGE_FAULT_CODES = {
    "not mapped": "SEGV_MAPERR",
    "kernel address": "SEGV_MAPERR",
    "read-only page": "SEGV_ACCERR",
    "page not executable": "SEGV_ACCERR",
    "no read access": "SEGV_ACCERR",
    "no write access": "SEGV_ACCERR",
    "no exec access": "SEGV_ACCERR",
    "beyond the end of the mapped file": "BUS_ADRERR",
}
SIGKILL, SIGSEGV = 9, 11
RDTSC, RDTSCP = b"\x0f\x31", b"\x0f\x01\xf9"
TCG_BUFFER = 32 << 20


def entry_kind(dispatcher: object) -> str | None:
    """Which dispatch ``dispatcher`` does, exactly: "plain" (SyscallDispatcher's dispatch and
    record), "traced" (TracingDispatcher's), or None (a class that changed either, or a wrapper
    such as the cost model's): the C entry stands in only for the first two."""
    cls = type(dispatcher)
    for kind, base in (("plain", SyscallDispatcher), ("traced", TracingDispatcher)):
        if getattr(cls, "dispatch", None) is base.dispatch and getattr(cls, "record", None) is base.record:
            return kind
    return None


class X86Core:
    """Runs threads of any process; keeps their address space in its TLB until another comes."""

    #: What the C system call entry reads or writes at each call, as slots: it reads them at
    #: their offsets (the rest of the core's attributes stay in its dictionary).
    __slots__ = (
        *("thread", "in_syscall", "needs_tb_flush", "in_run", "run_base", "segment_base"),
        *("__dict__", "__weakref__"),
    )

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
        # context switches without the binding's wrappers (half the cost)
        self._context_save = lowlevel.unchecked(uclib.uc_context_save)
        self._context_restore = lowlevel.unchecked(uclib.uc_context_restore)
        self._dispatch = self.kernel.dispatcher.dispatch
        self._fault_address = lowlevel.fault_address_reader(uc)
        #: Counts instructions by translated blocks and ends runs between blocks (blocks.py).
        self.blocks = BlockCounter(uc, self._read_code, counting=self.deterministic)
        self._block_state = self.blocks.state
        #: Instructions still to run one by one (a hard limit falls inside a block), or None.
        self._exact_left: int | None = None
        self.scratch = uc.context_save()
        self.thread: Thread | None = None
        self.loaded: X86Context | None = None
        self.aspace: AddressSpace | None = None
        self.root = 0
        self.running = False  # inside emu_start (the fast-mode timer may stop it)
        self.in_run = False  # inside run(): live_instructions() counts
        self.in_syscall = False  # inside the syscall hook (RIP reads as the syscall itself)
        #: The address space changed while this core was not running: flush before it runs.
        self.tlb_stale = False
        #: Instructions of this run that belong to threads the core handed over (Kernel.handoff).
        self.segment_base = 0
        self.switched = False
        self.run_base = 0
        self.kernel_mode = True
        self.needs_tb_flush = False
        #: Why the last TLB fill was refused: (address, access, reason, signal).
        self.fault: tuple[int, int, str, int] | None = None
        self.pending_intr: int | None = None
        self.hook_error: BaseException | None = None
        #: Debugging: where a breakpoint stopped the run, the one to pass over once, the hooks.
        self.breakpoint_hit: int | None = None
        self.skip_breakpoint: int | None = None
        self._breakpoints: dict[int, object] = {}
        self._step_hook: object | None = None
        self._step_seen = 0
        self._step_budget = 1
        self._step_from = -1
        self._callbacks = (
            lowlevel.SYSCALL_CB(self._on_syscall),
            lowlevel.INTR_CB(self._on_intr),
            lowlevel.TLB_FILL_CB(self._on_tlb_fill),
            lowlevel.CODE_CB(self._on_breakpoint),
            lowlevel.CODE_CB(self._on_step),
        )
        #: syscall entry in C when the native library is there, else the ctypes callback
        self._syscall_entry = install_syscall_entry(uc, self._on_native_syscall)
        if self._syscall_entry is None:
            lowlevel.add_syscall_hook(uc, self._callbacks[0])
        else:
            self._native_args = args_reader(self._syscall_entry)
            self._dispatch_in_c(self._syscall_entry)
        lowlevel.add_intr_hook(uc, self._callbacks[1])
        #: TLB fills of present pages in C when the native library is there (Python: the rest)
        self._fill_state = install_tlb_fill(uc, machine.memory.address, layout.USER_LIMIT, self._fill)
        if self._fill_state is None:
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
            number = value.value
            result = self._dispatch(thread, number, self._read_args)
            if result is not None:
                value.value = result & 0xFFFF_FFFF_FFFF_FFFF
                write(uch, RAX, ref)
            if thread.user_work:  # a signal to deliver: in place, without a stop
                self._user_work(thread)
            if thread.stop_requested:
                self._stop_requested(thread, number)
            elif self.needs_tb_flush:
                uclib.uc_emu_stop(uch)
        except BaseException as exc:  # noqa: BLE001 - re-raised after emu_start returns
            self.hook_error = exc
            uclib.uc_emu_stop(self.uch)
        finally:
            self.in_syscall = False

    def _dispatch_in_c(self, state: SyscallState) -> None:
        """Let the C entry call the handlers itself when the kernel's dispatch is one it does
        (entry_kind): ~60 bytecodes a call fewer, and a traced call's record built there too.
        Anything else goes on through _on_native_syscall."""
        kernel = self.kernel
        kind = entry_kind(kernel.dispatcher)
        if kind is None:
            return
        entry = EntryDispatch(
            mode=ENTRY_TRACED if kind == "traced" else ENTRY_DISPATCH,
            core=self,
            kernel=kernel,
            index=self.index,
            deterministic=self.deterministic,
            blocks=self._block_state,
            settle=self._native_settle,
            failed=self._native_failed,
            stamp=kernel.now,
            pending=kernel.tracer.pending,
            flush=kernel.tracer.flush,
            batch=kernel.tracer.batch,
            files=registered_files(),
        )
        dispatch_in_c(state, entry)

    def _on_native_syscall(self, number: int) -> int | None:
        """The syscall hook when it is C (native.install_syscall_entry): it has read the
        registers and writes what this returns to RAX."""
        self.in_syscall = True
        try:
            thread = self.thread
            result = self._dispatch(thread, number, self._native_args)
            if not (thread.stop_requested or thread.user_work):
                if self.needs_tb_flush:
                    uclib.uc_emu_stop(self.uch)
                return result
            return self._settle(thread, number, result)
        except BaseException as exc:  # noqa: BLE001 - re-raised after emu_start returns
            self.hook_error = exc
            uclib.uc_emu_stop(self.uch)
            return None
        finally:
            self.in_syscall = False

    def _settle(self, thread: Thread, number: int, result: int | None) -> int | None:
        """After the handler: a signal frame or a hand-off changes the registers after the
        result is in; a core that must flush its translations ends the run."""
        if thread.user_work:  # a signal to deliver: in place, without a stop
            if result is not None:
                self.regs.write(RAX, result)
                result = None
            self._user_work(thread)
        if thread.stop_requested:
            self._stop_requested(thread, number, result)
            return None
        if self.needs_tb_flush:
            uclib.uc_emu_stop(self.uch)
        return result

    def _native_settle(self, thread: Thread, number: int, result: int | None) -> int | None:
        """The C dispatch's call back after a call that needs _settle."""
        try:
            return self._settle(thread, number, result)
        except BaseException as exc:  # noqa: BLE001 - re-raised after emu_start returns
            self.hook_error = exc
            uclib.uc_emu_stop(self.uch)
            return None

    def _native_failed(
        self, thread: Thread, number: int, call: Syscall, args: tuple[int, ...], error: BaseException
    ) -> int | None:
        """The C dispatch's call back after a handler that raised ``error``: the dispatcher's
        answer (its trace record too), then the rest of the entry."""
        try:
            dispatcher = self.kernel.dispatcher
            result = dispatcher.failed(thread, error)
            dispatcher.record(thread, call, number, args, result)
            return self._settle(thread, number, result)
        except BaseException as exc:  # noqa: BLE001 - re-raised after emu_start returns
            self.hook_error = exc
            uclib.uc_emu_stop(self.uch)
            return None

    def _user_work(self, thread: Thread) -> None:
        if thread.state is RUNNING and thread.context is self.loaded:
            self.kernel.return_to_user(thread)

    def _stop_requested(self, thread: Thread, number: int, result: int | None = None) -> None:
        """After a syscall that stopped the thread (blocked, yielded, exited, ...): remember in
        what (a signal may interrupt it), then hand the core over or end the run. ``result``:
        what the call returns, if not in RAX yet (a thread handed off keeps it pending)."""
        self.loaded.stopped_in_syscall(number)
        if self.needs_tb_flush or not self._hand_off(thread, result):
            if result is not None:
                self.regs.write(RAX, result)
            uclib.uc_emu_stop(self.uch)

    def _hand_off(self, thread: Thread, result: int | None = None) -> bool:
        """Inside the syscall hook: let the kernel settle ``thread`` and, if it names a thread of
        the same address space, go on with that one in this run (True; ``result`` then becomes
        the stopped thread's pending syscall result). False: stop the run."""
        if not self.deterministic:
            return False
        done = self.run_base + self._block_state.counted - self.segment_base
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
        incoming, outgoing = following.context, self.loaded
        if incoming is not outgoing:
            # The engine adds 2 to RIP (the syscall's length) when this hook returns. The stopped
            # thread is saved with RIP on its syscall (its blob settles the lag if read), and one
            # saved that way here before goes on as it is; any other is moved back by 2.
            lag, incoming.rip_lag = incoming.rip_lag, 0
            self.load(following)
            outgoing.rip_lag = 2
            if result is not None:  # written when it runs again, unless a waker sets another
                outgoing.pending_result = result
            if lag != 2:
                regs = self.regs
                regs.write(RIP, regs.read(RIP) - 2)
        elif result is not None:
            self.regs.write(RAX, result)
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
        """Armed single steps and exact tails: stop before instruction ``_step_budget + 1``."""
        if self._step_seen == 0:
            self._step_from = address
        self._step_seen += 1
        if self._step_seen > self._step_budget:
            uclib.uc_emu_stop(self.uch)

    def _step_or_retry(self, stop: Stop) -> Stop | None:
        """A fast-mode step the timer cut short: done if its instruction retired (the pc moved
        on), else tried again from the start (None)."""
        if self._step_seen > 1 or (self._step_seen == 1 and self.regs.read(RIP) != self._step_from):
            return stop
        self._step_seen = 0
        return None

    def _on_tlb_fill(self, _uch: int, vaddr: int, access: int, entry, _data: int) -> bool:  # noqa: ANN001
        value = self._fill(vaddr, access)
        if value is None:
            return False
        fields = entry.contents
        fields.paddr = value & PAGE_MASK
        fields.perms = value & UC_PROT_ALL
        return True

    def _fill(self, vaddr: int, access: int, walked: int | None = None) -> int | None:
        """A TLB miss: the frame | Unicorn's permissions for the page at ``vaddr``, or None to
        refuse (the run ends with the fault recorded). ``walked``: the page-table entry the C
        fill found for it (0: none), if it walked already; the C fill is then told to walk the
        tables again (FILL_FROM_TABLES) once the kernel made the page present for the access."""
        try:
            page = vaddr & PAGE_MASK
            if page >= layout.USER_LIMIT:
                if self.kernel_mode and page >= layout.KERNEL_BASE:
                    return (page - layout.KERNEL_BASE) | UC_PROT_ALL
                if page >= layout.KERNEL_BASE:
                    reason = "kernel address"
                else:
                    reason = "non-canonical address" if page >> 47 else "not mapped"
                self.fault = self.fault or (vaddr, access, reason, SIGSEGV)
                return None
            if self.aspace is None:  # booting: the first user fetch lands on the parking page
                if not self.kernel_mode:
                    self.fault = (vaddr, access, "no address space", SIGSEGV)
                    return None
                return (layout.IRET_STUB & PAGE_MASK) | UC_PROT_READ | UC_PROT_EXEC
            pte = walk(self.words, self.root, page) if walked is None else walked
            if not pte & PRESENT or (access == UC_MEM_WRITE and not pte & WRITABLE):
                # demand paging, copy on write, a file's page: the kernel resolves it, and
                # shoots down other cores' stale entries but not this one's (being refilled)
                self.machine.filling = self
                try:
                    frame = self.aspace.resolve_fault(page, ACCESS[access])
                finally:
                    self.machine.filling = None
                if frame is None:
                    signal, reason = self.aspace.fault_reason(page, ACCESS[access])
                    self.fault = self.fault or (vaddr, access, reason, signal)
                    return None
                if walked is not None:  # present for the access now (an exec fault: executable)
                    return FILL_FROM_TABLES
                pte = walk(self.words, self.root, page)
            if access == UC_MEM_FETCH and pte & NO_EXECUTE:
                self.fault = self.fault or (vaddr, access, "page not executable", SIGSEGV)
                return None
            return (
                (pte & ADDRESS_MASK)
                | UC_PROT_READ
                | (UC_PROT_WRITE if pte & WRITABLE else 0)
                | (0 if pte & NO_EXECUTE else UC_PROT_EXEC)
            )
        except OutOfMemory:
            self.fault = (vaddr, access, "out of memory", SIGKILL)
            return None
        except BaseException as exc:  # noqa: BLE001 - a kernel bug; re-raised by run()
            self.hook_error = exc
            self.fault = (vaddr, access, "kernel error", SIGSEGV)
            return None

    # --- running a thread -----------------------------------------------------------------

    def _flush_tlb(self) -> None:
        self.tlb_stale = False
        self.uc.ctl(UC_CTL_TLB_FLUSH, UC_CTL_IO_WRITE)

    def load(self, thread: Thread) -> None:
        context = thread.context
        if self.loaded is not context:
            if context.live is not None and context.live is not self:
                context.live.unload()
            self.unload()
            if context.rip_lag:
                context.settle_rip()
            self._context_restore(self.uch, context.blob_ptr)
            context.live = self
            self.loaded = context
            if context.pending_result is not None:
                self.regs.write(RAX, context.pending_result)
                context.pending_result = None
        aspace = thread.process.aspace
        if self.aspace is not aspace:
            self.aspace = aspace
            self.root = aspace.page_table.root
            if self._fill_state is not None:
                self._fill_state.root = self.root
            self.blocks.switch_space(self.machine.space_number(aspace))
            self._flush_tlb()
        elif self.tlb_stale:
            self._flush_tlb()
        self.thread = thread

    def unload(self) -> None:
        """Save and detach the loaded context (its thread moves to another core)."""
        if self.loaded is not None:
            self._context_save(self.uch, self.loaded.blob_ptr)
            self.loaded.live = None
            self.loaded = None

    def run(self, thread: Thread, budget: int, limit: int | None = None) -> Stop:
        """Run ``thread`` until a trap or the first block boundary at or after ``budget``
        instructions, and never past ``limit`` (deterministic mode; fast mode has no counts)."""
        self.machine.release_quarantine()
        self.load(thread)
        context = thread.context
        stepping = self.machine.stepping is thread
        if stepping:
            self.machine.stepping = None
            budget = limit = 1
            if not self.deterministic:
                self._arm_step(1)
        if context.at_breakpoint is not None:  # resuming from a breakpoint: run its instruction
            if context.at_breakpoint == self.regs.read(RIP):
                self.skip_breakpoint = context.at_breakpoint
            context.at_breakpoint = None
        executed = 0
        stop: Stop | None = None
        self.segment_base = 0
        self.switched = False
        self.in_run = True
        self._exact_left = None
        try:
            while stop is None:
                stop, executed = self._run_once(self.thread, budget, limit, executed)
                if stepping and not self.deterministic and stop is not None and stop.kind == "slice":
                    stop = self._step_or_retry(stop)
        finally:
            self.in_run = False
            self.skip_breakpoint = None
            self._disarm_step()
            entry = self._syscall_entry
            if entry is not None and entry.calls:  # the calls the C entry dispatched itself
                self.kernel.dispatcher.count += entry.calls
                entry.calls = 0
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

    def _arm_step(self, instructions: int) -> None:
        """Stop the next run before its ``instructions + 1``-th instruction (a code hook on every
        instruction: translations are dropped now and when it goes)."""
        self._step_seen = 0
        self._step_budget = instructions
        if self._step_hook is None:
            self._step_hook = lowlevel.add_code_hook(self.uc, self._callbacks[4])
            self.uc.ctl_flush_tb()
            self.blocks.forget()

    def _disarm_step(self) -> None:
        if self._step_hook is not None:
            lowlevel.delete_hook(self.uc, self._step_hook)
            self._step_hook = None
            self.needs_tb_flush = True

    def _run_once(
        self, thread: Thread, budget: int, limit: int | None, executed: int
    ) -> tuple[Stop | None, int]:
        """One emu_start; (why the run ends or None to go on, instructions retired so far)."""
        if self.needs_tb_flush:
            self.uc.ctl_flush_tb()
            self.blocks.forget()
            self.needs_tb_flush = False
        self.fault = self.pending_intr = self.hook_error = self.breakpoint_hit = None
        self.run_base = executed
        if not self.deterministic:
            self.blocks.start_run()
        elif self._exact_left is not None:  # the last few instructions before the limit
            self._arm_step(self._exact_left)
            self._exact_left = None
            self.blocks.start_run()
        else:
            self.blocks.start_run(budget - executed, NEVER if limit is None else limit - executed)
        error = None
        self.running = True
        try:
            self.uc.emu_start(self.regs.read(RIP), layout.UNTIL)
        except UcError as exc:
            error = exc.errno
        finally:
            self.running = False
        if self.hook_error is not None:
            raise self.hook_error
        if self.switched:  # the kernel took the core back inside the run (see _hand_off)
            return Stop("switch", 0), executed + self._block_state.counted
        done, stop = self._classify(self.thread, error)
        executed += done
        if not self.deterministic:
            return stop, executed
        if (
            stop is not None
            and stop.kind == "slice"
            and executed < budget
            and limit is not None
            and executed < limit
            and self._block_state.stopped == STOPPED_BUDGET
        ):  # stopped before a block that would pass the limit: run up to it one by one
            self._exact_left = limit - executed
            return None, executed
        if stop is None and (executed >= budget or (limit is not None and executed >= limit)):
            stop = Stop("slice", 0)
        return stop, executed

    def _classify(self, thread: Thread, error: int | None) -> tuple[int, Stop | None]:
        """(instructions retired, why the run ended or None to carry on)."""
        pc = self.regs.read(RIP)
        retired = self.blocks.retired
        # an exception or fault first: a stop request set while the thread was off its core (a
        # kernel message replaced its context) must not hide what ended this run
        trapped = error is not None or self.pending_intr is not None or self.breakpoint_hit is not None
        if thread.stop_requested and not trapped:  # the syscall ended its block and the run
            return self._block_state.counted, Stop("syscall", 0)
        if self.breakpoint_hit is not None:  # stopped before the instruction
            return retired(pc), Stop("breakpoint", 0)
        if error == UC_ERR_EXCEPTION and self.fault is not None:
            page, access, reason, signal = self.fault
            exact = self._fault_address()  # the hook was told the page only
            address = exact if exact is not None and exact & PAGE_MASK == page & PAGE_MASK else page
            what = reason if signal == SIGKILL else f"page fault, {reason}"
            fault = Fault(signal, what, pc, address, ACCESS[access], code=PAGE_FAULT_CODES.get(reason, ""))
            return retired(pc), Stop("fault", 0, fault)
        if error == UC_ERR_INSN_INVALID:
            return retired(pc), Stop("fault", 0, Fault(4, "invalid opcode", pc, code="ILL_ILLOPN"))
        if error is not None:
            return retired(pc), Stop("fault", 0, Fault(11, f"CPU error {error}", pc))
        if self.pending_intr is not None:
            return self._exception(thread, self.pending_intr, pc)
        if pc == layout.UNTIL:
            return retired(pc), Stop("fault", 0, Fault(11, "page fault, not mapped", pc, pc, "exec"))
        if self.needs_tb_flush:
            return retired(pc), None
        # the block hook ended the run between blocks (budget, preemption) or a step stopped it
        return retired(pc), Stop("slice", 0)

    def _exception(self, thread: Thread, number: int, pc: int) -> tuple[int, Stop | None]:
        lowlevel.clear_pending_exception(self.uc, self.scratch)
        before = self.blocks.retired(pc)  # traps (int n, int3) leave pc past their instruction
        if number == 13:
            code = self._peek(thread.process.aspace, pc, 3)
            if code.startswith(RDTSC) or code == RDTSCP:
                self._emulate_rdtsc(pc, len(RDTSC) if code.startswith(RDTSC) else len(RDTSCP))
                return before + 1, None
        if number >= 32:
            return before, Stop("fault", 0, Fault(11, f"software interrupt {number:#x}", pc - 2))
        if number == 3 and self._peek(thread.process.aspace, pc - 1, 1) == b"\xcc":
            return before, Stop("fault", 0, Fault(5, "breakpoint (int3)", pc - 1, breakpoint=True))
        signal, what, code = EXCEPTIONS.get(number, (11, f"CPU exception {number}", ""))
        return before, Stop("fault", 0, Fault(signal, what, pc, code=code))

    def _emulate_rdtsc(self, pc: int, length: int) -> None:
        """Time-stamp counter = virtual time in ticks of ``[machine] ips`` per second."""
        ticks = self.kernel.now(self.index) * self.kernel.ips // 1_000_000_000
        self.regs.write(RAX, ticks & 0xFFFF_FFFF)
        self.regs.write(RDX, ticks >> 32)
        if length == len(RDTSCP):
            self.regs.write(x86.UC_X86_REG_RCX, self.index)
        self.regs.write(RIP, pc + length)

    def _read_code(self, va: int, length: int) -> bytes:
        """Bytes at ``va`` in the loaded address space (across pages; short where unmapped)."""
        out = b""
        while length > 0:
            piece = self._peek(self.aspace, va, length)
            if not piece:
                break
            out += piece
            va += len(piece)
            length -= len(piece)
        return out

    def _peek(self, aspace: AddressSpace, va: int, length: int) -> bytes:
        """Up to ``length`` bytes at ``va``, as far as they are mapped (an instruction may end on
        the next page: rdtsc at a page's last byte)."""
        data = b""
        while length > 0 and aspace is not None:
            entry = aspace.page_table.lookup(va)
            if entry is None:
                break
            offset = va & (PAGE_SIZE - 1)
            chunk = self.machine.memory.read(entry[0] + offset, min(length, PAGE_SIZE - offset))
            data, va, length = data + chunk, va + len(chunk), length - len(chunk)
        return data

    def live_instructions(self) -> int:
        """Instructions retired so far in the run in progress (0 between runs)."""
        return self.run_base + self._block_state.counted - self.segment_base if self.in_run else 0

    def charge(self, instructions: int) -> None:
        """Instructions run elsewhere count as this run's (see Machine.charge): added to the
        block count, so they come off what is left of the run's budget too (a run they take
        past it ends at the next block boundary: after the syscall that charged them)."""
        if self.deterministic and self.in_run:
            self._block_state.counted += instructions

    def drop_translations(self, ranges: list[tuple[int, int]]) -> None:
        """Forget the code translated from the physical ranges (frames about to be reused).
        Unicorn finds translations by the physical address its TLB gives for a virtual one,
        so each range is named through the boot-time direct map of physical memory, which
        only kernel mode reaches; the TLB entries that made are flushed at once."""
        self.kernel_mode = True
        try:
            for start, end in ranges:
                self.uc.ctl_remove_cache(layout.KERNEL_BASE + start, layout.KERNEL_BASE + end)
        finally:
            self.kernel_mode = False
            self._flush_tlb()
        self.blocks.forget()  # the counts it cached for those blocks are stale too

    def flush_tlb_if(self, aspace: AddressSpace) -> None:
        """``aspace`` changed: forget what the TLB holds of it. A core that is not running
        (cores take turns on the kernel's thread) flushes when it next loads a thread, so the
        unmaps of one turn of the others cost it one flush, not one each."""
        if self.aspace is aspace:
            self.blocks.switch_space(self.machine.space_number(aspace))
            if self.in_run:
                self._flush_tlb()
            else:
                self.tlb_stale = True
