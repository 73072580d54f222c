"""``vmm``: guest pcores for a user-space VMM on the Akaros personality (docs/vmm.md).

A process becomes a VMM by adding guest pcores (``vmm_add_gpcs``), chooses the optional exits
it wants (``vmm_ctl``) and runs a guest pcore with ``vmm_run``: each guest pcore is a CPU of
its own over a range of the VMM's memory; CPUID is answered in the kernel, port I/O, HLT,
VMCALL, EPT violations (MMIO) and faults come back to the VMM in a vm_trapframe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import non_negative, option
from kernkit.core.records import ConfigSection, PluginDeclaration, ProcFile, Syscall, SyscallExtension
from kernkit.plugins.vmm import layout
from kernkit.plugins.vmm import syscalls as s
from kernkit.plugins.vmm.context import interrupt_guest
from kernkit.plugins.vmm.gpc import unload, vmm_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread


@attrs.frozen
class VmmOptions:
    finalize_to: str = option(
        "owning_proc",
        "whose guest pcore finalizing a VM context unloads: owning_proc (correct) or cur_proc "
        "(a regression switch that brings back the bug Akaros fixed, for tests only)",
        choices=("owning_proc", "cur_proc"),
    )
    max_exits: int = option(
        0,
        "exits to the VMM a guest pcore may make in all; the next one stops it for good: "
        "vmm_run returns EXIT_LIMIT (0x10002) and the kernel says so once (0: no limit)",
        validator=non_negative,
    )
    run_inline: bool = option(
        True,
        "run a guest pcore inside vmm_run itself while nothing else needs the core (one trip "
        "through the run loop per exit, not two; the same exits, output and virtual time); "
        "false sends every guest run through the run loop, for comparing the two",
    )


@hookimpl
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(
        requires=("akaros_abi", "x86_64"), description="guest pcores for user-space VMMs"
    )


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("vmm", VmmOptions, "guest pcores and VM exits (docs/vmm.md)")]


@hookimpl
def kernkit_register_syscall_extensions() -> list[SyscallExtension]:
    calls = (
        Syscall(layout.SYS_VMM_ADD_GPCS, "vmm_add_gpcs", s.sys_vmm_add_gpcs, 3),
        Syscall(layout.SYS_VMM_POKE_GUEST, "vmm_poke_guest", s.sys_vmm_poke_guest, 1),
        Syscall(layout.SYS_VMM_CTL, "vmm_ctl", s.sys_vmm_ctl, 2),
        Syscall(layout.SYS_VMM_RUN, "vmm_run", s.sys_vmm_run, 2),
    )
    return [SyscallExtension("vmm", "akaros", calls, "guest pcores for user-space VMMs")]


def read_vmexits(kernel: Kernel, process: Process) -> str:
    """Exits by reason: handled in the kernel, reflected to the VMM."""
    vmm = vmm_of(process)
    if vmm is None:
        return ""
    counts = dict(vmm.exits)
    cpuids = sum(gpc.cpu.cpuid_count for gpc in vmm.gpcs)
    if cpuids:
        counts[("cpuid", "kernel")] = cpuids
    lines = [f"gpcs {len(vmm.gpcs)}", f"{'reason':<20}{'kernel':>10}{'vmm':>10}"]
    for name in sorted({name for name, _ in counts}):
        lines.append(f"{name:<20}{counts.get((name, 'kernel'), 0):>10}{counts.get((name, 'vmm'), 0):>10}")
    return "\n".join(lines) + "\n"


@hookimpl
def kernkit_register_proc_files() -> list[ProcFile]:
    return [ProcFile("vmexits", read_vmexits, description="VM exits by reason (kernel / reflected)")]


@hookimpl(tryfirst=True)  # a guest context becomes a user context before others look at it
def kernkit_finalize_context(kernel: Kernel, thread: Thread, core: int | None) -> None:
    interrupt_guest(kernel, thread, core)


@hookimpl
def kernkit_process_exited(kernel: Kernel, process: Process) -> None:
    vmm = vmm_of(process)
    if vmm is None:
        return
    for gpc in vmm.gpcs:
        if gpc.core is not None:
            unload(kernel, gpc)
        gpc.thread = None
    remove = getattr(kernel.machine, "remove_guests", None)
    if remove is not None and vmm.aspace is not None:
        remove(vmm.aspace)
