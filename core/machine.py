"""What the core expects of an architecture's machine. An arch plugin implements these."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from kernkit.core.physmem import PhysicalMemory
    from kernkit.core.process import Thread
    from kernkit.core.vm import AddressSpace, PageTable


@attrs.frozen
class Fault:
    """A guest exception the kernel turns into a signal (and a report)."""

    signal: int  # POSIX signal number: 11 SIGSEGV, 4 SIGILL, 8 SIGFPE, 5 SIGTRAP
    what: str  # "page fault", "general protection fault", "invalid opcode", ...
    pc: int
    address: int | None = None
    access: str | None = None  # "read", "write", "exec"


@attrs.frozen
class Stop:
    """Why :meth:`Machine.run` returned: ``slice`` (budget used), ``syscall`` (a handler asked
    to stop), ``fault`` (see ``fault``), ``switch`` (the machine handed the core over with
    :meth:`Kernel.handoff` and the kernel declined to go on inside the run: nothing is left to
    account).

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

    def set_syscall_result(self, value: int) -> None:
        """What the system call in progress (or the one the thread is blocked in) returns."""

    def restart_syscall(self) -> None:
        """From inside a system call: run it again when the thread next runs."""

    def user_registers(self) -> dict[str, int]:
        """Every user register by the architecture's names, as the thread would resume (past a
        syscall in progress)."""
        ...

    def set_user_registers(self, values: dict[str, int]) -> None:
        """Set registers by name on a context that is not in a syscall (e.g. a fresh one from
        :meth:`Machine.new_context`)."""
        ...

    def fork(self) -> CpuContext:
        """From inside a system call: a copy that returns 0 from it (for fork and clone)."""


class Machine(Protocol):
    """An emulated machine: cores that run threads, and physical memory."""

    cores: Sequence[object]
    memory: PhysicalMemory
    deterministic: bool
    #: Lowest address above the user half: user mappings stay below it.
    user_limit: int

    def new_page_table(self) -> PageTable: ...
    def new_context(self, entry: int, stack: int) -> CpuContext: ...
    def run(self, core: int, thread: Thread, budget: int) -> Stop:
        """Run ``thread`` on ``core`` for at most ``budget`` instructions (a budget the core shares
        with whatever runs after it in this run). When a syscall handler stops the thread, a
        deterministic machine may call ``kernel.handoff(core, thread, instructions)`` from inside
        the run and go on with the thread it returns, saving a return to the kernel loop."""
        ...
    def live_instructions(self, core: int) -> int: ...
    def address_space_changed(self, aspace: AddressSpace) -> None:
        """Pages of ``aspace`` were unmapped or lost rights: forget cached translations."""

    def code_changed(self, aspace: AddressSpace) -> None:
        """The kernel wrote into a frame that may hold translated code."""

    def disassemble(self, aspace: AddressSpace, pc: int) -> str: ...

    def backtrace(self, aspace: AddressSpace, context: CpuContext, depth: int = 32) -> list[int]:
        """The program counter, then return addresses, innermost first (best effort)."""

    def close(self) -> None: ...
