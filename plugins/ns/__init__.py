"""Plan 9 namespaces: ``#`` devices bound into a per-process name space (see docs/namespace.md).

The plugin registers the #proc, #srv, #pipe, #root, #tmpfs, #random and #version devices (the
console plugin registers #cons), the [namespace] config table, the boot step that builds the
boot namespace, and gives every new process a view of it (a fork child shares its parent's).

Personalities and file servers use the public API, :mod:`kernkit.plugins.ns.api`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import BootStep, ConfigSection, Device, ProcFile
from kernkit.plugins.ns.boot import boot_namespace
from kernkit.plugins.ns.devpipe import PipeDevice
from kernkit.plugins.ns.devproc import ProcDevice
from kernkit.plugins.ns.devrandom import RandomDevice
from kernkit.plugins.ns.devroot import RootDevice
from kernkit.plugins.ns.devsrv import SrvDevice
from kernkit.plugins.ns.devtmpfs import TmpfsDevice
from kernkit.plugins.ns.devversion import VersionDevice
from kernkit.plugins.ns.options import NamespaceOptions
from kernkit.plugins.ns.procfiles import PROC_FILES
from kernkit.plugins.ns.state import VIEW, ProcNs

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("namespace", NamespaceOptions, "the Plan 9 namespace processes start with")]


@hookimpl
def kernkit_register_devices() -> list[Device]:
    return [
        Device("proc", ProcDevice, "a directory per process: status, ctl, ns, fd, args, ..."),
        Device("srv", SrvDevice, "channels posted for others to open or mount"),
        Device("pipe", PipeDevice, "a new pipe per attach: data and data1"),
        Device("root", RootDevice, "the read-only tree / starts from ([namespace] root)"),
        Device("tmpfs", TmpfsDevice, "in-memory files, writable; #tmpfs.NAME for more instances"),
        Device("random", RandomDevice, "deterministic random bytes from [kernel] seed"),
        Device("version", VersionDevice, "kernkit's version, hook contract, plugins and config"),
    ]


@hookimpl
def kernkit_register_proc_files() -> list[ProcFile]:
    return list(PROC_FILES)


@hookimpl
def kernkit_boot_steps() -> list[BootStep]:
    return [BootStep("namespace", "devices", boot_namespace)]


@hookimpl(tryfirst=True)  # other plugins may use the new process's namespace
def kernkit_process_created(kernel: Kernel, process: Process) -> None:
    view = VIEW.get(process)
    if view is not None:  # a fork child: it shares the parent's namespace (copied in its data)
        view.process = process
        return
    parent = VIEW.get(process.parent) if process.parent is not None else None
    if parent is not None:  # spawned by a process (Akaros proc_create): its namespace and directory
        VIEW.set(process, ProcNs(parent.namespace, parent.cwd, process))
        return
    namespace = boot_namespace(kernel)
    VIEW.set(process, ProcNs(namespace, namespace.walk("/"), process))
