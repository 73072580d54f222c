"""What an MCP looks like from outside: /proc/PID/mcp, the monitor's ``vcores`` and the
provisioning map ``prov -s`` asks the kernel to print."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.plugins.akaros_abi import layout
from kernkit.plugins.akaros_abi.state import of
from kernkit.plugins.akaros_abi.vcores import VCORES

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process


def _cores(cores: list[int]) -> str:
    return ",".join(str(c) for c in cores) or "-"


def provisioned_to(kernel: Kernel, process: Process) -> list[int]:
    return [core for core, owner in kernel.scheduler.provisioning().items() if owner is process]


def vcore_fields(kernel: Kernel, process: Process) -> list[tuple[str, str]]:
    """(key, value) pairs: the process's MCP state, its vcore request and grant, where each vcore
    is, the cores provisioned to it."""
    state = of(process)
    if state is None:
        return [("personality", process.personality.name)]
    fields = [
        ("mcp", "yes" if process.mcp else "no"),
        ("state", process.state.value),
        ("max_vcores", str(state.info.u64(layout.PI_MAX_VCORES))),
        ("vcores_wanted", str(VCORES.vcores_wanted(process))),  # as the ksched counts amt_wanted
        ("vcores_granted", str(len(state.online))),
    ]
    for vcoreid in sorted(state.online):
        core = state.pcore.get(vcoreid)
        halted = " halted" if vcoreid in state.halted else ""
        fields.append(("vcore", f"{vcoreid} pcore {core if core is not None else '-'} online{halted}"))
    for vcoreid in sorted(state.preempted):
        fields.append(("vcore", f"{vcoreid} preempted"))
    fields.append(("cores_provisioned", _cores(provisioned_to(kernel, process))))
    return fields


def read_mcp(kernel: Kernel, process: Process) -> str:
    """/proc/PID/mcp: one ``key value`` line each, as #proc's status file."""
    return "".join(f"{key} {value}\n" for key, value in vcore_fields(kernel, process))


def mcp_status_lines(kernel: Kernel, process: Process) -> str:
    """An Akaros process's lines in /proc/PID/status: its vcore request, grant and placement
    (status has the state already); none for other processes."""
    if of(process) is None:
        return ""
    return "".join(f"{key} {value}\n" for key, value in vcore_fields(kernel, process) if key != "state")


def cmd_vcores(kernel: Kernel, pid: str | None = None) -> str:
    """The monitor's ``vcores [PID]``: every Akaros process (or one), its request and vcores."""
    processes = [p for p in kernel.processes.values() if of(p) is not None and p.alive]
    if pid is not None:
        processes = [p for p in processes if p.pid == int(pid)]
        if not processes:
            raise ValueError(f"no Akaros process {pid}")
    if not processes:
        return "no Akaros processes"
    lines = []
    for process in processes:
        fields = dict(vcore_fields(kernel, process))
        lines.append(
            f"pid {process.pid} ({process.name}) {fields['state']}: {fields['vcores_granted']} of "
            f"{fields['vcores_wanted']} vcores wanted, provisioned {fields['cores_provisioned']}"
        )
        lines += [f"  vcore {value}" for key, value in vcore_fields(kernel, process) if key == "vcore"]
    return "\n".join(lines)


def provisioning_map(kernel: Kernel) -> str:
    """Per core: who it is provisioned to and who holds it (Akaros prints this for
    ``provision(-1, ...)``, which ``prov -s`` calls)."""
    provisioned = kernel.scheduler.provisioning()
    lines = ["pcore  provisioned  allocated"]
    for core in range(len(kernel.current)):
        owner = provisioned.get(core)
        holder = kernel.granted[core]
        lines.append(
            f"{core:5d}  {owner.pid if owner is not None else '-':>11}  "
            f"{holder.pid if holder is not None else '-':>9}"
        )
    return "\n".join(lines) + "\n"
