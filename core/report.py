"""Human-readable reports: a process killed by a fault, a kernel panic."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.machine import Fault
    from kernkit.core.process import Thread

SIGNAL_NAMES = {
    4: "SIGILL",
    5: "SIGTRAP",
    6: "SIGABRT",
    7: "SIGBUS",
    8: "SIGFPE",
    9: "SIGKILL",
    11: "SIGSEGV",
    15: "SIGTERM",
}


def fault_report(kernel: Kernel, thread: Thread, fault: Fault) -> str:
    """Three lines: who died of what, the faulting instruction, and the registers."""
    process = thread.process
    signal = SIGNAL_NAMES.get(fault.signal, f"signal {fault.signal}")
    where = ""
    if fault.address is not None:
        where = f" at {fault.address:#x}" + (f" ({fault.access})" if fault.access else "")
    instruction = kernel.machine.disassemble(process.aspace, fault.pc) if process.aspace else "?"
    symbol = process.image.symbolize(fault.pc) if process.image is not None else None
    location = f"{fault.pc:#x} <{symbol}>" if symbol else f"{fault.pc:#x}"
    regs = thread.context.registers()
    shown = " ".join(f"{name}={value:#x}" for name, value in regs.items())
    return (
        f"pid {process.pid} ({process.name}) killed by {signal}: {fault.what}{where}\n"
        f"  pc {location}: {instruction}\n"
        f"  {shown}"
    )


def process_list(kernel: Kernel) -> str:
    """Akaros monitor style ``ps``: PID, name, state, parent."""
    lines = [f"{'PID':>5}  {'Name':<20} {'State':<12} Parent"]
    for process in kernel.processes.values():
        parent = process.parent.pid if process.parent else 0
        lines.append(f"{process.pid:>5}  {process.name:<20} {process.state.value:<12} {parent}")
    return "\n".join(lines)
