"""9P: a 9P2000 / 9P2000.L server exporting the namespace (``[export9p]``) and a client that
mounts host 9P servers into it (``[[mount9p]]``, the ``#mnt`` device). See docs/9p.md."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import BootStep, ConfigSection, Device, PluginDeclaration
from kernkit.plugins.ninep.options import ExportOptions, MountOptions

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel


def _mnt_device(kernel: Kernel):  # noqa: ANN202 - a DeviceDriver (the ns plugin's contract)
    from kernkit.plugins.ninep.mnt import MntDevice

    return MntDevice(kernel)


def _export(kernel: Kernel) -> None:
    if not kernel.config["export9p"].listen:  # nothing to serve: the server code stays unloaded
        return
    from kernkit.plugins.ninep.export import start_export

    start_export(kernel)


def _mount(kernel: Kernel) -> None:
    if not kernel.config["mount9p"]:  # nothing to mount: the client code stays unloaded
        return
    from kernkit.plugins.ninep.mount import mount_all

    mount_all(kernel)


@hookimpl
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(
        requires=("ns",), description="9P: the namespace to host clients, host servers in the namespace"
    )


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [
        ConfigSection("export9p", ExportOptions, "serve parts of the namespace over 9P to host clients"),
        ConfigSection("mount9p", MountOptions, "mount a host 9P server into the namespace;", multiple=True),
    ]


@hookimpl
def kernkit_register_devices() -> list[Device]:
    return [Device("mnt", _mnt_device, "the 9P client: host file servers mounted by [[mount9p]]")]


@hookimpl
def kernkit_boot_steps() -> list[BootStep]:
    return [
        BootStep("mount9p", "services", _mount, outside=True),
        BootStep("export9p", "services", _export, after=("mount9p",), outside=True),
    ]


@hookimpl
def kernkit_shutdown(kernel: Kernel) -> None:
    # an export or a #mnt device exists only once its module is imported: a kernel that used
    # neither does not load the 9P server and client just to find nothing to stop
    if "kernkit.plugins.ninep.export" in sys.modules:
        from kernkit.plugins.ninep.export import stop_export

        stop_export(kernel)
    if "kernkit.plugins.ninep.mnt" in sys.modules:
        from kernkit.plugins.ninep.mount import unmount_all

        unmount_all(kernel)
