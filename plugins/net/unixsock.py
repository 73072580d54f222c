"""Unix domain sockets as Linux has them: the ``#unix`` device, whose open channels are sockets.

A socket (:class:`UnixSocket`) is a receive queue of messages, each with its bytes, the files
passed with it (SCM_RIGHTS, held while in flight), the sender's credentials and the sender's
name. SOCK_STREAM reads run across messages (never past one that carried files, nor, with
SO_PASSCRED, across writers); SOCK_SEQPACKET and SOCK_DGRAM read one message at a time.
Names are a kernel-wide table (:class:`UnixDevice`): abstract names (a leading NUL) by their
bytes, path names by the socket file bind made (the file's identity, so an unlinked or
replaced file no longer leads to the socket). Waiting is WouldBlock on the socket's queue
(a full peer: the peer's queue), as for every device.
"""

from __future__ import annotations

import itertools
import struct
from collections import deque
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import (
    CLOSED,
    DMDIR,
    DMSOCKET,
    ORDWR,
    POLLERR,
    POLLHUP,
    POLLIN,
    POLLOUT,
    POLLRDHUP,
    QTDIR,
    QTFILE,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    Qid,
    WouldBlock,
)
from kernkit.core.files import hold, release
from kernkit.core.wait import WaitQueue, wake_pollers
from kernkit.plugins.linux_abi.api import creds_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

AF_UNIX = 1
SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET = 1, 2, 5
RCV_SHUTDOWN, SEND_SHUTDOWN = 1, 2
#: What a socket's receive queue holds, in bytes (Linux's default socket buffer, 208 KiB).
BUFFER = 212992
#: Datagrams queued for a socket from senders it is not connected to (net.unix.max_dgram_qlen).
MAX_DGRAM_QLEN = 10
#: Listen's backlog at most (net.core.somaxconn).
SOMAXCONN = 4096
#: pid, uid, gid: who sent a message, or who is at the other end (SO_PEERCRED).
Creds = tuple[int, int, int]
NOBODY: Creds = (0, 65534, 65534)


class Message:
    __slots__ = ("data", "files", "creds", "sender", "taken")

    def __init__(self, data: bytes, files: list[Any], creds: Creds, sender: bytes, taken: int = 0) -> None:
        self.data = data
        #: Open files passed with the message, each held once while in flight.
        self.files = files
        self.creds = creds
        #: The sender's name as a sockaddr_un (b"": the sender has none).
        self.sender = sender
        #: Bytes of a stream message already read.
        self.taken = taken


class Received:
    __slots__ = ("data", "files", "owned", "creds", "sender", "length")

    def __init__(
        self,
        data: bytes,
        files: list[Any],
        owned: bool,
        creds: Creds | None,
        sender: bytes,
        length: int,
    ) -> None:
        self.data = data
        self.files = files
        #: Whether the receiver now owns the files' in-flight holds (False after MSG_PEEK).
        self.owned = owned
        self.creds = creds
        self.sender = sender
        #: The whole message's length (a datagram longer than the buffer is truncated).
        self.length = length


class UnixSocket:
    def __init__(self, device: UnixDevice, kind: int, creds: Creds) -> None:
        self.device = device
        self.kind = kind
        self.number = next(device.numbers)
        #: The name bound, as a sockaddr_un (b"": none).
        self.address = b""
        self.peer: UnixSocket | None = None
        self.connected = False
        self.backlog = -1  # listening when >= 0
        self.pending: deque[UnixSocket] = deque()
        self.queue: deque[Message] = deque()
        self.queued = 0
        self.shut = 0
        self.error = ""
        self.passcred = False
        self.creds = creds
        self.peercred: Creds | None = None
        self.closed = False
        #: Where the name lives in the device's tables (abstract bytes or a file's key).
        self.key: Any = None
        self.options: dict[int, int] = {}
        self.waiters = WaitQueue(device.kernel)

    @property
    def listening(self) -> bool:
        return self.backlog >= 0

    def changed(self) -> None:
        if len(self.waiters):
            self.waiters.wake(len(self.waiters))
        wake_pollers(self.device.kernel)

    def take_error(self) -> None:
        if self.error:
            error, self.error = self.error, ""
            raise DeviceError(error)

    # --- sending ------------------------------------------------------------------------------

    def send(self, data: bytes, files: list[Any], creds: Creds, to: UnixSocket | None = None) -> int:
        """Queue ``data`` (and ``files``, held from now on when it is queued) for the peer, or
        for ``to`` (a datagram socket's destination); the bytes taken."""
        if self.kind == SOCK_DGRAM:
            return self._send_datagram(data, files, creds, to)
        if self.kind == SOCK_SEQPACKET:
            self.take_error()  # a seqpacket send reports the reset first (a stream's, EPIPE)
        if self.listening or not self.connected:
            raise DeviceError("ENOTCONN")
        peer = self.peer
        if self.shut & SEND_SHUTDOWN or peer is None or peer.closed:
            raise DeviceError("EPIPE")
        if self.kind == SOCK_SEQPACKET:
            if len(data) > BUFFER - 32:
                raise DeviceError("EMSGSIZE")
            if peer.queued and peer.queued + len(data) > BUFFER:
                raise WouldBlock(peer.waiters)
            peer.deliver(Message(data, files, creds, self.address))
            return len(data)
        if not data:
            return 0  # a stream sends no empty message, nor the files of one
        room = BUFFER - peer.queued
        if room <= 0:
            raise WouldBlock(peer.waiters)
        peer.deliver(Message(data[:room], files, creds, self.address))
        return min(room, len(data))

    def _send_datagram(self, data: bytes, files: list[Any], creds: Creds, to: UnixSocket | None) -> int:
        other = to or self.peer
        if other is None:
            raise DeviceError("ENOTCONN")
        if other.closed:
            raise DeviceError("ECONNREFUSED")
        if other.peer is not None and other.peer is not self:
            raise DeviceError("EPERM")
        if self.shut & SEND_SHUTDOWN or other.shut & RCV_SHUTDOWN:
            raise DeviceError("EPIPE")
        if len(data) > BUFFER - 32:
            raise DeviceError("EMSGSIZE")
        full = other.queued and other.queued + len(data) > BUFFER
        if full or (other.peer is not self and len(other.queue) > MAX_DGRAM_QLEN):
            raise WouldBlock(other.waiters)
        other.deliver(Message(data, files, creds, self.address))
        return len(data)

    def deliver(self, message: Message) -> None:
        for file in message.files:
            hold(file)
        self.queue.append(message)
        self.queued += len(message.data)
        self.changed()

    # --- receiving ----------------------------------------------------------------------------

    def receive(self, count: int, *, peek: bool = False, waitall: bool = False) -> Received:
        if self.listening:
            raise DeviceError("ENOTCONN" if self.kind == SOCK_SEQPACKET else "EINVAL")
        if not self.queue:
            self.take_error()
            if self.shut & RCV_SHUTDOWN:
                return Received(b"", [], False, None, b"", 0)
            if self.kind == SOCK_SEQPACKET and not self.connected:
                raise DeviceError("ENOTCONN")
            if self.kind == SOCK_STREAM and not self.connected:
                raise DeviceError("EINVAL")
            raise WouldBlock(self.waiters)
        if self.kind != SOCK_STREAM:
            return self._receive_message(count, peek)
        ended = self.shut & RCV_SHUTDOWN or self.error or any(message.files for message in self.queue)
        if waitall and not peek and self.queued < min(count, BUFFER) and not ended:
            raise WouldBlock(self.waiters)
        return self._receive_stream(count, peek)

    def _receive_message(self, count: int, peek: bool) -> Received:
        message = self.queue[0]
        if not peek:
            self._consume(message, len(message.data))
        return Received(
            message.data[:count], message.files, not peek, message.creds, message.sender, len(message.data)
        )

    def _receive_stream(self, count: int, peek: bool) -> Received:
        data = bytearray()
        files: list[Any] = []
        creds = None
        sender = b""
        for message in list(self.queue):
            if len(data) >= count:
                break
            if creds is not None and self.passcred and message.creds != creds:
                break  # never glue what different writers sent
            if creds is None:
                creds, sender = message.creds, message.sender
            chunk = message.data[message.taken : message.taken + count - len(data)]
            data += chunk
            files = message.files
            if not peek:
                message.files = []
                self._consume(message, len(chunk))
                if message.taken < len(message.data):
                    break
            if files:
                break  # the files go with the bytes they came with
        return Received(bytes(data), files, not peek, creds, sender, len(data))

    def _consume(self, message: Message, count: int) -> None:
        message.taken += count
        self.queued -= count
        if message.taken >= len(message.data):
            self.queue.popleft()
        self.changed()
        if self.peer is not None and self.peer is not self:
            self.peer.changed()  # a writer waiting for room sleeps on this queue; pollers look again

    # --- connections --------------------------------------------------------------------------

    def connect(self, target: UnixSocket, creds: Creds) -> None:
        """A stream or seqpacket connection to the listening ``target``: a new socket, queued on
        the listener until accepted, is this one's peer."""
        if target.kind != self.kind:
            raise DeviceError("EPROTOTYPE")
        if not target.listening or target.closed:
            raise DeviceError("ECONNREFUSED")
        if len(target.pending) > target.backlog:  # Linux waits for room before it looks at this socket
            raise WouldBlock(target.waiters)
        if self.listening:
            raise DeviceError("EINVAL")
        if self.connected:
            raise DeviceError("EISCONN")
        server = UnixSocket(self.device, self.kind, target.creds)
        server.address = target.address
        server.peer, server.connected, server.peercred = self, True, creds
        server.passcred = target.passcred
        self.peer, self.connected, self.peercred = server, True, target.creds
        target.pending.append(server)
        target.changed()

    def accept(self) -> UnixSocket:
        if not self.listening:
            raise DeviceError("EINVAL")
        if not self.pending:
            raise WouldBlock(self.waiters)
        server = self.pending.popleft()
        self.changed()
        return server

    def shutdown(self, how: int) -> None:
        mode = how + 1  # SHUT_RD 0, SHUT_WR 1, SHUT_RDWR 2 -> RCV, SEND, both
        self.shut |= mode
        peer = self.peer
        if peer is not None and self.kind != SOCK_DGRAM:
            peer.shut |= (SEND_SHUTDOWN if mode & RCV_SHUTDOWN else 0) | (
                RCV_SHUTDOWN if mode & SEND_SHUTDOWN else 0
            )
            peer.changed()
        self.changed()

    def close(self, embryo: bool = False) -> None:
        """The last descriptor went (or, for an ``embryo``, its listener closed before it was
        accepted): in-flight files are let go, the peer hears of it."""
        self.closed = True
        self.device.forget(self)
        unread = bool(self.queue)
        while self.queue:
            for file in self.queue.popleft().files:
                release(file)
        self.queued = 0
        embryos = bool(self.pending)
        while self.pending:
            self.pending.popleft().close(embryo=True)  # connections never accepted are reset
        peer = self.peer
        if peer is not None and self.kind != SOCK_DGRAM:
            peer.shut = RCV_SHUTDOWN | SEND_SHUTDOWN
            if unread or embryos or embryo:
                peer.error = "ECONNRESET"
            peer.changed()
        self.changed()

    def poll(self) -> int:
        ready = POLLERR if self.error else 0
        if self.shut == RCV_SHUTDOWN | SEND_SHUTDOWN:
            ready |= POLLHUP
        if self.shut & RCV_SHUTDOWN:
            ready |= POLLIN | POLLRDHUP
        if self.queue or self.pending:
            ready |= POLLIN
        if self.kind != SOCK_DGRAM and not self.connected and not self.listening:
            ready |= POLLHUP
        if self.listening:
            return ready
        other = self.peer
        if other is None or other.closed or self.shut & SEND_SHUTDOWN:
            return ready | POLLOUT
        if self.kind == SOCK_DGRAM and other.peer is not self and len(other.queue) > MAX_DGRAM_QLEN:
            return ready
        return ready | (POLLOUT if other.queued * 4 <= BUFFER else 0)


def unnamed() -> bytes:
    """The name of a socket that has none: the family alone."""
    return struct.pack("<H", AF_UNIX)


class UnixDevice(DeviceDriver):
    """``#unix``: every socket is an open channel of this device; the names bound are here."""

    reads_finish_in_wake = True

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.numbers = itertools.count(1)
        self.abstract: dict[bytes, UnixSocket] = {}
        self.files: dict[Any, UnixSocket] = {}
        self._autobind = itertools.count(0)

    def open_socket(self, sock: UnixSocket) -> Chan:
        chan = Chan(self, Qid(sock.number, 0, QTFILE), 0, sock)
        chan.mode = ORDWR
        return chan

    # --- names --------------------------------------------------------------------------------

    def bind_abstract(self, sock: UnixSocket, name: bytes) -> None:
        if name in self.abstract:
            raise DeviceError("EADDRINUSE")
        self.abstract[name] = sock
        sock.key = name
        sock.address = unnamed() + name

    def autobind(self, sock: UnixSocket) -> None:
        """A free abstract name of five hex digits, as Linux gives an unnamed socket."""
        for _ in range(0x100000):
            name = b"\0%05x" % (next(self._autobind) & 0xFFFFF)
            if name not in self.abstract:
                self.bind_abstract(sock, name)
                return
        raise DeviceError("ENOSPC")

    def bind_file(self, sock: UnixSocket, key: Any, path: bytes) -> None:
        self.files[key] = sock
        sock.key = key
        sock.address = unnamed() + path + b"\0"

    def forget(self, sock: UnixSocket) -> None:
        table = self.abstract if isinstance(sock.key, bytes) else self.files
        if sock.key is not None and table.get(sock.key) is sock:
            del table[sock.key]

    # --- the device ---------------------------------------------------------------------------

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#unix takes no spec (got {spec!r})")
        return Chan(self, Qid(0, 0, QTDIR), 0, None)

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        sock = chan.aux
        if sock is None:
            return Dir("#unix", chan.qid, DMDIR | 0o555)
        return Dir(str(sock.number), chan.qid, DMSOCKET | 0o777, sock.queued)

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        return []

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        got = chan.aux.receive(count)
        for file in got.files if got.owned else ():
            release(file)  # read(2) has nowhere to put passed descriptors
        return got.data

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        return chan.aux.send(data, [], creds_of_caller(caller))

    def poll(self, chan: Chan) -> int:
        return POLLIN if chan.aux is None else chan.aux.poll()

    def close(self, chan: Chan) -> None:
        if chan.aux is not None:
            chan.mode = CLOSED
            chan.aux.close()

    def linux_ioctl(self, t: Thread, chan: Chan, request: int, arg: int) -> int | None:
        """The interface ioctls, which Linux answers on a Unix socket too (musl asks one)."""
        if chan.aux is None:
            return None
        from kernkit.plugins.net import ifreq

        return ifreq.ioctl(t, AF_UNIX, request, arg)


def creds_of_caller(caller: Thread | None) -> Creds:
    """The pid, uid and gid a message from ``caller`` carries."""
    if caller is None:
        return (0, 0, 0)
    creds = creds_of(caller.process)
    return (caller.process.pid, creds.euid, creds.egid)
