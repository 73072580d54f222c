"""BSD sockets over the network plugin's conversations (AF_INET and AF_INET6 TCP, UDP, UDP-Lite).

A socket is an open channel on a conversation's ``data`` file of ``#ip`` (``/net/tcp/N/data``),
so read, write, close, dup, fork, fstat (S_IFSOCK) and poll work on it as on any channel, and the
conversation shows under /net while the socket lives. The calls here act on the conversation:
bind, listen (announce), connect, accept (a call from the listener's queue), shutdown, options.
Waiting is the usual WouldBlock: the thread sleeps on the conversation's queue and the call runs
again when woken (EAGAIN instead with O_NONBLOCK or MSG_DONTWAIT).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kernkit.core.devices import ORDWR, Chan, DeviceError, WouldBlock
from kernkit.core.errnos import (
    EAFNOSUPPORT,
    EAGAIN,
    EBADF,
    EFAULT,
    EINVAL,
    EMFILE,
    ENOPROTOOPT,
    ENOTCONN,
    ENOTSOCK,
    EOPNOTSUPP,
    EPIPE,
    EPROTONOSUPPORT,
    errno_of,
)
from kernkit.core.errors import BadAddress
from kernkit.core.wait import Finish, WaitQueue
from kernkit.plugins.linux_abi.api import O_NONBLOCK, scatter, sigpipe
from kernkit.plugins.net import families, inet6, udplite, unix
from kernkit.plugins.net.devip import DATA
from kernkit.plugins.net.stack import ANY6

if TYPE_CHECKING:
    from kernkit.core.process import Thread
    from kernkit.plugins.net.stack import Conv

AF_UNIX, AF_INET, AF_INET6 = 1, 2, 10
SOCK_STREAM, SOCK_DGRAM = 1, 2
SOCK_NONBLOCK, SOCK_CLOEXEC = 0o4000, 0o2000000
MSG_PEEK, MSG_DONTWAIT, MSG_WAITALL, MSG_NOSIGNAL = 0x2, 0x40, 0x100, 0x4000
SOL_SOCKET, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_IP = 1, 6, 17, 0
SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_KEEPALIVE = 2, 3, 4, 7, 8, 9
SO_LINGER, SO_REUSEPORT, SO_ACCEPTCONN, SO_PROTOCOL, SO_DOMAIN = 13, 15, 30, 38, 39
MSG_TRUNC = 0x20
TCP_NODELAY = 1
MAX_IO = 1 << 24


def _read_sockaddr(
    t: Thread, conv: Conv, address: int, length: int, purpose: str = "connect"
) -> tuple[str, int] | int:
    if length < 0 or length > 128:
        return -EINVAL
    raw = t.process.aspace.read(address, min(length, inet6.SOCKADDR_IN6))
    return inet6.decode(conv, raw, length, purpose)


def _write_sockaddr(t: Thread, conv: Conv, address: int, lenp: int, addr: str, port: int) -> None:
    """Store the socket's sockaddr at ``address``, at most ``*lenp`` bytes; ``*lenp`` becomes its size."""
    if not address or not lenp:
        return
    aspace = t.process.aspace
    room = max(0, struct.unpack("<i", aspace.read(lenp, 4))[0])
    data = inet6.sockaddr(inet6.family_of(conv), addr, port)
    aspace.write(address, data[: min(room, len(data))])
    aspace.write(lenp, struct.pack("<i", len(data)))


def _driver(t: Thread):  # noqa: ANN202 - the #ip driver, or None without the net plugin
    if "ip" not in t.kernel.registries["device"]:
        return None
    from kernkit.plugins.ns.api import devices

    return devices(t.kernel).driver("ip")


def _sock(t: Thread, fd: int) -> tuple[Chan, Conv] | int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    if type(file) is not Chan or getattr(file.driver, "name", "") != "ip" or file.aux[2] != DATA:
        return -ENOTSOCK
    return file, file.aux[1]


def _wait(
    t: Thread, chan: Chan, blocked: WouldBlock, flags: int = 0, finish: Finish | None = None
) -> int | None:
    """EAGAIN for a non-blocking call, else sleep: woken, the call runs again, or with
    ``finish`` completes in the wake (see WaitQueue.sleep)."""
    if chan.flags & O_NONBLOCK or flags & MSG_DONTWAIT:
        return -EAGAIN
    blocked.queue.sleep(t, restart=finish is None, finish=finish)
    return None


def _completing(call: Callable[[], int]) -> Callable[[], int | WaitQueue | None]:
    """A blocked call's ``call()``, run in its wake: the queue to sleep on again if it would
    still wait, EFAULT for a buffer that went away meanwhile."""

    def complete() -> int | WaitQueue | None:
        try:
            return call()
        except WouldBlock as blocked:
            return blocked.queue
        except BadAddress:
            return -EFAULT

    return complete


def _install(t: Thread, chan: Chan, flags: int) -> int:
    chan.flags = ORDWR | (O_NONBLOCK if flags & SOCK_NONBLOCK else 0)
    number = t.process.files.install(chan, cloexec=bool(flags & SOCK_CLOEXEC))
    if number < 0:
        chan.close()
        return -EMFILE
    return number


# --- making and naming sockets ---------------------------------------------------------------


def sys_socket(t: Thread, domain: int, kind: int, protocol: int) -> int:
    if domain not in (AF_INET, AF_INET6):
        return -EAFNOSUPPORT
    base = kind & 0xF
    if kind & ~(0xF | SOCK_NONBLOCK | SOCK_CLOEXEC):
        return -EINVAL
    if base == SOCK_STREAM and protocol in (0, IPPROTO_TCP):
        proto = "tcp"
    elif base == SOCK_DGRAM and protocol in (0, IPPROTO_UDP, udplite.IPPROTO_UDPLITE):
        proto = "udp"
    else:
        return -EPROTONOSUPPORT
    driver = _driver(t)
    if driver is None:
        return -EAFNOSUPPORT
    if len(t.process.files) >= t.process.files.limit:
        return -EMFILE
    try:
        conv = driver.stack.new_conv(proto, owner=t.process.name)
    except DeviceError as exc:
        return -errno_of(exc.code)
    conv.lite = protocol == udplite.IPPROTO_UDPLITE
    conv.write_once_after_close = True
    if domain == AF_INET6:
        conv.wildcard = conv.laddr = conv.raddr = ANY6
    return _install(t, driver.open_conv_file(conv, DATA, ORDWR), kind)


def sys_bind(t: Thread, fd: int, addr: int, addrlen: int) -> int:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    where = _read_sockaddr(t, found[1], addr, addrlen, "bind")
    if isinstance(where, int):
        return where
    try:
        found[1].bind(*where)
    except DeviceError as exc:
        return -errno_of(exc.code)
    return 0


def sys_listen(t: Thread, fd: int, backlog: int) -> int:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    conv = found[1]
    if conv.proto != "tcp":
        return -EOPNOTSUPP
    backlog = backlog - (1 << 32) if backlog >= 1 << 31 else backlog
    try:
        conv.announce(backlog if backlog > 0 else conv.stack.max_backlog)
    except DeviceError as exc:
        return -errno_of(exc.code)
    return 0


def sys_connect(t: Thread, fd: int, addr: int, addrlen: int) -> int | None:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    chan, conv = found
    if conv.proto == "udp" and addrlen >= 2 and t.process.aspace.read(addr, 2) == bytes(2):
        conv.disconnect()  # AF_UNSPEC
        return 0
    where = _read_sockaddr(t, conv, addr, addrlen)
    if isinstance(where, int):
        return where
    try:
        conv.connect(*where)
    except DeviceError as exc:
        return -errno_of(exc.code)
    except WouldBlock as blocked:
        return _wait(t, chan, blocked)
    return 0


def sys_accept4(t: Thread, fd: int, addr: int, lenp: int, flags: int) -> int | None:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    chan, conv = found
    if flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC):
        return -EINVAL
    if addr and not t.process.aspace.allows(addr, 16, "write"):
        return -EFAULT
    try:
        return _accepted(t, chan, conv, addr, lenp, flags)
    except DeviceError as exc:
        return -errno_of(exc.code)
    except WouldBlock as blocked:
        finish = _completing(lambda: _accepted(t, chan, conv, addr, lenp, flags, errors=True))
        return _wait(t, chan, blocked, finish=Finish(finish, (fd, addr, lenp, flags)))


def _accepted(
    t: Thread, chan: Chan, conv: Conv, addr: int, lenp: int, flags: int, errors: bool = False
) -> int:
    """Take a call from the listener as a new descriptor (WouldBlock: none is waiting); with
    ``errors``, a refusal is the call's errno rather than a DeviceError."""
    if len(t.process.files) >= t.process.files.limit:
        return -EMFILE
    try:
        accepted = conv.accept()
    except DeviceError as exc:
        if not errors:
            raise
        return -errno_of(exc.code)
    accepted.wildcard, accepted.v6only, accepted.write_once_after_close = conv.wildcard, conv.v6only, True
    number = _install(t, chan.driver.open_conv_file(accepted, DATA, ORDWR), flags)
    if number >= 0:
        _write_sockaddr(t, accepted, addr, lenp, accepted.raddr, accepted.rport)
    return number


def sys_accept(t: Thread, fd: int, addr: int, lenp: int) -> int | None:
    return sys_accept4(t, fd, addr, lenp, 0)


def _name(t: Thread, fd: int, addr: int, lenp: int, peer: bool) -> int:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    conv = found[1]
    if peer:
        if not conv.rport or conv.peer is None and conv.proto == "tcp":
            return -ENOTCONN
        _write_sockaddr(t, conv, addr, lenp, conv.raddr, conv.rport)
    else:
        _write_sockaddr(t, conv, addr, lenp, conv.laddr, conv.lport)
    return 0


def sys_getsockname(t: Thread, fd: int, addr: int, lenp: int) -> int:
    return _name(t, fd, addr, lenp, False)


def sys_getpeername(t: Thread, fd: int, addr: int, lenp: int) -> int:
    return _name(t, fd, addr, lenp, True)


def sys_shutdown(t: Thread, fd: int, how: int) -> int:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    if how not in (0, 1, 2):
        return -EINVAL
    try:
        found[1].shutdown(how)
    except DeviceError as exc:
        return -errno_of(exc.code)
    return 0


# --- moving bytes ----------------------------------------------------------------------------


def _send(
    t: Thread,
    chan: Chan,
    conv: Conv,
    data: bytes,
    flags: int,
    to: tuple[str, int] | None,
    control: Sequence[tuple[int, int, bytes]] = (),
) -> int | None:
    try:
        if conv.proto == "udp":
            meta = inet6.send_meta(conv, control)
            if isinstance(meta, int):
                return meta
            if to is None and not conv.rport:
                raise DeviceError("EDESTADDRREQ", f"udp/{conv.index} is not connected (use sendto)")
            return conv.send_datagram(data, *(to or (conv.raddr, conv.rport)), meta)
        return conv.write(data)
    except DeviceError as exc:
        if exc.code == "EPIPE":
            if not flags & MSG_NOSIGNAL:
                sigpipe(t)
            return -EPIPE
        return -errno_of(exc.code)
    except WouldBlock as blocked:
        return _wait(t, chan, blocked, flags)


def sys_sendto(t: Thread, fd: int, buf: int, length: int, flags: int, addr: int, addrlen: int) -> int | None:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    chan, conv = found
    to = None
    if addr and conv.proto == "udp":
        to = _read_sockaddr(t, conv, addr, addrlen, "send")
        if isinstance(to, int):
            return to
    return _send(t, chan, conv, t.process.aspace.read(buf, min(length, MAX_IO)), flags, to)


def _receive(
    t: Thread, chan: Chan, conv: Conv, count: int, flags: int, finish: Finish | None = None
) -> tuple[bytes, str, int] | int | None:
    try:
        return _take(conv, count, flags)
    except WouldBlock as blocked:
        return _wait(t, chan, blocked, flags, finish)


def _take(conv: Conv, count: int, flags: int) -> tuple[bytes, str, int] | int:
    """What a receive takes from ``conv`` now: (data, source, port) or an errno (WouldBlock:
    nothing yet)."""
    try:
        if conv.proto == "udp":
            source, port, data = conv.recv_datagram(count, peek=bool(flags & MSG_PEEK))
            return data, source, port
        if flags & MSG_PEEK:
            if not conv.rx:
                conv.raise_pending_reset()
                if not (conv.rx_eof or conv.rd_shut or conv.reset):
                    raise WouldBlock(conv.queue)
            return conv.rx.peek(count), conv.raddr, conv.rport
        ended = conv.rx_eof or conv.reset or conv.rd_shut
        if flags & MSG_WAITALL and len(conv.rx) < min(count, conv.rcvbuf) and not ended:
            raise WouldBlock(conv.queue)
        return conv.read(count), conv.raddr, conv.rport
    except DeviceError as exc:
        return -errno_of(exc.code)


def sys_recvfrom(t: Thread, fd: int, buf: int, length: int, flags: int, addr: int, lenp: int) -> int | None:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    chan, conv = found
    length = min(length, MAX_IO)
    aspace = t.process.aspace
    if not aspace.allows(buf, length, "write"):
        return -EFAULT
    try:
        got = _take(conv, length, flags)
    except WouldBlock as blocked:
        finish = _completing(lambda: _received(t, conv, _take(conv, length, flags), buf, addr, lenp))
        return _wait(t, chan, blocked, flags, Finish(finish, (fd, buf, length, flags, addr, lenp)))
    return _received(t, conv, got, buf, addr, lenp)


def _received(
    t: Thread, conv: Conv, got: tuple[bytes, str, int] | int, buf: int, addr: int, lenp: int
) -> int:
    if isinstance(got, int):
        return got
    data, source, port = got
    t.process.aspace.write(buf, data)
    if addr:
        _write_sockaddr(t, conv, addr, lenp, source, port)
    return len(data)


_MSGHDR = struct.Struct("<QI4xQQQQi4x")


def _iov(t: Thread, iov: int, count: int) -> list[tuple[int, int]] | int:
    if count < 0 or count > 1024:
        return -EINVAL
    raw = t.process.aspace.read(iov, 16 * count)
    return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(count)]


def sys_sendmsg(t: Thread, fd: int, msg: int, flags: int) -> int | None:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    chan, conv = found
    name, namelen, iov, iovlen, control, controllen, _ = _MSGHDR.unpack(
        t.process.aspace.read(msg, _MSGHDR.size)
    )
    vectors = _iov(t, iov, iovlen)
    if isinstance(vectors, int):
        return vectors
    raw_control = t.process.aspace.read(control, min(controllen, 1 << 16)) if control else b""
    items = inet6.control_messages(raw_control)
    if isinstance(items, int):
        return items
    if any(level == SOL_SOCKET for level, _, _ in items):
        return -EINVAL  # SCM_RIGHTS and the like are for AF_UNIX sockets
    data = b"".join(t.process.aspace.read(base, length) for base, length in vectors if length)
    to = None
    if name and conv.proto == "udp":
        to = _read_sockaddr(t, conv, name, namelen, "send")
        if isinstance(to, int):
            return to
    return _send(t, chan, conv, data[:MAX_IO], flags, to, items)


def sys_recvmsg(t: Thread, fd: int, msg: int, flags: int) -> int | None:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    chan, conv = found
    aspace = t.process.aspace
    name, namelen, iov, iovlen, control, controllen, _ = _MSGHDR.unpack(aspace.read(msg, _MSGHDR.size))
    vectors = _iov(t, iov, iovlen)
    if isinstance(vectors, int):
        return vectors
    for base, length in vectors:
        if length and not aspace.allows(base, length, "write"):
            return -EFAULT
    total = min(sum(length for _, length in vectors), MAX_IO)
    whole = len(conv.datagrams[0][2]) if conv.proto == "udp" and conv.datagrams else 0
    got = _receive(t, chan, conv, total, flags)
    if got is None or isinstance(got, int):
        return got
    data, source, port = got
    scatter(aspace, vectors, data)
    if name:
        address = inet6.sockaddr(inet6.family_of(conv), source, port)
        aspace.write(name, address[: min(namelen, len(address))])
        aspace.write(msg + 8, struct.pack("<I", len(address)))
    items = inet6.received_items(conv, conv.laddr if conv.laddr != ANY6 else "::1")
    stored, msg_flags = inet6.pack_control(items, controllen if control else 0)
    if stored:
        aspace.write(control, stored)
    aspace.write(msg + 40, struct.pack("<Q", len(stored)))  # msg_controllen
    aspace.write(msg + 48, struct.pack("<i", msg_flags | (MSG_TRUNC if whole > len(data) else 0)))
    return len(data)


# --- options ---------------------------------------------------------------------------------


def sys_setsockopt(t: Thread, fd: int, level: int, name: int, value: int, length: int) -> int:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    conv = found[1]
    if length < 4 or length > 64:
        return -EINVAL
    raw = t.process.aspace.read(value, min(length, 8))
    number = struct.unpack_from("<i", raw)[0]
    if level == SOL_SOCKET and name in (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE, SO_SNDBUF):
        pass
    elif level == SOL_SOCKET and name == SO_RCVBUF:
        conv.rcvbuf = max(4096, min(number * 2, 64 << 20))  # Linux doubles what is asked
        number = conv.rcvbuf
    elif level == SOL_SOCKET and name == SO_LINGER:
        if length < 8:
            return -EINVAL
        onoff, seconds = struct.unpack_from("<ii", raw)
        conv.linger_reset = bool(onoff) and seconds == 0
    elif level == IPPROTO_TCP and name == TCP_NODELAY and conv.proto == "tcp":
        pass
    elif level == IPPROTO_IP:
        pass  # TTL, TOS, ...: nothing to do on loopback
    elif level == inet6.IPPROTO_IPV6 and inet6.is_inet6(conv):
        return inet6.setsockopt(conv, name, number)
    elif level in udplite.LEVELS and conv.proto == "udp":
        return udplite.setsockopt(conv, name, number)
    else:
        return -ENOPROTOOPT
    conv.options[(level, name)] = number
    return 0


def sys_getsockopt(t: Thread, fd: int, level: int, name: int, value: int, lenp: int) -> int:
    found = _sock(t, fd)
    if isinstance(found, int):
        return found
    conv = found[1]
    aspace = t.process.aspace
    room = struct.unpack("<i", aspace.read(lenp, 4))[0]
    if room < 0:
        return -EINVAL
    if level == SOL_SOCKET and name == SO_ERROR:
        number, conv.error = errno_of(conv.error) if conv.error else 0, ""
    elif level == SOL_SOCKET and name == SO_TYPE:
        number = SOCK_STREAM if conv.proto == "tcp" else SOCK_DGRAM
    elif level == SOL_SOCKET and name == SO_RCVBUF:
        number = conv.rcvbuf
    elif level == SOL_SOCKET and name == SO_SNDBUF:
        number = conv.options.get((level, name), conv.stack.buffer)
    elif level == SOL_SOCKET and name == SO_ACCEPTCONN:
        number = int(conv.state == "Listen")
    elif level == SOL_SOCKET and name == SO_DOMAIN:
        number = inet6.family_of(conv)
    elif level == SOL_SOCKET and name == SO_PROTOCOL:
        number = IPPROTO_TCP if conv.proto == "tcp" else udplite.IPPROTO_UDPLITE if conv.lite else IPPROTO_UDP
    elif level == inet6.IPPROTO_IPV6 and inet6.is_inet6(conv):
        number = inet6.getsockopt(conv, name)
    elif level in udplite.LEVELS and conv.proto == "udp":
        number = udplite.getsockopt(conv, name)
    elif level == SOL_SOCKET and name == SO_LINGER:
        data = struct.pack("<ii", int(conv.linger_reset), 0)
        aspace.write(value, data[: min(room, 8)])
        aspace.write(lenp, struct.pack("<i", min(room, 8)))
        return 0
    elif level in (SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP):
        known = (level, name) in conv.options or level != SOL_SOCKET
        if not known and name not in (SO_REUSEADDR, SO_REUSEPORT, SO_KEEPALIVE):
            return -ENOPROTOOPT
        number = conv.options.get((level, name), 0)
    else:
        return -ENOPROTOOPT
    if number < 0:
        return number  # the option's errno
    data = struct.pack("<i", number)
    aspace.write(value, data[: min(room, 4)])
    aspace.write(lenp, struct.pack("<i", min(room, 4)))
    return 0


_INET_CALLS = (
    (41, "socket", sys_socket, 3),
    (42, "connect", sys_connect, 3),
    (43, "accept", sys_accept, 3),
    (44, "sendto", sys_sendto, 6),
    (45, "recvfrom", sys_recvfrom, 6),
    (46, "sendmsg", sys_sendmsg, 3),
    (47, "recvmsg", sys_recvmsg, 3),
    (48, "shutdown", sys_shutdown, 2),
    (49, "bind", sys_bind, 3),
    (50, "listen", sys_listen, 2),
    (51, "getsockname", sys_getsockname, 3),
    (52, "getpeername", sys_getpeername, 3),
    (54, "setsockopt", sys_setsockopt, 5),
    (55, "getsockopt", sys_getsockopt, 5),
    (288, "accept4", sys_accept4, 4),
)
#: AF_UNIX and AF_NETLINK sockets and their calls are unix.py's and netlink.py's (families.py
#: chooses); the rest are the calls above.
SYSCALLS = (
    tuple((number, name, families.dispatch(name, call), nargs) for number, name, call, nargs in _INET_CALLS)
    + unix.SYSCALLS
)
