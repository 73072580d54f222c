"""The kernel's network interfaces as Linux programs see them (rtnetlink dumps, SIOCGIF* ioctls).

``lo`` (index 1) holds 127.0.0.1/8 and ::1/128, as Linux's loopback does. ``eth0`` (index 2)
holds the kernel's own address from ``[net] address`` and ``prefix`` (what /net/ipifc/0 shows,
Plan 9's ether0) with ether0's MAC from ``[ether] nics`` (52:54:00:12:34:56 without NICs, the
address a capture gives it too). Further ``[ether]`` NICs are eth1, eth2, ...: up, with their
MACs and no address, as the stack does not route through them. The list is made from the config
each time it is asked for, so it is the same in every run.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

AF_INET, AF_INET6 = 2, 10
ARPHRD_ETHER, ARPHRD_LOOPBACK = 1, 772
IFF_UP, IFF_BROADCAST, IFF_LOOPBACK, IFF_RUNNING = 0x1, 0x2, 0x8, 0x40
IFF_MULTICAST, IFF_LOWER_UP = 0x1000, 0x10000
RT_SCOPE_UNIVERSE, RT_SCOPE_HOST = 0, 254
#: The MAC ether0 has without [ether] NICs (the one plugins/ether's capture gives the kernel).
DEFAULT_MAC = bytes.fromhex("525400123456")


@attrs.frozen
class Address:
    family: int
    #: The address, 4 or 16 bytes.
    packed: bytes
    prefix: int
    scope: int
    #: IPv4's directed broadcast (b"": none, as on loopback).
    broadcast: bytes = b""


@attrs.frozen
class Interface:
    index: int
    name: str
    kind: int
    flags: int
    mtu: int
    mac: bytes
    broadcast: bytes
    qdisc: str
    addresses: tuple[Address, ...] = ()

    @property
    def operstate(self) -> int:
        """IF_OPER_UNKNOWN for loopback (it has no carrier to report), IF_OPER_UP otherwise."""
        return 0 if self.kind == ARPHRD_LOOPBACK else 6


LOOPBACK = Interface(
    1,
    "lo",
    ARPHRD_LOOPBACK,
    IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP,
    65536,
    bytes(6),
    bytes(6),
    "noqueue",
    (
        Address(AF_INET, bytes([127, 0, 0, 1]), 8, RT_SCOPE_HOST),
        Address(AF_INET6, ipaddress.IPv6Address("::1").packed, 128, RT_SCOPE_HOST),
    ),
)
ETHER_FLAGS = IFF_UP | IFF_BROADCAST | IFF_RUNNING | IFF_MULTICAST | IFF_LOWER_UP


def _macs(kernel: Kernel) -> list[bytes]:
    ether = kernel.config.sections.get("ether")
    texts = getattr(ether, "nics", None) or []
    return [bytes.fromhex(text.replace(":", "").replace("-", "")) for text in texts]


def _ether(index: int, name: str, mac: bytes, addresses: tuple[Address, ...]) -> Interface:
    return Interface(index, name, ARPHRD_ETHER, ETHER_FLAGS, 1500, mac, b"\xff" * 6, "pfifo_fast", addresses)


def interfaces(kernel: Kernel) -> list[Interface]:
    """Every interface, by index."""
    found = [LOOPBACK]
    options = kernel.config.sections.get("net")
    macs = _macs(kernel)
    if options is not None:
        network = ipaddress.ip_network(f"{options.address}/{options.prefix}", strict=False)
        own = Address(
            AF_INET,
            ipaddress.IPv4Address(options.address).packed,
            options.prefix,
            RT_SCOPE_UNIVERSE,
            network.broadcast_address.packed if options.prefix < 31 else b"",
        )
        mac = macs[0] if macs else DEFAULT_MAC
        found.append(_ether(2, "eth0", mac, (own,)))
    for number, mac in enumerate(macs[1:], start=1):
        found.append(_ether(len(found) + 1, f"eth{number}", mac, ()))
    return found


def by_name(kernel: Kernel, name: str) -> Interface | None:
    return next((one for one in interfaces(kernel) if one.name == name), None)


def by_index(kernel: Kernel, index: int) -> Interface | None:
    return next((one for one in interfaces(kernel) if one.index == index), None)
