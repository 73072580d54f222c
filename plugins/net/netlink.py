"""The socket calls on AF_NETLINK sockets (plugins/net/netlinksock.py has the sockets): socket
(SOCK_RAW or SOCK_DGRAM, protocol NETLINK_ROUTE; other protocols EPROTONOSUPPORT, as Linux
answers one it was built without), bind and connect to a sockaddr_nl, names, send and receive
(MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT), options (SO_RCVBUF, SO_SNDBUF, SOL_NETLINK's), and
EOPNOTSUPP for the calls netlink has not (listen, accept, shutdown)."""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import Chan, DeviceError, WouldBlock
from kernkit.core.errnos import EAGAIN, EINVAL, EMFILE, EPROTONOSUPPORT, ESOCKTNOSUPPORT, errno_of
from kernkit.plugins.linux_abi.api import O_NONBLOCK, scatter
from kernkit.plugins.net.netlinksock import (
    AF_NETLINK,
    NETLINK_ROUTE,
    SOL_NETLINK,
    NetlinkDevice,
    NetlinkSocket,
)
from kernkit.plugins.ns.api import devices

if TYPE_CHECKING:
    from kernkit.core.process import Thread

AF_UNSPEC = 0
SOCK_DGRAM, SOCK_RAW = 2, 3
SOCK_NONBLOCK, SOCK_CLOEXEC = 0o4000, 0o2000000
MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT = 0x2, 0x20, 0x40
SOL_SOCKET = 1
SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_PASSCRED = 3, 4, 7, 8, 16
SO_SNDBUFFORCE, SO_RCVBUFFORCE, SO_PROTOCOL, SO_DOMAIN = 32, 33, 38, 39
#: sizeof(struct sockaddr_nl): family, pad, port id, groups.
SOCKADDR_NL = 12
MAX_IO = 1 << 24
_MSGHDR = struct.Struct("<QI4xQQQQi4x")
#: Options Linux keeps for any socket, which change nothing here.
KEPT = (2, 9, 10, 12, 15, 20, 21, SO_PASSCRED)  # REUSEADDR, KEEPALIVE, ..., RCVTIMEO, SNDTIMEO
#: SOL_NETLINK's integer options: PKTINFO, BROADCAST_ERROR, NO_ENOBUFS, LISTEN_ALL_NSID,
#: CAP_ACK, EXT_ACK, GET_STRICT_CHK (kept; CAP_ACK shortens the errors' echo).
NETLINK_OPTIONS = (3, 4, 5, 8, 10, 11, 12)
NETLINK_ADD_MEMBERSHIP, NETLINK_DROP_MEMBERSHIP = 1, 2


def _device(t: Thread) -> NetlinkDevice:
    return devices(t.kernel).driver("netlink")


def is_netlink(file: Any) -> bool:
    return type(file) is Chan and isinstance(file.driver, NetlinkDevice) and file.aux is not None


def _calls(function: Callable[..., Any]) -> Callable[..., Any]:
    """A handler on a netlink socket's descriptor: ``function(t, sock, chan, ...)``;
    DeviceError becomes its errno, WouldBlock a wait (EAGAIN when non-blocking)."""

    @functools.wraps(function)
    def call(t: Thread, fd: int, *args: int) -> Any:
        chan = t.process.files.get(fd)
        try:
            return function(t, chan.aux, chan, *args)
        except DeviceError as exc:
            return -errno_of(exc.code)
        except WouldBlock as blocked:
            if chan.flags & O_NONBLOCK:
                return -EAGAIN
            blocked.queue.sleep(t, restart=True)
            return None

    return call


def sys_socket(t: Thread, domain: int, kind: int, protocol: int) -> int:
    if kind & ~(0xF | SOCK_NONBLOCK | SOCK_CLOEXEC):
        return -EINVAL
    if kind & 0xF not in (SOCK_RAW, SOCK_DGRAM):
        return -ESOCKTNOSUPPORT
    if protocol != NETLINK_ROUTE:  # as Linux for one it lacks, or one past MAX_LINKS (32)
        return -EPROTONOSUPPORT
    files = t.process.files
    if len(files) >= files.limit:
        return -EMFILE
    device = _device(t)
    chan = device.open_socket(NetlinkSocket(device, kind & 0xF, protocol))
    chan.flags = 2 | (O_NONBLOCK if kind & SOCK_NONBLOCK else 0)
    number = files.install(chan, cloexec=bool(kind & SOCK_CLOEXEC))
    if number < 0:
        chan.close()
        return -EMFILE
    return number


def _address(t: Thread, addr: int, length: int) -> tuple[int, int]:
    """The (port id, groups) of the sockaddr_nl at ``addr``."""
    if length < SOCKADDR_NL:
        raise DeviceError("EINVAL", "a sockaddr_nl's length")
    family, _, portid, groups = struct.unpack("<HHII", t.process.aspace.read(addr, SOCKADDR_NL))
    if family != AF_NETLINK:
        raise DeviceError("EINVAL", "not AF_NETLINK")
    return portid, groups


@_calls
def bind(t: Thread, sock: NetlinkSocket, chan: Chan, addr: int, length: int) -> int:
    portid, groups = _address(t, addr, length)
    if sock.portid:
        if portid != sock.portid:
            raise DeviceError("EINVAL", "already bound")
    elif portid:
        _device(t).bind(sock, portid)
    else:
        _device(t).autobind(sock, t.process.pid)
    sock.groups = groups  # no group ever hears of a change: the interfaces never change
    return 0


@_calls
def connect(t: Thread, sock: NetlinkSocket, chan: Chan, addr: int, length: int) -> int:
    if length >= 2 and struct.unpack("<H", t.process.aspace.read(addr, 2))[0] == AF_UNSPEC:
        sock.dst_portid = sock.dst_groups = 0
        return 0
    portid, groups = _address(t, addr, length)
    if not sock.portid:
        _device(t).autobind(sock, t.process.pid)
    sock.dst_portid, sock.dst_groups = portid, groups
    return 0


def _write_name(t: Thread, address: int, lenp: int, portid: int, groups: int) -> None:
    if not address or not lenp:
        return
    aspace = t.process.aspace
    room = struct.unpack("<i", aspace.read(lenp, 4))[0]
    if room < 0:
        raise DeviceError("EINVAL")
    aspace.write(address, struct.pack("<HHII", AF_NETLINK, 0, portid, groups)[:room])
    aspace.write(lenp, struct.pack("<i", SOCKADDR_NL))


@_calls
def getsockname(t: Thread, sock: NetlinkSocket, chan: Chan, address: int, lenp: int) -> int:
    _write_name(t, address, lenp, sock.portid, sock.groups)
    return 0


@_calls
def getpeername(t: Thread, sock: NetlinkSocket, chan: Chan, address: int, lenp: int) -> int:
    _write_name(t, address, lenp, sock.dst_portid, sock.dst_groups)
    return 0


@_calls
def unsupported(t: Thread, sock: NetlinkSocket, chan: Chan, *args: int) -> int:
    raise DeviceError("EOPNOTSUPP")


# --- moving bytes ------------------------------------------------------------------------------


def _send(t: Thread, sock: NetlinkSocket, data: bytes, flags: int, name: tuple[int, int]) -> int:
    to = _address(t, *name) if name[1] else None  # as Linux: a name's length, not its pointer, counts
    return sock.send(data, to, t.process.pid)


@_calls
def sendto(
    t: Thread, sock: NetlinkSocket, chan: Chan, buf: int, length: int, flags: int, addr: int, addrlen: int
) -> int:
    return _send(t, sock, t.process.aspace.read(buf, min(length, MAX_IO)), flags, (addr, addrlen))


def _vectors(t: Thread, iov: int, count: int) -> list[tuple[int, int]]:
    if count < 0 or count > 1024:
        raise DeviceError("EINVAL")
    raw = t.process.aspace.read(iov, 16 * count)
    return [piece for piece in struct.iter_unpack("<QQ", raw) if piece[1]]


@_calls
def sendmsg(t: Thread, sock: NetlinkSocket, chan: Chan, msg: int, flags: int) -> int:
    aspace = t.process.aspace
    name, namelen, iov, iovlen, _, _, _ = _MSGHDR.unpack(aspace.read(msg, _MSGHDR.size))
    data = b"".join(aspace.read(base, length) for base, length in _vectors(t, iov, iovlen))
    return _send(t, sock, data[:MAX_IO], flags, (name, namelen))


def _receive(sock: NetlinkSocket, chan: Chan, count: int, flags: int) -> tuple[bytes, int, int]:
    try:
        return sock.receive(count, peek=bool(flags & MSG_PEEK))
    except WouldBlock:
        if flags & MSG_DONTWAIT:
            raise DeviceError("EAGAIN") from None
        raise


@_calls
def recvfrom(
    t: Thread, sock: NetlinkSocket, chan: Chan, buf: int, length: int, flags: int, addr: int, lenp: int
) -> int:
    length = min(length, MAX_IO)
    if not t.process.aspace.allows(buf, length, "write"):
        raise DeviceError("EFAULT")
    data, whole, sender = _receive(sock, chan, length, flags)
    t.process.aspace.write(buf, data)
    _write_name(t, addr, lenp, sender, 0)
    return whole if flags & MSG_TRUNC else len(data)


@_calls
def recvmsg(t: Thread, sock: NetlinkSocket, chan: Chan, msg: int, flags: int) -> int:
    aspace = t.process.aspace
    name, namelen, iov, iovlen, _, _, _ = _MSGHDR.unpack(aspace.read(msg, _MSGHDR.size))
    vectors = _vectors(t, iov, iovlen)
    for base, length in vectors:
        if not aspace.allows(base, length, "write"):
            raise DeviceError("EFAULT")
    data, whole, sender = _receive(sock, chan, min(sum(length for _, length in vectors), MAX_IO), flags)
    scatter(aspace, vectors, data)
    if name:
        address = struct.pack("<HHII", AF_NETLINK, 0, sender, 0)
        aspace.write(name, address[: max(0, min(namelen, SOCKADDR_NL))])
    aspace.write(msg + 8, struct.pack("<I", SOCKADDR_NL if name else 0))
    aspace.write(msg + 40, struct.pack("<Q", 0))  # msg_controllen: no control messages
    aspace.write(msg + 48, struct.pack("<i", MSG_TRUNC if whole > len(data) else 0))
    return whole if flags & MSG_TRUNC else len(data)


# --- options -----------------------------------------------------------------------------------


@_calls
def getsockopt(
    t: Thread, sock: NetlinkSocket, chan: Chan, level: int, name: int, value: int, lenp: int
) -> int:
    if level == SOL_SOCKET:
        if name == SO_ERROR:
            number, sock.error = (errno_of(sock.error) if sock.error else 0), ""
        else:
            answers = {SO_TYPE: sock.kind, SO_DOMAIN: AF_NETLINK, SO_PROTOCOL: sock.protocol}
            answers |= {SO_RCVBUF: sock.rcvbuf, SO_SNDBUF: sock.sndbuf}
            if name not in answers and name not in KEPT:
                raise DeviceError("ENOPROTOOPT")
            number = answers.get(name, sock.options.get((level, name), 0))
    elif level == SOL_NETLINK and name in NETLINK_OPTIONS:
        number = sock.options.get((level, name), 0)
    else:
        raise DeviceError("ENOPROTOOPT")
    aspace = t.process.aspace
    room = struct.unpack("<i", aspace.read(lenp, 4))[0]
    if room < 0:
        raise DeviceError("EINVAL")
    aspace.write(value, struct.pack("<i", number)[:room])
    aspace.write(lenp, struct.pack("<i", min(room, 4)))
    return 0


@_calls
def setsockopt(
    t: Thread, sock: NetlinkSocket, chan: Chan, level: int, name: int, value: int, length: int
) -> int:
    if length < 4:
        raise DeviceError("EINVAL")
    number = struct.unpack("<i", t.process.aspace.read(value, 4))[0]
    if level == SOL_SOCKET:
        if name in (SO_RCVBUF, SO_RCVBUFFORCE):
            asked = number if name == SO_RCVBUFFORCE else min(number, 212992)
            sock.rcvbuf = max(2304, min(asked, 1 << 30) * 2)  # Linux doubles what is asked
        elif name in (SO_SNDBUF, SO_SNDBUFFORCE):
            asked = number if name == SO_SNDBUFFORCE else min(number, 212992)
            sock.sndbuf = max(4608, min(asked, 1 << 30) * 2)
        elif name in KEPT:
            sock.options[(level, name)] = number
        else:
            raise DeviceError("ENOPROTOOPT")
    elif level == SOL_NETLINK and name in (NETLINK_ADD_MEMBERSHIP, NETLINK_DROP_MEMBERSHIP):
        if number <= 0 or number > 32:
            raise DeviceError("EINVAL")
        bit = 1 << (number - 1)
        sock.groups = sock.groups | bit if name == NETLINK_ADD_MEMBERSHIP else sock.groups & ~bit
    elif level == SOL_NETLINK and name in NETLINK_OPTIONS:
        sock.options[(level, name)] = int(bool(number))
    else:
        raise DeviceError("ENOPROTOOPT")
    return 0


#: The calls on a netlink socket's descriptor, by name (plugins/net/families.py sends them here).
CALLS: dict[str, Callable[..., Any]] = {
    "bind": bind,
    "connect": connect,
    "listen": unsupported,
    "accept": unsupported,
    "accept4": unsupported,
    "sendto": sendto,
    "recvfrom": recvfrom,
    "sendmsg": sendmsg,
    "recvmsg": recvmsg,
    "getsockopt": getsockopt,
    "setsockopt": setsockopt,
    "getsockname": getsockname,
    "getpeername": getpeername,
    "shutdown": unsupported,
}
