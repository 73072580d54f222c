"""The socket calls on AF_UNIX sockets (plugins/net/unixsock.py has the sockets themselves):
socket and socketpair (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET), bind to a path (a socket file
in the namespace), to an abstract name or to a name of the kernel's choosing, listen, connect,
accept, datagrams to and from names, names, options (SO_PASSCRED, SO_PEERCRED, ...), shutdown,
and descriptors and credentials passed in control messages (plugins/net/scm.py)."""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import DMSOCKET, OWRITE, Chan, DeviceError, WouldBlock
from kernkit.core.errnos import EAFNOSUPPORT, EAGAIN, EFAULT, EMFILE, EOPNOTSUPP, errno_of
from kernkit.plugins.linux_abi.api import O_NONBLOCK, scatter, sigpipe
from kernkit.plugins.net import scm
from kernkit.plugins.net.unixsock import (
    AF_UNIX,
    NOBODY,
    SOCK_DGRAM,
    SOCK_SEQPACKET,
    SOCK_STREAM,
    SOMAXCONN,
    UnixDevice,
    UnixSocket,
    creds_of_caller,
    unnamed,
)
from kernkit.plugins.ns.api import devices, enter

if TYPE_CHECKING:
    from kernkit.core.process import Thread

AF_UNSPEC, AF_INET, AF_NETLINK = 0, 2, 16
SOCK_NONBLOCK, SOCK_CLOEXEC = 0o4000, 0o2000000
MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT, MSG_WAITALL, MSG_NOSIGNAL = 0x2, 0x20, 0x40, 0x100, 0x4000
SOL_SOCKET = 1
SO_REUSEADDR, SO_TYPE, SO_ERROR, SO_SNDBUF, SO_RCVBUF, SO_PASSCRED, SO_PEERCRED = 2, 3, 4, 7, 8, 16, 17
SO_ACCEPTCONN, SO_PROTOCOL, SO_DOMAIN = 30, 38, 39
#: sizeof(struct sockaddr_un): the family and 108 bytes of path.
SOCKADDR_UN = 110
MAX_IO = 1 << 24
_MSGHDR = struct.Struct("<QI4xQQQQi4x")


def _device(t: Thread) -> UnixDevice:
    return devices(t.kernel).driver("unix")


def is_unix(file: Any) -> bool:
    return type(file) is Chan and isinstance(file.driver, UnixDevice) and file.aux is not None


def _calls(function: Callable[..., Any]) -> Callable[..., Any]:
    """A handler on a Unix socket's descriptor: ``function(t, sock, chan, ...)``; DeviceError
    becomes its errno, WouldBlock a wait (EAGAIN when non-blocking)."""

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


def _install(t: Thread, sock: UnixSocket, flags: int) -> int:
    chan = _device(t).open_socket(sock)
    chan.flags = 2 | (O_NONBLOCK if flags & SOCK_NONBLOCK else 0)
    number = t.process.files.install(chan, cloexec=bool(flags & SOCK_CLOEXEC))
    if number < 0:
        chan.close()
        return -EMFILE
    return number


def _kind(kind: int, protocol: int) -> int:
    if kind & ~(0xF | SOCK_NONBLOCK | SOCK_CLOEXEC):
        raise DeviceError("EINVAL")
    if protocol not in (0, AF_UNIX):
        raise DeviceError("EPROTONOSUPPORT")
    if kind & 0xF not in (SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET):
        raise DeviceError("ESOCKTNOSUPPORT")
    return kind & 0xF


def sys_socket(t: Thread, domain: int, kind: int, protocol: int) -> int:
    try:
        base = _kind(kind, protocol)
    except DeviceError as exc:
        return -errno_of(exc.code)
    if len(t.process.files) >= t.process.files.limit:
        return -EMFILE
    return _install(t, UnixSocket(_device(t), base, creds_of_caller(t)), kind)


def sys_socketpair(t: Thread, domain: int, kind: int, protocol: int, sv: int) -> int:
    if domain != AF_UNIX:
        return -EOPNOTSUPP if domain in (AF_INET, AF_NETLINK) else -EAFNOSUPPORT
    try:
        base = _kind(kind, protocol)
    except DeviceError as exc:
        return -errno_of(exc.code)
    if not t.process.aspace.allows(sv, 8, "write"):
        return -EFAULT
    files = t.process.files
    if len(files) + 2 > files.limit:
        return -EMFILE
    creds = creds_of_caller(t)
    ends = UnixSocket(_device(t), base, creds), UnixSocket(_device(t), base, creds)
    for one, other in (ends, ends[::-1]):
        one.peer, one.connected, one.peercred = other, True, creds
    numbers = [_install(t, end, kind) for end in ends]
    t.process.aspace.write(sv, struct.pack("<ii", *numbers))
    return 0


# --- names -------------------------------------------------------------------------------------


def _address(t: Thread, addr: int, length: int) -> bytes:
    """The sockaddr_un at ``addr``: its family and name, ``length`` bytes."""
    if length < 2 or length > SOCKADDR_UN:
        raise DeviceError("EINVAL", "a sockaddr_un's length")
    raw = t.process.aspace.read(addr, length)
    if struct.unpack_from("<H", raw)[0] != AF_UNIX:
        raise DeviceError("EINVAL", "not AF_UNIX")
    return raw


def _path(raw: bytes) -> bytes:
    """A path name's bytes: up to the first NUL."""
    return raw[2:].split(b"\0", 1)[0]


def _walk(t: Thread, path: bytes) -> tuple[Any, Chan | None]:
    view = enter(t.process)
    text = path.decode("utf-8", "surrogateescape")
    return view, (None if text.startswith("/") else view.cwd)


def _find(t: Thread, raw: bytes, kind: int) -> UnixSocket:
    """The socket a name leads to: ECONNREFUSED where none is bound, EPROTOTYPE for another kind."""
    device = _device(t)
    if len(raw) == 2 or raw[2] == 0:
        found = device.abstract.get(raw[2:])
    else:
        path = _path(raw)
        view, start = _walk(t, path)
        chan = view.namespace.walk(path.decode("utf-8", "surrogateescape"), start, caller=t)
        if not chan.driver.stat(chan, caller=t).mode & DMSOCKET:
            raise DeviceError("ECONNREFUSED")
        found = device.files.get(chan.key)
    if found is None or found.closed:
        raise DeviceError("ECONNREFUSED")
    if found.kind != kind:
        raise DeviceError("EPROTOTYPE")
    return found


@_calls
def bind(t: Thread, sock: UnixSocket, chan: Chan, addr: int, length: int) -> int:
    raw = _address(t, addr, length)
    device = _device(t)
    if len(raw) == 2:
        if not sock.address:  # a bound socket keeps its name
            device.autobind(sock)
    elif raw[2] == 0:
        if sock.address:
            raise DeviceError("EINVAL", "already bound")
        device.bind_abstract(sock, raw[2:])
    else:
        path = _path(raw)
        view, start = _walk(t, path)
        namespace = view.namespace
        directory, name = namespace.walk_parent(path.decode("utf-8", "surrogateescape"), start, caller=t)
        if not name:
            raise DeviceError("EINVAL")
        if namespace.walk1(directory, name) is not None:
            raise DeviceError("EADDRINUSE")
        perm = DMSOCKET | (0o777 & ~t.process.data.get("umask", 0o022))
        try:
            made = namespace.create(directory, name, OWRITE, perm, caller=t)
        except DeviceError as exc:
            raise DeviceError("EADDRINUSE" if exc.code == "EEXIST" else exc.code) from None
        key = made.key
        made.close()
        if sock.address:  # Linux makes the file first, then finds the socket named
            namespace.remove(namespace.walk1(directory, name), caller=t)
            raise DeviceError("EINVAL", "already bound")
        device.bind_file(sock, key, path)
    return 0


def _write_name(t: Thread, address: int, lenp: int, name: bytes) -> None:
    if not address or not lenp:
        return
    aspace = t.process.aspace
    room = struct.unpack("<i", aspace.read(lenp, 4))[0]
    if room < 0:
        raise DeviceError("EINVAL")
    aspace.write(address, (name or unnamed())[:room])
    aspace.write(lenp, struct.pack("<i", len(name or unnamed())))


@_calls
def getsockname(t: Thread, sock: UnixSocket, chan: Chan, address: int, lenp: int) -> int:
    _write_name(t, address, lenp, sock.address)
    return 0


@_calls
def getpeername(t: Thread, sock: UnixSocket, chan: Chan, address: int, lenp: int) -> int:
    if sock.peer is None or sock.kind != SOCK_DGRAM and not sock.connected:
        raise DeviceError("ENOTCONN")
    _write_name(t, address, lenp, sock.peer.address)
    return 0


# --- connections -------------------------------------------------------------------------------


@_calls
def listen(t: Thread, sock: UnixSocket, chan: Chan, backlog: int) -> int:
    if sock.kind == SOCK_DGRAM:
        raise DeviceError("EOPNOTSUPP")
    if not sock.address or sock.connected:
        raise DeviceError("EINVAL")
    sock.backlog = min(backlog & 0xFFFFFFFF, SOMAXCONN)
    sock.creds = creds_of_caller(t)
    sock.changed()
    return 0


@_calls
def connect(t: Thread, sock: UnixSocket, chan: Chan, addr: int, length: int) -> int:
    if (
        sock.kind == SOCK_DGRAM
        and length >= 2
        and struct.unpack("<H", t.process.aspace.read(addr, 2))[0] == AF_UNSPEC
    ):
        sock.peer = None
        return 0
    raw = _address(t, addr, length)
    target = _find(t, raw, sock.kind)
    if sock.passcred and not sock.address:
        _device(t).autobind(sock)
    if sock.kind == SOCK_DGRAM:
        if target.peer is not None and target.peer is not sock:
            raise DeviceError("EPERM")
        sock.peer = target
        return 0
    sock.connect(target, creds_of_caller(t))
    return 0


@_calls
def accept4(t: Thread, sock: UnixSocket, chan: Chan, addr: int, lenp: int, flags: int) -> int:
    if flags & ~(SOCK_NONBLOCK | SOCK_CLOEXEC):
        raise DeviceError("EINVAL")
    if sock.kind == SOCK_DGRAM:
        raise DeviceError("EOPNOTSUPP")
    if len(t.process.files) >= t.process.files.limit:
        raise DeviceError("EMFILE")
    server = sock.accept()
    number = _install(t, server, flags)
    if number >= 0 and server.peer is not None:
        _write_name(t, addr, lenp, server.peer.address)
    return number


def accept(t: Thread, fd: int, addr: int, lenp: int) -> int | None:
    return accept4(t, fd, addr, lenp, 0)


@_calls
def shutdown(t: Thread, sock: UnixSocket, chan: Chan, how: int) -> int:
    if how not in (0, 1, 2):
        raise DeviceError("EINVAL")
    sock.shutdown(how)
    return 0


# --- moving bytes ------------------------------------------------------------------------------


def _send(
    t: Thread,
    sock: UnixSocket,
    chan: Chan,
    data: bytes,
    flags: int,
    name: tuple[int, int],
    control: tuple[int, int],
) -> int:
    """Send to the peer, or to the name at ``name`` (address, length: a stream refuses one, a
    seqpacket socket ignores it, as Linux's do)."""
    to = None
    if name[0] and name[1]:
        if sock.kind == SOCK_STREAM:
            raise DeviceError("EISCONN" if sock.connected else "EOPNOTSUPP")
        if sock.kind == SOCK_DGRAM:
            to = _find(t, _address(t, *name), SOCK_DGRAM)
    files, creds = scm.parse(t, *control)
    if sock.kind == SOCK_DGRAM and sock.passcred and not sock.address:
        _device(t).autobind(sock)
    try:
        return sock.send(data, files, creds or creds_of_caller(t), to)
    except WouldBlock:
        if flags & MSG_DONTWAIT:
            raise DeviceError("EAGAIN") from None
        raise
    except DeviceError as exc:
        if exc.code == "EPIPE" and not flags & MSG_NOSIGNAL:
            sigpipe(t)
        if exc.code == "ECONNREFUSED" and to is None:
            sock.peer = None  # a datagram socket whose peer went is no longer connected
        raise


@_calls
def sendto(
    t: Thread, sock: UnixSocket, chan: Chan, buf: int, length: int, flags: int, addr: int, addrlen: int
) -> int:
    data = t.process.aspace.read(buf, min(length, MAX_IO))
    return _send(t, sock, chan, data, flags, (addr, addrlen), (0, 0))


@_calls
def sendmsg(t: Thread, sock: UnixSocket, chan: Chan, msg: int, flags: int) -> int:
    aspace = t.process.aspace
    name, namelen, iov, iovlen, control, controllen, _ = _MSGHDR.unpack(aspace.read(msg, _MSGHDR.size))
    vectors = _vectors(t, iov, iovlen)
    data = b"".join(aspace.read(base, length) for base, length in vectors)
    return _send(t, sock, chan, data[:MAX_IO], flags, (name, namelen), (control, controllen))


def _vectors(t: Thread, iov: int, count: int) -> list[tuple[int, int]]:
    if count < 0 or count > 1024:
        raise DeviceError("EINVAL")
    raw = t.process.aspace.read(iov, 16 * count)
    return [piece for piece in struct.iter_unpack("<QQ", raw) if piece[1]]


def _receive(sock: UnixSocket, chan: Chan, count: int, flags: int):  # noqa: ANN202 - a Received
    if flags & MSG_DONTWAIT and not chan.flags & O_NONBLOCK:
        try:
            return sock.receive(count, peek=bool(flags & MSG_PEEK), waitall=False)
        except WouldBlock:
            raise DeviceError("EAGAIN") from None
    return sock.receive(count, peek=bool(flags & MSG_PEEK), waitall=bool(flags & MSG_WAITALL))


def _result(sock: UnixSocket, got: Any, flags: int) -> int:
    return got.length if flags & MSG_TRUNC and sock.kind != SOCK_STREAM else len(got.data)


@_calls
def recvfrom(
    t: Thread, sock: UnixSocket, chan: Chan, buf: int, length: int, flags: int, addr: int, lenp: int
) -> int:
    length = min(length, MAX_IO)
    if not t.process.aspace.allows(buf, length, "write"):
        raise DeviceError("EFAULT")
    got = _receive(sock, chan, length, flags)
    scm.drop(got.files, got.owned)
    t.process.aspace.write(buf, got.data)
    if addr and lenp:
        if got.sender:
            _write_name(t, addr, lenp, got.sender)
        else:
            t.process.aspace.write(lenp, struct.pack("<i", 0))
    return _result(sock, got, flags)


@_calls
def recvmsg(t: Thread, sock: UnixSocket, chan: Chan, msg: int, flags: int) -> int:
    aspace = t.process.aspace
    name, namelen, iov, iovlen, control, controllen, _ = _MSGHDR.unpack(aspace.read(msg, _MSGHDR.size))
    vectors = _vectors(t, iov, iovlen)
    for base, length in vectors:
        if not aspace.allows(base, length, "write"):
            raise DeviceError("EFAULT")
    got = _receive(sock, chan, min(sum(length for _, length in vectors), MAX_IO), flags)
    scatter(aspace, vectors, got.data)
    out_flags = MSG_TRUNC if got.length > len(got.data) else 0
    sender = got.sender if name else b""
    if sender:
        aspace.write(name, sender[: min(namelen, len(sender))])
    aspace.write(msg + 8, struct.pack("<I", len(sender)))
    creds = got.creds if sock.passcred and got.creds is not None else None
    used, control_flags = scm.deliver(
        t, control, controllen, creds, got.files, owned=got.owned, cloexec=bool(flags & scm.MSG_CMSG_CLOEXEC)
    )
    aspace.write(msg + 40, struct.pack("<Q", used))
    aspace.write(msg + 48, struct.pack("<i", out_flags | control_flags))
    return _result(sock, got, flags)


# --- options -----------------------------------------------------------------------------------


def _answer(t: Thread, value: int, lenp: int, data: bytes) -> int:
    aspace = t.process.aspace
    room = struct.unpack("<i", aspace.read(lenp, 4))[0]
    if room < 0:
        raise DeviceError("EINVAL")
    aspace.write(value, data[:room])
    aspace.write(lenp, struct.pack("<i", min(room, len(data))))
    return 0


@_calls
def getsockopt(t: Thread, sock: UnixSocket, chan: Chan, level: int, name: int, value: int, lenp: int) -> int:
    if level != SOL_SOCKET:
        raise DeviceError("EOPNOTSUPP")
    if name == SO_PEERCRED:
        pid, uid, gid = sock.peercred or NOBODY
        return _answer(t, value, lenp, struct.pack("<iII", pid, uid & 0xFFFFFFFF, gid & 0xFFFFFFFF))
    if name == SO_ERROR:
        number, sock.error = (errno_of(sock.error) if sock.error else 0), ""
    else:
        answers = {SO_TYPE: sock.kind, SO_DOMAIN: AF_UNIX, SO_PROTOCOL: 0, SO_PASSCRED: int(sock.passcred)}
        answers |= {SO_ACCEPTCONN: int(sock.listening), SO_SNDBUF: 212992, SO_RCVBUF: 212992}
        answers |= sock.options
        if name not in answers and name not in KEPT:
            raise DeviceError("ENOPROTOOPT")
        number = answers.get(name, 0)
    return _answer(t, value, lenp, struct.pack("<i", number))


#: Options Linux keeps for any socket, which change nothing for a Unix one.
KEPT = (SO_REUSEADDR, 9, 10, 12, 15, 20, 21)  # KEEPALIVE, OOBINLINE, PRIORITY, REUSEPORT, RCVTIMEO, SNDTIMEO


@_calls
def setsockopt(
    t: Thread, sock: UnixSocket, chan: Chan, level: int, name: int, value: int, length: int
) -> int:
    if level != SOL_SOCKET:
        raise DeviceError("EOPNOTSUPP")
    if length < 4:
        raise DeviceError("EINVAL")
    number = struct.unpack("<i", t.process.aspace.read(value, 4))[0]
    if name == SO_PASSCRED:
        sock.passcred = bool(number)
    elif name in (SO_SNDBUF, SO_RCVBUF):
        sock.options[name] = max(4608 if name == SO_RCVBUF else 2304, min(number, 212992) * 2)
    elif name in KEPT:
        sock.options[name] = number
    else:
        raise DeviceError("ENOPROTOOPT")
    return 0


#: The calls on a Unix socket's descriptor, by name (plugins/net/families.py sends them here).
CALLS: dict[str, Callable[..., Any]] = {
    "bind": bind,
    "connect": connect,
    "listen": listen,
    "accept": accept,
    "accept4": accept4,
    "sendto": sendto,
    "recvfrom": recvfrom,
    "sendmsg": sendmsg,
    "recvmsg": recvmsg,
    "getsockopt": getsockopt,
    "setsockopt": setsockopt,
    "getsockname": getsockname,
    "getpeername": getpeername,
    "shutdown": shutdown,
}


SYSCALLS = ((53, "socketpair", sys_socketpair, 4),)
