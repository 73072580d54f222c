"""socketpair(AF_UNIX, SOCK_STREAM): two connected Unix stream sockets, made of a ``#pipe``
whose two ends are both opened for reading and writing (a Plan 9 pipe is already a two-way
stream: what one end writes, the other reads). read, write, poll, epoll, close and fork work on
them as on any pipe end; the socket calls here act on them as Linux's do on a connected, unnamed
Unix stream socket (send, recv, sendmsg and recvmsg without ancillary data, shutdown, the
options a program asks about, empty names). Not modelled: named AF_UNIX sockets (bind, connect
to a path), datagram and seqpacket pairs, passing descriptors (SCM_RIGHTS), MSG_PEEK."""

from __future__ import annotations

import functools
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import ORDWR, Chan, DeviceError
from kernkit.core.errnos import (
    EAFNOSUPPORT,
    EFAULT,
    EINVAL,
    EISCONN,
    EMFILE,
    ENOPROTOOPT,
    EOPNOTSUPP,
    EPROTONOSUPPORT,
    errno_of,
)
from kernkit.plugins.linux_abi.api import O_NONBLOCK, sys_read, write_fd
from kernkit.plugins.ns.api import enter, shutdown_end

if TYPE_CHECKING:
    from kernkit.core.process import Thread

AF_UNIX, AF_INET = 1, 2
SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC = 1, 0o4000, 0o2000000
MSG_PEEK, MSG_DONTWAIT, MSG_NOSIGNAL = 0x2, 0x40, 0x4000
SOL_SOCKET = 1
SO_ERROR, SO_TYPE, SO_SNDBUF, SO_RCVBUF, SO_PROTOCOL, SO_DOMAIN = 4, 3, 7, 8, 38, 39
#: What one direction holds (a pipe's capacity, devpipe.CAPACITY), as SO_SNDBUF/SO_RCVBUF say.
BUFFER = 64 * 1024
_MSGHDR = struct.Struct("<QI4xQQQQi4x")


def is_end(file: Any) -> bool:
    """Whether an open file is one end of a socketpair (a #pipe end open for both directions;
    pipe(2)'s ends are open for one each)."""
    return type(file) is Chan and getattr(file.driver, "name", "") == "pipe" and file.mode & 3 == ORDWR


def either(inet: Callable[..., Any], pair: Callable[..., Any]) -> Callable[..., Any]:
    """A socket call that acts on socketpair ends with ``pair`` and on the rest with ``inet``."""

    @functools.wraps(inet)
    def call(t: Thread, fd: int, *args: int) -> Any:
        return (pair if is_end(t.process.files.get(fd)) else inet)(t, fd, *args)

    return call


def sys_socketpair(t: Thread, domain: int, kind: int, protocol: int, sv: int) -> int:
    if domain != AF_UNIX:
        return -EOPNOTSUPP if domain == AF_INET else -EAFNOSUPPORT
    if kind & ~(0xF | SOCK_NONBLOCK | SOCK_CLOEXEC):
        return -EINVAL
    if kind & 0xF != SOCK_STREAM or protocol:
        return -EPROTONOSUPPORT
    if not t.process.aspace.allows(sv, 8, "write"):
        return -EFAULT
    files = t.process.files
    if len(files) + 2 > files.limit:
        return -EMFILE
    namespace = enter(t.process).namespace
    try:
        pipe = namespace.devices.attach("#pipe")
        walk = pipe.driver.walk
        ends = [namespace.open(walk(pipe, name, caller=t), ORDWR, caller=t) for name in ("data", "data1")]
    except DeviceError as exc:
        return -errno_of(exc.code)
    numbers = []
    for end in ends:
        end.path = "#pipe/" + ("data" if not numbers else "data1")
        end.flags = ORDWR | (O_NONBLOCK if kind & SOCK_NONBLOCK else 0)
        numbers.append(files.install(end, cloexec=bool(kind & SOCK_CLOEXEC)))
    t.process.aspace.write(sv, struct.pack("<ii", *numbers))
    return 0


def _without_waiting(t: Thread, fd: int, call: Callable[[], int | None], dontwait: bool) -> int | None:
    """``call()`` with the descriptor non-blocking for its duration when ``dontwait``."""
    file = t.process.files.get(fd)
    if not dontwait or file.flags & O_NONBLOCK:
        return call()
    file.flags |= O_NONBLOCK
    try:
        return call()
    finally:
        file.flags &= ~O_NONBLOCK


def _vectors(t: Thread, iov: int, count: int) -> list[tuple[int, int]] | int:
    if count < 0 or count > 1024:
        return -EINVAL
    raw = t.process.aspace.read(iov, 16 * count)
    return [piece for piece in struct.iter_unpack("<QQ", raw) if piece[1]]


def _each(
    t: Thread, fd: int, vectors: list[tuple[int, int]], flags: int, move: Callable[[int, int], int | None]
) -> int | None:
    """Move bytes through each buffer in turn: the first may wait, the others do not; a short
    or refused move after the first ends the call with what was moved."""
    done = 0
    for index, (base, length) in enumerate(vectors):
        moved = _without_waiting(
            t,
            fd,
            lambda base=base, length=length: move(base, length),
            index > 0 or bool(flags & MSG_DONTWAIT),
        )
        if moved is None or (isinstance(moved, int) and moved < 0):
            return moved if index == 0 else done
        done += moved
        if moved < length:
            break
    return done


def _unnamed(t: Thread, address: int, lenp: int) -> None:
    """The name of an unnamed Unix socket: just the family (2 bytes)."""
    if address and lenp:
        room = max(0, struct.unpack("<i", t.process.aspace.read(lenp, 4))[0])
        t.process.aspace.write(address, struct.pack("<H", AF_UNIX)[: min(room, 2)])
        t.process.aspace.write(lenp, struct.pack("<i", 2))


def sendto(t: Thread, fd: int, buf: int, length: int, flags: int, addr: int, addrlen: int) -> int | None:
    if addr:
        return -EISCONN
    send = functools.partial(write_fd, t, fd, sigpipe=not flags & MSG_NOSIGNAL)
    return _without_waiting(t, fd, lambda: send(buf, length), bool(flags & MSG_DONTWAIT))


def recvfrom(t: Thread, fd: int, buf: int, length: int, flags: int, addr: int, lenp: int) -> int | None:
    if flags & MSG_PEEK:
        return -EOPNOTSUPP
    got = _without_waiting(t, fd, lambda: sys_read(t, fd, buf, length), bool(flags & MSG_DONTWAIT))
    if addr and lenp and isinstance(got, int) and got >= 0:
        t.process.aspace.write(lenp, struct.pack("<i", 0))  # the peer has no name
    return got


def sendmsg(t: Thread, fd: int, msg: int, flags: int) -> int | None:
    name, _, iov, iovlen, _, controllen, _ = _MSGHDR.unpack(t.process.aspace.read(msg, _MSGHDR.size))
    if name:
        return -EISCONN
    if controllen:
        return -EOPNOTSUPP  # passing descriptors or credentials
    vectors = _vectors(t, iov, iovlen)
    if isinstance(vectors, int):
        return vectors
    sigpipe = not flags & MSG_NOSIGNAL
    return _each(t, fd, vectors, flags, lambda base, length: write_fd(t, fd, base, length, sigpipe=sigpipe))


def recvmsg(t: Thread, fd: int, msg: int, flags: int) -> int | None:
    if flags & MSG_PEEK:
        return -EOPNOTSUPP
    aspace = t.process.aspace
    _, _, iov, iovlen, _, _, _ = _MSGHDR.unpack(aspace.read(msg, _MSGHDR.size))
    vectors = _vectors(t, iov, iovlen)
    if isinstance(vectors, int):
        return vectors
    got = _each(t, fd, vectors, flags, lambda base, length: sys_read(t, fd, base, length))
    if isinstance(got, int) and got >= 0:
        aspace.write(msg + 8, struct.pack("<I", 0))  # msg_namelen: the peer has no name
        aspace.write(msg + 40, struct.pack("<Q", 0))  # msg_controllen: no ancillary data
        aspace.write(msg + 48, struct.pack("<i", 0))  # msg_flags
    return got


def getsockopt(t: Thread, fd: int, level: int, name: int, value: int, lenp: int) -> int:
    answers = {SO_TYPE: SOCK_STREAM, SO_DOMAIN: AF_UNIX, SO_PROTOCOL: 0, SO_ERROR: 0}
    answers |= {SO_SNDBUF: BUFFER, SO_RCVBUF: BUFFER}
    if level != SOL_SOCKET or name not in answers:
        return -ENOPROTOOPT
    aspace = t.process.aspace
    room = struct.unpack("<i", aspace.read(lenp, 4))[0]
    if room < 0:
        return -EINVAL
    aspace.write(value, struct.pack("<i", answers[name])[: min(room, 4)])
    aspace.write(lenp, struct.pack("<i", min(room, 4)))
    return 0


def setsockopt(t: Thread, fd: int, level: int, name: int, value: int, length: int) -> int:
    if level != SOL_SOCKET:
        return -ENOPROTOOPT
    return -EINVAL if length < 4 else 0  # buffer sizes, keepalive...: nothing to change on a pipe


def getsockname(t: Thread, fd: int, addr: int, lenp: int) -> int:
    _unnamed(t, addr, lenp)
    return 0


def shutdown(t: Thread, fd: int, how: int) -> int:
    if how not in (0, 1, 2):
        return -EINVAL
    shutdown_end(t.process.files.get(fd), how)
    return 0


def connect(t: Thread, fd: int, addr: int, addrlen: int) -> int:
    return -EISCONN


#: The socket calls by name, for sockets.py's table.
PAIR_CALLS = {
    "sendto": sendto,
    "recvfrom": recvfrom,
    "sendmsg": sendmsg,
    "recvmsg": recvmsg,
    "getsockopt": getsockopt,
    "setsockopt": setsockopt,
    "getsockname": getsockname,
    "getpeername": getsockname,
    "shutdown": shutdown,
    "connect": connect,
}
SYSCALLS = ((53, "socketpair", sys_socketpair, 4),)
