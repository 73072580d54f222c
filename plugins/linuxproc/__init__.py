"""Linux's /proc and the Linux names of /dev, as devices over the Plan 9 namespace.

``#linuxproc`` is Linux's /proc (see device.py) and ``#linuxdev`` holds /dev/fd and
/dev/std{in,out,err}; the boot namespace binds them before #proc on /proc and before #cons on
/dev (``[namespace] binds``), and a config that lists its own binds can leave them out. They
are devices rather than files registered into #proc because Linux's /proc needs what #proc's
per-process files cannot be (directories, symbolic links, files at the top and in /proc/sys) and
two of its names, ``status`` and ``fd``, mean something else in #proc; #proc stays Plan 9's,
and #linuxproc shows its other per-process files in each process directory too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import Device, PluginDeclaration
from kernkit.plugins.linuxproc.device import LinuxProcDevice
from kernkit.plugins.linuxproc.devlinks import LinuxDevDevice
from kernkit.plugins.linuxproc.process import START
from kernkit.plugins.linuxproc.system import FORKS

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process


@hookimpl
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(requires=("ns", "linux_abi"), description="Linux's /proc and /dev/fd")


@hookimpl
def kernkit_register_devices() -> list[Device]:
    return [
        Device("linuxproc", LinuxProcDevice, "Linux's /proc: stat, status, maps, fd/, meminfo, sys/, ..."),
        Device(
            "linuxdev", LinuxDevDevice, "Linux's /dev/fd and /dev/std{in,out,err}: links into /proc/self/fd"
        ),
    ]


@hookimpl
def kernkit_process_created(kernel: Kernel, process: Process) -> None:
    START.set(process, kernel.now(kernel.active_core))
    FORKS.of(kernel, lambda: [0])[0] += 1
