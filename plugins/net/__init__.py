"""Networking: the ``#ip`` device on /net (Plan 9's TCP and UDP conversations as files), an
in-kernel loopback transport, the host bridge (``[[net.forward]]``, ``[net] host_access``), and
BSD sockets added to the Linux personality (plugins/net/sockets.py: conversations of the same
stack). See docs/net.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errors import KernkitError
from kernkit.core.hookspecs import hookimpl
from kernkit.core.listening import remote_warning
from kernkit.core.records import (
    BootStep,
    ConfigSection,
    Device,
    PluginDeclaration,
    Syscall,
    SyscallExtension,
)
from kernkit.core.state import Slot
from kernkit.plugins.net.options import NetOptions
from kernkit.plugins.net.stack import STACK, Conv, Stack, stack_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.plugins.net.host import HostBridge

__all__ = ["Conv", "Stack", "stack_of"]

BRIDGE: Slot[HostBridge] = Slot("net.bridge")


def _ip_device(kernel: Kernel):  # noqa: ANN202 - a DeviceDriver
    from kernkit.plugins.net.devip import IpDevice

    return IpDevice(kernel)


def _unix_device(kernel: Kernel):  # noqa: ANN202 - a DeviceDriver
    from kernkit.plugins.net.unixsock import UnixDevice

    return UnixDevice(kernel)


def _netlink_device(kernel: Kernel):  # noqa: ANN202 - a DeviceDriver
    from kernkit.plugins.net.netlinksock import NetlinkDevice

    return NetlinkDevice(kernel)


def _start_host(kernel: Kernel) -> None:
    options = kernel.config["net"]
    forwards = options.forwards()
    if not forwards and not options.host_access:
        return  # no host networking: nothing is registered, runs stay deterministic
    from kernkit.plugins.net.host import HostBridge

    stack = stack_of(kernel)
    assert stack is not None
    bridge = BRIDGE.set(kernel, HostBridge(kernel, stack, options))
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
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(requires=("ns", "linux_abi"), description="TCP/UDP as files (#ip) and sockets")


@hookimpl
def kernkit_register_syscall_extensions() -> list[SyscallExtension]:
    from kernkit.plugins.net import mmsg
    from kernkit.plugins.net.sockets import SYSCALLS

    table = SYSCALLS + mmsg.calls(SYSCALLS)
    calls = tuple(Syscall(number, name, handler, nargs) for number, name, handler, nargs in table)
    return [SyscallExtension("sockets", "linux", calls, "BSD sockets over #ip conversations")]


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("net", NetOptions, "networking: the #ip device, loopback TCP/UDP, host forwards")]


@hookimpl
def kernkit_register_devices() -> list[Device]:
    return [
        Device("ip", _ip_device, "the network: /net/tcp, /net/udp (clone, ctl, data, listen, ...)"),
        Device("unix", _unix_device, "Unix domain sockets (each an open channel; names bound)"),
        Device("netlink", _netlink_device, "AF_NETLINK sockets: NETLINK_ROUTE's interfaces and addresses"),
    ]


@hookimpl
def kernkit_boot_steps() -> list[BootStep]:
    return [BootStep("net", "services", _start_host, outside=True)]


@hookimpl
def kernkit_shutdown(kernel: Kernel) -> None:
    bridge = BRIDGE.pop(kernel)
    if bridge is not None:
        bridge.close()
    STACK.pop(kernel)
