"""Guest pcores: per-process tables, per-core loading, and finalizing a VM context.

As in Akaros, a guest pcore (GPC) is *loaded* on a core while its VM context is that core's
context, and stays loaded until the context is *finalized*: when it leaves the core as a user
context again (an exit reflected to the VMM, a notification, a preemption, the VMM's death).
Finalizing looks the GPC up in the core's ``owning_proc``; ``[vmm] finalize_to = "cur_proc"``
reproduces the bug Akaros fixed ("Finalize to owning_proc, not cur_proc") for regression tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from kernkit.core.errors import KernelPanic
from kernkit.core.state import Slot

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread


@attrs.define(eq=False)
class GuestPcore:
    """One guest pcore of a VMM process."""

    gpcoreid: int
    process: Process
    cpu: Any  # the architecture's guest CPU (arch/x86_64/guest.py: GuestCpu)
    mem_base: int
    mem_size: int
    #: The VMM thread running this guest pcore now (inside vmm_run), if any.
    thread: Thread | None = None
    #: The core it is loaded on (Akaros: gpc->cpu), or None.
    core: int | None = None
    #: Halted in the kernel (HLT not reflected) until poked or notified.
    halted: bool = False
    #: Poked while not halted: its next HLT returns at once.
    poked: bool = False
    #: The VMM's address of its posted-interrupt descriptor (0: none).
    posted_irq_desc: int = 0
    #: Requested vectors taken from the descriptor, not yet delivered (a virtual IRR).
    irr: int = 0
    #: Poked: look at the descriptor before the guest runs again.
    notified: bool = False
    #: Interrupts delivered into the guest.
    injected: int = 0
    #: The vm_trapframe the running vmm_run call reports into.
    tf: int = 0
    #: Exits of this guest pcore reflected to the VMM (for ``[vmm] max_exits``).
    exits: int = 0
    #: Stopped for good (it made more than ``[vmm] max_exits`` exits): vmm_run says so at once.
    stopped: bool = False
    #: ``[vmm] max_exits`` (0: no limit).
    max_exits: int = 0
    #: Host frame of each guest-physical page, filled as pages are first used.
    frames: dict[int, int] = attrs.field(factory=dict)


@attrs.define(eq=False)
class VmmProcess:
    """A process's VMM state: its guest pcores, which exits it wants, exit counts."""

    gpcs: list[GuestPcore] = attrs.field(factory=list)
    exits_wanted: int = 1
    #: (reason name, "kernel" | "vmm") -> count.
    exits: dict[tuple[str, str], int] = attrs.field(factory=dict)
    #: The address space the guest pcores' memory lives in.
    aspace: Any = None
    #: The kernel's ``[vmm]`` options (looked up once: an exit reads them).
    options: Any = None

    def count(self, name: str, where: str) -> None:
        key = (name, where)
        self.exits[key] = self.exits.get(key, 0) + 1


#: A VMM process's guest pcores; per core, the guest pcore loaded there.
VMM: Slot[VmmProcess] = Slot("vmm.process")
LOADED: Slot[list] = Slot("vmm.loaded")


def vmm_of(process: Process | None) -> VmmProcess | None:
    return VMM.get(process) if process is not None else None


def lookup_gpc(process: Process | None, gpcoreid: int) -> GuestPcore | None:
    """The guest pcore ``gpcoreid`` of ``process``; None past its number of guest pcores (or
    for a process that has none), as Akaros's lookup."""
    vmm = vmm_of(process)
    if vmm is None or not 0 <= gpcoreid < len(vmm.gpcs):
        return None
    return vmm.gpcs[gpcoreid]


def loaded(kernel: Kernel) -> list[int | None]:
    """Per core, the id of the guest pcore loaded there (Akaros: pcpui->guest_pcoreid)."""
    return LOADED.of(kernel, lambda: [None] * len(kernel.current))


def load(kernel: Kernel, gpc: GuestPcore, core: int) -> None:
    per_core = loaded(kernel)
    if gpc.core == core and per_core[core] == gpc.gpcoreid:
        return
    if gpc.core is not None:  # its thread moved: the old core lets go of it
        per_core[gpc.core] = None
    gpc.core = core
    per_core[core] = gpc.gpcoreid
    if kernel.tracing:
        kernel.trace_event("gpc_load", gpc.process, pcore=core, gpcoreid=gpc.gpcoreid, core=core)


def unload(kernel: Kernel, gpc: GuestPcore) -> None:
    per_core = loaded(kernel)
    if gpc.core is not None and per_core[gpc.core] == gpc.gpcoreid:
        per_core[gpc.core] = None
    if kernel.tracing:
        kernel.trace_event("gpc_unload", gpc.process, pcore=gpc.core, gpcoreid=gpc.gpcoreid)
    gpc.core = None


def finalize_on_core(kernel: Kernel, core: int) -> GuestPcore | None:
    """Unload the guest pcore loaded on ``core``, found in the core's owning_proc (or, with the
    regression switch, its cur_proc). Panics when that process has no such guest pcore."""
    gpcoreid = loaded(kernel)[core]
    if gpcoreid is None:
        return None
    which = kernel.config["vmm"].finalize_to
    process = kernel.owning_proc(core) if which == "owning_proc" else kernel.cur_proc[core]
    gpc = lookup_gpc(process, gpcoreid)
    if gpc is None:
        who = f"pid {process.pid} ({process.name})" if process is not None else "no process"
        raise KernelPanic(
            f"couldn't find a gpc: finalizing guest pcore {gpcoreid} on core {core}, "
            f"{which} is {who}; assertion failed: gpc"
        )
    unload(kernel, gpc)
    return gpc
