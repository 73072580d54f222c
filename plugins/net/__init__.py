"""Networking: the ``#ip`` device on /net (Plan 9's TCP and UDP conversations as files), an
in-kernel loopback transport, and the host bridge (``[[net.forward]]``, ``[net] host_access``).
Linux sockets (plugins/linux_abi/sockets.py) are conversations of the same stack. See docs/net.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errors import KernkitError
from kernkit.core.hookspecs import hookimpl
from kernkit.core.listening import remote_warning
from kernkit.core.records import BootStep, ConfigSection, Device
from kernkit.plugins.net.options import NetOptions
from kernkit.plugins.net.stack import STACK_KEY, Conv, Stack, stack_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

__all__ = ["Conv", "Stack", "stack_of", "ip_driver"]

BRIDGE_KEY = "net.bridge"


def _ip_device(kernel: Kernel):  # noqa: ANN202 - a DeviceDriver
    from kernkit.plugins.net.devip import IpDevice

    return IpDevice(kernel)


def ip_driver(kernel: Kernel):  # noqa: ANN201 - the #ip driver, for personalities' sockets
    from kernkit.plugins.ns.state import devices

    return devices(kernel).driver("ip")


def _start_host(kernel: Kernel) -> None:
    options = kernel.config["net"]
    forwards = options.forwards()
    if not forwards and not options.host_access:
        return  # no host networking: nothing is registered, runs stay deterministic
    from kernkit.plugins.net.host import HostBridge

    stack = stack_of(kernel)
    assert stack is not None
    bridge = kernel.data[BRIDGE_KEY] = HostBridge(kernel, stack, options)
    stack.host = bridge
    for forward in forwards:
        try:
            host, port = bridge.forward(forward.host, forward.guest)
        except OSError as exc:
            bridge.close()
            raise KernkitError(str(exc)) from None
        warning = remote_warning(host, port, "net", "a forward")
        if warning:
            kernel.message(warning)
        kernel.message(f"net: forwarding {host}:{port} to guest port {forward.guest}")


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("net", NetOptions, "networking: the #ip device, loopback TCP/UDP, host forwards")]


@hookimpl
def kernkit_register_devices() -> list[Device]:
    return [Device("ip", _ip_device, "the network: /net/tcp, /net/udp (clone, ctl, data, listen, ...)")]


@hookimpl
def kernkit_boot_steps() -> list[BootStep]:
    return [BootStep("net", "services", _start_host, outside=True)]


@hookimpl
def kernkit_shutdown(kernel: Kernel) -> None:
    bridge = kernel.data.pop(BRIDGE_KEY, None)
    if bridge is not None:
        bridge.close()
    kernel.data.pop(STACK_KEY, None)
