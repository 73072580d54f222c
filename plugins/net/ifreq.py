"""The interface ioctls Linux answers on any socket (struct ifreq): SIOCGIFNAME, SIOCGIFINDEX,
SIOCGIFCONF (each interface's IPv4 address, as ``ifconfig`` lists them), SIOCGIFFLAGS,
SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFTXQLEN, and on AF_INET sockets SIOCGIFADDR, SIOCGIFNETMASK,
SIOCGIFBRDADDR. glibc's and musl's if_nametoindex and if_indextoname are these. An unknown name
or index is ENODEV; an interface without an IPv4 address, EADDRNOTAVAIL."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.errnos import EADDRNOTAVAIL, EFAULT, ENODEV, ENOTTY
from kernkit.plugins.net.interfaces import AF_INET, by_index, by_name, interfaces

if TYPE_CHECKING:
    from kernkit.core.process import Thread

SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFADDR, SIOCGIFBRDADDR = 0x8910, 0x8912, 0x8913, 0x8915, 0x8919
SIOCGIFNETMASK, SIOCGIFMTU, SIOCGIFHWADDR = 0x891B, 0x8921, 0x8927
SIOCGIFINDEX, SIOCGIFTXQLEN = 0x8933, 0x8942
IFNAMSIZ = 16
#: sizeof(struct ifreq): the name, then a 24-byte union.
IFREQ = 40
INET_ONLY = (SIOCGIFADDR, SIOCGIFNETMASK, SIOCGIFBRDADDR)
REQUESTS = (SIOCGIFNAME, SIOCGIFCONF, SIOCGIFFLAGS, SIOCGIFMTU, SIOCGIFHWADDR, SIOCGIFINDEX, SIOCGIFTXQLEN)
REQUESTS += INET_ONLY


def _sockaddr_in(packed: bytes) -> bytes:
    return struct.pack("<HH", AF_INET, 0) + packed + bytes(8)


def ioctl(t: Thread, family: int, request: int, arg: int) -> int | None:
    """The answer to ``request`` on a socket of ``family``: None when it is not an interface
    ioctl (the caller answers it)."""
    if request not in REQUESTS:
        return None
    if request in INET_ONLY and family != AF_INET:
        return -ENOTTY
    aspace = t.process.aspace
    if request == SIOCGIFCONF:
        return _ifconf(t, arg)
    if not aspace.allows(arg, IFREQ, "write"):
        return -EFAULT
    raw = aspace.read(arg, IFREQ)
    if request == SIOCGIFNAME:
        found = by_index(t.kernel, struct.unpack_from("<i", raw, IFNAMSIZ)[0])
        if found is None:
            return -ENODEV
        aspace.write(arg, found.name.encode().ljust(IFNAMSIZ, b"\0"))
        return 0
    name = raw[:IFNAMSIZ].split(b"\0", 1)[0].split(b":", 1)[0].decode("latin-1")  # lo:0 is lo
    found = by_name(t.kernel, name)
    if found is None:
        return -ENODEV
    if request == SIOCGIFINDEX:
        value = struct.pack("<i", found.index)
    elif request == SIOCGIFFLAGS:
        value = struct.pack("<H", found.flags & 0xFFFF)  # ifr_flags is a short
    elif request == SIOCGIFMTU:
        value = struct.pack("<i", found.mtu)
    elif request == SIOCGIFTXQLEN:
        value = struct.pack("<i", 1000)
    elif request == SIOCGIFHWADDR:
        value = struct.pack("<H", found.kind) + found.mac.ljust(14, b"\0")
    else:
        inet = next((a for a in found.addresses if a.family == AF_INET), None)
        if inet is None:
            return -EADDRNOTAVAIL
        if request == SIOCGIFADDR:
            value = _sockaddr_in(inet.packed)
        elif request == SIOCGIFNETMASK:
            value = _sockaddr_in(((0xFFFFFFFF << (32 - inet.prefix)) & 0xFFFFFFFF).to_bytes(4, "big"))
        else:
            value = _sockaddr_in(inet.broadcast or bytes(4))  # loopback's is 0.0.0.0
    aspace.write(arg + IFNAMSIZ, value)
    return 0


def _ifconf(t: Thread, arg: int) -> int:
    """struct ifconf: an ifreq per IPv4 address (its label, its address) in the buffer, as many
    whole ones as fit; with a null buffer, the length all of them need."""
    aspace = t.process.aspace
    if not aspace.allows(arg, 16, "write"):
        return -EFAULT
    room, buffer = struct.unpack("<i4xQ", aspace.read(arg, 16))
    entries = [
        one.name.encode().ljust(IFNAMSIZ, b"\0") + _sockaddr_in(address.packed)
        for one in interfaces(t.kernel)
        for address in one.addresses
        if address.family == AF_INET
    ]
    if buffer:
        entries = entries[: max(0, room) // IFREQ]
        data = b"".join(entry.ljust(IFREQ, b"\0") for entry in entries)
        if data and not aspace.allows(buffer, len(data), "write"):
            return -EFAULT
        aspace.write(buffer, data)
    aspace.write(arg, struct.pack("<i", IFREQ * len(entries)))
    return 0
