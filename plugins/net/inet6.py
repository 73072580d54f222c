"""Socket addresses of both families, and IPv6's options and ancillary data (RFC 3542).

The stack names addresses as text: IPv4 ones dotted (``127.0.0.1``, ``0.0.0.0``), IPv6 ones
compressed (``::1``, ``::``). An AF_INET6 socket given a v4-mapped address (``::ffff:127.0.0.1``)
uses the IPv4 address underneath and sees IPv4 peers as v4-mapped addresses, as Linux's
dual-stack sockets do; with IPV6_V6ONLY it reaches IPv6 addresses only. sockaddr_in6's flowinfo
and scope id are accepted and given back as 0 (loopback needs neither).
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kernkit.core.errnos import EAFNOSUPPORT, EINVAL, ENETUNREACH, ENOPROTOOPT
from kernkit.plugins.net.stack import ANY6

if TYPE_CHECKING:
    from kernkit.plugins.net.stack import Conv

AF_INET, AF_INET6 = 2, 10
SOCKADDR_IN, SOCKADDR_IN6, SIN6_LEN_RFC2133 = 16, 28, 24
IPPROTO_IPV6 = 41
IPV6_UNICAST_HOPS, IPV6_MULTICAST_IF, IPV6_MULTICAST_HOPS, IPV6_MULTICAST_LOOP = 16, 17, 18, 19
IPV6_MTU_DISCOVER, IPV6_RECVERR, IPV6_V6ONLY = 23, 25, 26
IPV6_RECVPKTINFO, IPV6_PKTINFO, IPV6_RECVHOPLIMIT, IPV6_HOPLIMIT = 49, 50, 51, 52
IPV6_DONTFRAG, IPV6_RECVTCLASS, IPV6_TCLASS = 62, 66, 67
#: Options kept as a number and given back as set (flags, and the MTU discovery mode).
_PLAIN = (
    IPV6_MULTICAST_LOOP,
    IPV6_MTU_DISCOVER,
    IPV6_RECVERR,
    IPV6_RECVPKTINFO,
    IPV6_RECVHOPLIMIT,
    IPV6_DONTFRAG,
    IPV6_RECVTCLASS,
    IPV6_MULTICAST_IF,
)
DEFAULT_HOPS = 64
LOOPBACK_INDEX = 1  # the interface an in6_pktinfo names: lo


def is_inet6(conv: Conv) -> bool:
    """Whether the conversation is an AF_INET6 socket's (its wildcard is ::)."""
    return conv.wildcard == ANY6


def family_of(conv: Conv) -> int:
    return AF_INET6 if is_inet6(conv) else AF_INET


def stack_address(packed: bytes) -> str:
    """The stack's name of a 16-byte IPv6 address (a v4-mapped one is its IPv4 address)."""
    address = ipaddress.IPv6Address(packed)
    mapped = address.ipv4_mapped
    return str(mapped) if mapped is not None else address.compressed


def packed6(addr: str) -> bytes:
    """A stack address as 16 bytes of IPv6 (IPv4 ones v4-mapped)."""
    if ":" in addr:
        return ipaddress.IPv6Address(addr).packed
    return bytes(10) + b"\xff\xff" + ipaddress.IPv4Address(addr).packed


def parse_text(text: str) -> str | None:
    """A textual address of either family as the stack names it, or None if it is neither."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address):
        return stack_address(address.packed)
    return str(address)


def sockaddr(family: int, addr: str, port: int) -> bytes:
    """The sockaddr_in or sockaddr_in6 a socket of ``family`` is told ``addr`` in."""
    head = struct.pack("<H", family) + port.to_bytes(2, "big")
    if family == AF_INET6:
        return head + struct.pack("<I16sI", 0, packed6(addr), 0)
    return head + ipaddress.IPv4Address(addr).packed + bytes(8)


def decode(conv: Conv, raw: bytes, length: int, purpose: str) -> tuple[str, int] | int:
    """The (address, port) a socket is given in ``raw`` (``length`` bytes of sockaddr), or an
    errno as Linux answers for ``purpose`` ("bind", "connect" or "send")."""
    if length < 2:
        return -EINVAL
    family = struct.unpack_from("<H", raw)[0]
    port = int.from_bytes(raw[2:4], "big")
    inet6 = is_inet6(conv)
    if not inet6 or (family == AF_INET and purpose != "bind" and conv.proto == "udp"):
        if length < SOCKADDR_IN:
            return -EINVAL
        if family != AF_INET:
            return -EAFNOSUPPORT
        if inet6 and conv.v6only:
            return -EAFNOSUPPORT if purpose == "connect" else -ENETUNREACH
        return ".".join(str(b) for b in raw[4:8]), port
    if length < SIN6_LEN_RFC2133:
        return -EINVAL
    if family != AF_INET6:
        return -EAFNOSUPPORT
    addr = stack_address(raw[8:24])
    if conv.v6only and ":" not in addr:
        return -EINVAL if purpose == "bind" else -ENETUNREACH
    return addr, port


# --- options ---------------------------------------------------------------------------------


def setsockopt(conv: Conv, name: int, number: int) -> int:
    """IPPROTO_IPV6 options of an AF_INET6 socket; 0 or an errno."""
    if name == IPV6_V6ONLY:
        if conv.lport:
            return -EINVAL  # Linux fixes it when the socket is bound
        conv.v6only = bool(number)
        number = int(conv.v6only)
    elif name in (IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS, IPV6_TCLASS):
        if number < -1 or number > 255:
            return -EINVAL
    elif name not in _PLAIN:
        return -ENOPROTOOPT
    conv.options[(IPPROTO_IPV6, name)] = number
    return 0


def getsockopt(conv: Conv, name: int) -> int:
    """The value of an IPPROTO_IPV6 option, or an errno (negative, below -1 never a value)."""
    if name == IPV6_V6ONLY:
        return int(conv.v6only)
    value = conv.options.get((IPPROTO_IPV6, name), -1)
    if name in (IPV6_UNICAST_HOPS, IPV6_MULTICAST_HOPS):
        return value if value >= 0 else (DEFAULT_HOPS if name == IPV6_UNICAST_HOPS else 1)
    if name == IPV6_TCLASS:
        return max(value, 0)
    if name in _PLAIN:
        return max(value, 0)
    return -ENOPROTOOPT


# --- ancillary data --------------------------------------------------------------------------

_CMSGHDR = struct.Struct("<QII")


def _align(length: int) -> int:
    return (length + 7) & ~7


def control_messages(raw: bytes) -> list[tuple[int, int, bytes]] | int:
    """The (level, type, data) items of a sendmsg control buffer, or -EINVAL for a malformed
    one (a header that does not fit, or a length past the buffer)."""
    items = []
    at = 0
    while at + _CMSGHDR.size <= len(raw):
        length, level, kind = _CMSGHDR.unpack_from(raw, at)
        if length < _CMSGHDR.size or at + length > len(raw):
            return -EINVAL
        items.append((level, kind, raw[at + _CMSGHDR.size : at + length]))
        at += _align(length)
    return items


def send_meta(conv: Conv, items: Sequence[tuple[int, int, bytes]]) -> tuple[int, int] | int:
    """The hop limit and traffic class a datagram of ``conv`` carries, from its options and an
    AF_INET6 sender's IPV6_HOPLIMIT and IPV6_TCLASS items (-1 there: the socket's); an item
    Linux refuses is -EINVAL."""
    hops = getsockopt(conv, IPV6_UNICAST_HOPS) if is_inet6(conv) else DEFAULT_HOPS
    tclass = getsockopt(conv, IPV6_TCLASS) if is_inet6(conv) else 0
    for level, kind, data in items:
        if level != IPPROTO_IPV6 or not is_inet6(conv):
            continue  # IPv4's and the socket level's are checked by their own rules (none kept)
        if kind == IPV6_PKTINFO:
            continue  # the source is always this kernel's own address
        if kind not in (IPV6_HOPLIMIT, IPV6_TCLASS) or len(data) != 4:
            return -EINVAL
        value = struct.unpack("<i", data)[0]
        if value < -1 or value > 255:
            return -EINVAL
        if kind == IPV6_HOPLIMIT and value >= 0:
            hops = value
        elif kind == IPV6_TCLASS:
            tclass = value & 0xFF  # Linux keeps -1 as given: the packet carries its byte, 255
    return hops, tclass


def received_items(conv: Conv, dest: str) -> list[tuple[int, int, bytes]]:
    """The ancillary items an AF_INET6 datagram socket asked for about its last datagram, in
    Linux's order: the packet's destination, hop limit, traffic class."""
    if not is_inet6(conv) or conv.proto != "udp":
        return []
    hops, tclass = conv.meta
    items = []
    if conv.options.get((IPPROTO_IPV6, IPV6_RECVPKTINFO), 0):
        items.append((IPPROTO_IPV6, IPV6_PKTINFO, packed6(dest) + struct.pack("<i", LOOPBACK_INDEX)))
    if conv.options.get((IPPROTO_IPV6, IPV6_RECVHOPLIMIT), 0):
        items.append((IPPROTO_IPV6, IPV6_HOPLIMIT, struct.pack("<i", hops)))
    if conv.options.get((IPPROTO_IPV6, IPV6_RECVTCLASS), 0):
        items.append((IPPROTO_IPV6, IPV6_TCLASS, struct.pack("<i", tclass)))
    return items


MSG_CTRUNC = 0x8


def pack_control(items: list[tuple[int, int, bytes]], room: int) -> tuple[bytes, int]:
    """Ancillary items laid out in ``room`` bytes of a recvmsg control buffer as Linux's
    put_cmsg lays them: each header and data padded to 8 bytes; an item that does not fit is
    cut (its header's length says what was kept) and MSG_CTRUNC set; no room for a header: no
    item and MSG_CTRUNC. Returns the bytes to store (their length is msg_controllen) and flags."""
    out = bytearray()
    flags = 0
    for level, kind, data in items:
        left = room - len(out)
        if left < _CMSGHDR.size:
            flags |= MSG_CTRUNC
            break
        length = _CMSGHDR.size + len(data)
        if length > left:
            flags |= MSG_CTRUNC
            length = left
        out += _CMSGHDR.pack(length, level, kind) + data[: length - _CMSGHDR.size]
        out += bytes(min(_align(length), left) - length)
    return bytes(out), flags
