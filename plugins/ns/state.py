"""Where namespaces live: the kernel's device table and boot namespace, each process's view."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.devices import Chan
from kernkit.core.state import Slot
from kernkit.plugins.ns.devtab import Devices
from kernkit.plugins.ns.namespace import Namespace

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process


class ProcNs:
    """A process's view of files: its namespace (shared with others unless copied), its
    current directory and the program file it runs (``exe``, when a personality loaded it from
    the namespace). Copied with the process's data at fork: the child shares the namespace and
    starts in the same directory."""

    __slots__ = ("namespace", "cwd", "process", "exe")

    def __init__(
        self, namespace: Namespace, cwd: Chan, process: Process | None, exe: Chan | None = None
    ) -> None:
        self.namespace = namespace
        self.cwd = cwd
        self.process = process
        self.exe = exe

    def __copy__(self) -> ProcNs:
        return ProcNs(self.namespace, self.cwd, None, self.exe)

    def unshare(self) -> None:
        """Take a private copy of the namespace (Linux unshare(CLONE_NEWNS), Plan 9 RFNAMEG)."""
        self.namespace = self.namespace.copy()

    def clean(self) -> None:
        """Start over from a namespace holding only #root at / (Plan 9 RFCNAMEG); ``#`` names
        still reach every device."""
        devices = self.namespace.devices
        self.namespace = Namespace(devices, devices.attach("#root"))
        self.cwd = self.namespace.walk("/")


#: The kernel's device table; the boot namespace; each process's view of files.
DEVICES: Slot[Devices] = Slot("ns.devices")
BOOT: Slot[Namespace] = Slot("ns.boot")
VIEW: Slot[ProcNs] = Slot("ns.view")


def devices(kernel: Kernel) -> Devices:
    """The kernel's device table (made on first use)."""
    return DEVICES.of(kernel, lambda: Devices(kernel))


def device_table(kernel: Kernel) -> Devices | None:
    """The kernel's device table if anything has used devices yet, else None."""
    return DEVICES.get(kernel)


def proc_ns(process: Process) -> ProcNs:
    """``process``'s view of files; KeyError if it has none (no namespace plugin at its birth)."""
    view = process.data.get(VIEW)  # VIEW.get(process), inline: every path lookup asks this
    if view is None:
        raise KeyError(f"pid {process.pid} has no namespace")
    return view


def view_of(process: Process) -> ProcNs | None:
    """``process``'s view of files, or None (no namespace plugin at its birth)."""
    return VIEW.get(process)


def enter(process: Process) -> ProcNs:
    """``process``'s view of files (KeyError when it has none); pass the calling thread as
    ``caller=`` to what is done through it."""
    return proc_ns(process)
