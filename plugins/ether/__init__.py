"""Virtual ethernet: the ``#ether`` device (Plan 9's ether: /net/ether0/clone, N/ctl, N/data,
...), NICs on one virtual segment, and a pcap file of every frame crossing it, stamped with
virtual time so runs repeat byte for byte. See docs/ether.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.devices import DeviceError
from kernkit.core.errors import ConfigError
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import BootStep, ConfigSection, Device, PluginDeclaration
from kernkit.plugins.ether.options import EtherOptions
from kernkit.plugins.ether.segment import SEGMENT, Segment, segment_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

__all__ = ["Segment", "segment_of"]


def _ether_device(kernel: Kernel):  # noqa: ANN202 - a DeviceDriver
    from kernkit.plugins.ether.devether import EtherDevice

    return EtherDevice(kernel)


def _start(kernel: Kernel) -> None:
    options = kernel.config["ether"]
    if not options.nics and not options.pcap:
        return  # no NICs and no capture: nothing is made, runs are as without the plugin
    segment = segment_of(kernel)  # opens the capture file now, so a bad one fails the boot
    if options.capture_ip:
        from kernkit.plugins.ether.ipcapture import attach_ip_capture

        attach_ip_capture(kernel, segment)
    if not options.nics:
        return
    if options.bind:
        from kernkit.plugins.ns.api import boot_bind

        try:
            boot_bind(kernel, f"bind -a #ether {options.bind}")
        except DeviceError as exc:
            raise ConfigError(f"[ether] bind: {options.bind}: {exc.message or exc.code}") from None
        except ValueError as exc:
            raise ConfigError(f"[ether] bind: {options.bind!r}: {exc}") from None


@hookimpl
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(requires=("ns", "net"), description="virtual ethernet: #ether")


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [
        ConfigSection("ether", EtherOptions, "virtual ethernet: the #ether NICs, their segment, pcap capture")
    ]


@hookimpl
def kernkit_register_devices() -> list[Device]:
    return [Device("ether", _ether_device, "virtual NICs: /net/etherN/clone, N/ctl, N/data (frames), ...")]


@hookimpl
def kernkit_boot_steps() -> list[BootStep]:
    return [BootStep("ether", "devices", _start, after=("namespace",), outside=True)]


@hookimpl
def kernkit_shutdown(kernel: Kernel) -> None:
    segment = SEGMENT.pop(kernel)
    if segment is not None:
        segment.close()
