"""The contract between the core and an architecture: what the core calls in a machine, and what
a machine calls in the core. An arch plugin implements the protocols here (and
:class:`~kernkit.core.vm.PageTable`) and registers an :class:`~kernkit.core.records.Architecture`;
nothing else of the core needs to change for a second architecture.

The core calls the architecture:

- ``Architecture.create_machine(kernel)`` once, when the kernel is built (cores and physical
  memory from ``kernel.config["machine"]``);
- :class:`Machine`: ``run(core, thread, budget, limit) -> Stop`` for every run of a thread on a
  core (``limit``: the instruction budget that must hold exactly, when there is one),
  ``live_instructions(core)`` for virtual time inside a run, ``charge`` for work a syscall
  handler ran elsewhere for the thread, ``new_page_table``/``new_context`` when processes and
  threads are made, ``address_space_changed``/``code_changed`` when memory changes under the
  machine's caches, ``address_space_released`` when an address space is gone,
  ``disassemble``/``backtrace`` for reports, ``set_breakpoints``/
  ``single_step`` for debuggers, ``close`` at shutdown;
- :class:`CpuContext` for a thread's registers (syscall results, restarts, fork, TLS) and what
  a signal frame needs (every user register and the FPU state, the system call a blocked
  thread was stopped in and how it resumes); ``register_image`` lays registers out in a
  record (a signal frame) and moves them in one go each way.

A machine calls the core, only from inside :meth:`Machine.run`, on the kernel's thread:

- ``kernel.dispatcher.dispatch(thread, number, read_args) -> int | None`` when the running
  thread makes a system call: ``read_args(n)`` returns the first ``n`` argument registers; the
  result goes into the return register, and None means the handler has arranged the thread's
  state itself (it blocked, exited, or exec'd). When the handler set ``thread.stop_requested``,
  the run must end after the call (or be handed over, below);
- ``kernel.return_to_user(thread)`` after a system call handler returned, when
  ``thread.user_work`` is set and the thread still runs the same context (a signal to deliver):
  before the thread executes another instruction, from inside the call (its registers read as
  after it); if that leaves ``thread.stop_requested`` set, the run ends as after any stop. One
  attribute test per system call when nothing is pending;
- ``kernel.handoff(core, thread, instructions) -> Handoff`` (deterministic machines, optional):
  after a syscall stopped ``thread``, ask whether to go on with another thread inside the same
  run; see :class:`Handoff`;
- ``aspace.resolve_fault(va, access) -> frame | None`` when the page tables do not let the
  running thread touch ``va`` so (absent, or read-only for a write): the core maps a page on
  demand, copies one shared copy-on-write, or brings in a file's page; on None,
  ``aspace.fault_reason(va, access) -> (signal, what)`` says how the access fails (SIGSEGV, or
  SIGBUS past the end of a mapped file). The core may shoot down TLBs from inside
  (``address_space_changed``);
- ``memory.quarantine``: frames that held code, freed; the machine drops the code translated
  from them before the next run of any core, then calls ``memory.release_quarantine()``;
- ``kernel.now(core)`` and ``kernel.ips`` for the virtual time a time-stamp counter reads;
- faults are not calls: a run that faults returns ``Stop("fault", fault=Fault(...))`` and the
  process's personality decides what happens.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from kernkit.core.physmem import PhysicalMemory
    from kernkit.core.process import Thread
    from kernkit.core.vm import AddressSpace, PageTable


@attrs.frozen
class Fault:
    """A guest exception the kernel turns into a signal (and a report)."""

    signal: int  # POSIX signal number: 11 SIGSEGV, 4 SIGILL, 8 SIGFPE, 5 SIGTRAP, 7 SIGBUS
    what: str  # "page fault", "general protection fault", "invalid opcode", ...
    pc: int
    #: The exact address the faulting access touched (not its page), for memory faults.
    address: int | None = None
    access: str | None = None  # "read", "write", "exec"
    #: A breakpoint instruction the program executed (x86 ``int3``): ``pc`` is its address,
    #: the thread's own pc already past it.
    breakpoint: bool = False
    #: The cause as POSIX names it in ``si_code`` (``SEGV_MAPERR``, ``SEGV_ACCERR``,
    #: ``BUS_ADRERR``, ``BUS_ADRALN``, ``FPE_INTDIV``, ``ILL_ILLOPN``, ...); empty when the
    #: fault has no finer cause than its signal (x86's general protection fault).
    code: str = ""


class HandoffKind(enum.Enum):
    CONTINUE = "continue"
    SETTLED = "settled"
    NOT_TAKEN = "not taken"


@attrs.frozen
class Handoff:
    """The kernel's answer to ``kernel.handoff(core, thread, instructions)``:

    - ``CONTINUE``: the stopped thread is accounted for; go on with ``thread`` (another thread
      the scheduler picked for this core) inside the same run, as if it had been running;
    - ``SETTLED``: the stopped thread is accounted for, but the run must end now; the machine
      returns ``Stop("switch", 0)`` (nothing is left to account);
    - ``NOT_TAKEN``: the kernel did nothing; the machine stops the run as it would have without
      asking, and the kernel settles the thread from the Stop it returns.

    A machine that cannot run ``thread`` in place (another address space, a context that runs
    itself) stops with ``Stop("switch", 0)`` instead after a CONTINUE: the thread is on the core
    already and the kernel starts it in its next run.
    """

    kind: HandoffKind
    thread: Any = None


#: The answers without a thread.
SETTLED = Handoff(HandoffKind.SETTLED)
NOT_TAKEN = Handoff(HandoffKind.NOT_TAKEN)


@attrs.frozen
class Stop:
    """Why :meth:`Machine.run` returned: ``slice`` (budget used), ``syscall`` (a handler asked
    to stop), ``fault`` (see ``fault``), ``yield`` (the thread gave up the core), ``switch``
    (the machine handed the core over with :meth:`Kernel.handoff` and the kernel declined to go
    on inside the run: nothing is left to account), and, only while a debugger set them up:
    ``breakpoint`` (the pc is at a breakpoint, whose instruction has not run) and ``step`` (an
    armed single step retired its instruction). A debugger may hand the kernel ``debug``
    instead of a stop it dealt with: the thread carries on.

    ``instructions`` counts the last thread's part of the run only; ``thread`` is that thread
    when it is not the one the run started with (the machine switched threads with
    :meth:`Kernel.handoff`)."""

    kind: str
    instructions: int
    fault: Fault | None = None
    thread: Any = None


class CpuContext(Protocol):
    """A thread's saved registers, in the architecture's own format."""

    pc: int
    sp: int

    def set_tls_base(self, value: int) -> None: ...
    def tls_base(self) -> int: ...
    def registers(self) -> dict[str, int]: ...

    def get_register(self, name: str) -> int:
        """A register by the name the architecture's :class:`~kernkit.core.records.DebugTarget`
        lists (for debuggers); vector and x87 registers are whole integers."""

    def set_register(self, name: str, value: int) -> None:
        """Change a register named as in :meth:`get_register`; registers a user program cannot
        change itself (segment selectors) are left alone."""

    def set_syscall_result(self, value: int) -> None:
        """What the system call in progress (or the one the thread is blocked in) returns."""

    def restart_syscall(self) -> None:
        """From inside a system call: run it again when the thread next runs."""

    def user_registers(self) -> dict[str, int]:
        """Every user register by the architecture's names, as the thread would resume (past a
        syscall in progress)."""
        ...

    def set_user_registers(self, values: dict[str, int]) -> None:
        """Set registers by name, as the thread is to resume: on a fresh context (from
        :meth:`Machine.new_context`), a stopped one, or from inside a system call (the thread
        then resumes at the new program counter instead of after the call)."""
        ...

    # --- what a signal frame needs (a personality saves and restores the user state) -----------

    def fpu_state(self) -> bytes:
        """The floating-point and vector state as the architecture saves it for user programs
        (x86-64: the 512-byte FXSAVE image)."""
        ...

    def set_fpu_state(self, state: bytes, current: bytes | None = None) -> None:
        """Load state in the format :meth:`fpu_state` returns; ValueError if it is not a state
        the CPU would accept (x86-64: reserved MXCSR bits set). ``current``, if given, is what
        :meth:`fpu_state` returned just before (a hint: what is unchanged need not be written)."""
        ...

    def reset_fpu_state(self, current: bytes | None = None) -> None:
        """The floating-point state a program starts with (x86-64: after FNINIT, MXCSR
        0x1f80); ``current`` as for :meth:`set_fpu_state`."""
        ...

    def syscall_number(self) -> int:
        """The number of the system call that last stopped the thread (the one it is blocked in
        or was woken from by :meth:`kernkit.core.kernel.Kernel.interrupt`)."""
        ...

    def resume_syscall(self, result: int | None) -> None:
        """Settle the system call the thread was stopped in (see :meth:`syscall_number`): with a
        result, the call returns it and the thread goes on after it; with None, the call runs
        again from its start, with its number and arguments, when the thread next runs."""
        ...

    def fork(self) -> CpuContext:
        """From inside a system call: a copy that returns 0 from it (for fork and clone)."""


class RegisterImage(Protocol):
    """User registers at fixed places of a byte image (a saved-register record, such as a
    signal frame), moved between the image and a thread's context in one go each way; made by
    :meth:`Machine.register_image`."""

    #: The image's bytes (writable); between the registers, what the caller put there stays.
    buffer: memoryview

    def read(self, context: CpuContext) -> memoryview:
        """Read the registers of ``context`` as its thread is to resume (past a system call in
        progress) into :attr:`buffer`, and return it."""

    def write(self, context: CpuContext) -> None:
        """Set the registers of ``context`` from :attr:`buffer` (as the thread is to resume;
        from inside a system call too); ValueError for an FPU state the CPU would refuse."""


class Machine(Protocol):
    """An emulated machine: cores that run threads, and physical memory."""

    cores: Sequence[object]
    memory: PhysicalMemory
    deterministic: bool
    #: Lowest address above the user half: user mappings stay below it.
    user_limit: int
    #: The processor's capabilities as the architecture's Linux reports them in AT_HWCAP (x86-64:
    #: CPUID leaf 1's EDX); optional, 0 when a machine has none.
    hwcap: int

    def new_page_table(self) -> PageTable: ...
    def new_context(self, entry: int, stack: int) -> CpuContext: ...
    def register_image(
        self, fields: Sequence[tuple[str, int]], size: int, template: bytes = b""
    ) -> RegisterImage:
        """An image of ``size`` bytes, starting as ``template``, with each field at its offset:
        a user register as :meth:`CpuContext.user_registers` names it (8 bytes), or ``"fpu"``
        (the :meth:`CpuContext.fpu_state` format; x86-64: FXSAVE, 512 bytes), whose registers
        start as a program's (what :meth:`CpuContext.reset_fpu_state` loads)."""

    def run(self, core: int, thread: Thread, budget: int, limit: int | None = None) -> Stop:
        """Run ``thread`` on ``core`` for about ``budget`` instructions (a budget the core shares
        with whatever runs after it in this run): a deterministic machine may stop at the first
        point at or after it where it can stop reproducibly (x86_64: the end of a translated
        block), but never past ``limit`` when one is given. When a syscall handler stops the
        thread, a deterministic machine may call ``kernel.handoff(core, thread, instructions)`` from inside
        the run and go on as the :class:`Handoff` it gets says, saving a return to the kernel loop.

        After a system call handler returns, the machine calls ``kernel.return_to_user(thread)``
        when ``thread.user_work`` is set and the thread still runs the same context (a signal to
        deliver), before the thread executes another instruction, and stops the run if that
        leaves ``thread.stop_requested`` set.

        A thread's context may be of another kind than the machine's own (a virtual machine's
        guest pcore, docs/vmm.md): a context with ``run_on_core(core, budget, limit) -> Stop``
        and ``live_instructions() -> int`` runs itself, and the machine only delegates to it."""
        ...

    def live_instructions(self, core: int) -> int: ...
    def charge(self, core: int, instructions: int) -> None:
        """Count ``instructions`` retired elsewhere (another CPU, run by a syscall handler on
        behalf of the thread running on ``core``) as part of the run in progress there: from now
        on they are in :meth:`live_instructions` and in the run's :class:`Stop`, and they come off
        the run's budget (a run whose budget they use up stops after the syscall). A machine that
        counts no instructions (fast mode) ignores them."""

    def address_space_changed(self, aspace: AddressSpace, code: bool = True) -> None:
        """Pages of ``aspace`` were unmapped or lost rights: forget cached translations. With
        ``code`` False none of those pages was executable: what the machine learnt about the
        code at each virtual address (a block's instruction count) still holds."""

    def address_space_released(self, aspace: AddressSpace) -> None:
        """``aspace`` is gone: no core may use translations cached from it again (a core that
        had it loaded must not keep its TLB for whatever it loads next)."""

    def code_changed(self, aspace: AddressSpace) -> None:
        """The kernel wrote into a frame that may hold translated code."""

    def disassemble(self, aspace: AddressSpace, pc: int) -> str: ...

    def backtrace(self, aspace: AddressSpace, context: CpuContext, depth: int = 32) -> list[int]:
        """The program counter, then return addresses, innermost first (best effort)."""

    # --- debugging (what a debugger such as the GDB stub needs) -----------------------------

    def set_breakpoints(self, addresses: Collection[int]) -> None:
        """From now on, a thread of any process about to execute an instruction at one of these
        virtual addresses stops first: :meth:`run` returns ``Stop("breakpoint")`` with the pc at
        the address. A thread resumed after such a stop executes that instruction (it does not
        stop at the same breakpoint again until it comes back to it). An empty collection
        removes every breakpoint."""

    def single_step(self, thread: Thread | None) -> None:
        """Arm a single step: the next :meth:`run` of ``thread`` retires at most one instruction
        and returns ``Stop("step")`` (or whatever else ended it first: a syscall that blocks, a
        fault). The arming is used up by that run; None disarms."""

    def close(self) -> None: ...
