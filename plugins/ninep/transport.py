"""9P over TCP: a listening socket and its connections, driven by the kernel's host I/O."""

from __future__ import annotations

import errno
import ipaddress
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from kernkit.core.devices import decimal
from kernkit.plugins.ninep.server import Session

if TYPE_CHECKING:
    from kernkit.core.hostio import HostIO

RECV_SIZE = 1 << 18
#: Stop reading a client's requests while this much of its replies waits to be sent.
MAX_PENDING = 4 << 20


def parse_address(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) -> (host, port); ValueError saying what is wrong."""
    host, sep, port = text.rpartition(":")
    if not sep or not host:
        raise ValueError(f"expected HOST:PORT such as 127.0.0.1:5640, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not decimal(port) or not 0 <= int(port) <= 65535:
        raise ValueError(f"port must be a number from 0 to 65535, got {port!r}")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Connection:
    """One client: bytes in to its session, replies out, queued when the client is slow."""

    def __init__(self, listener: Listener, sock: socket.socket, session: Session) -> None:
        self.listener = listener
        self.sock = sock
        self.fd = sock.fileno()
        self.session = session
        self.pending = bytearray()
        self.closed = False
        listener.hostio.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        try:
            data = self.sock.recv(RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        if not data:
            self.close()
            return
        reply = self.session.receive(data)
        if reply:
            self._send(reply)
        if self.session.closed:
            self.close()

    def _send(self, data: bytes) -> None:
        if not self.pending:
            try:
                sent = self.sock.send(data)
            except BlockingIOError:
                sent = 0
            except OSError:
                self.close()
                return
            data = data[sent:]
        if data:
            self.pending += data
            self.listener.hostio.add_writer(self.fd, self._writable)
            if len(self.pending) > MAX_PENDING:
                self.listener.hostio.remove_reader(self.fd)

    def _writable(self) -> None:
        try:
            sent = self.sock.send(self.pending)
        except BlockingIOError:
            return
        except OSError:
            self.close()
            return
        del self.pending[:sent]
        if not self.pending:
            self.listener.hostio.remove_writer(self.fd)
            if not self.closed:
                self.listener.hostio.add_reader(self.fd, self._readable)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.listener.hostio.remove_reader(self.fd)
        self.listener.hostio.remove_writer(self.fd)
        self.session.clunk_all()
        self.sock.close()
        self.listener.connections.discard(self)


class Listener:
    """A TCP listening socket; each accepted connection gets a fresh session from ``new_session``."""

    def __init__(self, hostio: HostIO, host: str, port: int, new_session: Callable[[], Session]) -> None:
        self.hostio = hostio
        self.new_session = new_session
        self.connections: set[Connection] = set()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind((host, port))
            self.sock.listen(16)
        except OSError as exc:
            self.sock.close()
            reason = "address already in use" if exc.errno == errno.EADDRINUSE else exc.strerror
            raise OSError(exc.errno, f"cannot listen on {host}:{port}: {reason}") from None
        self.sock.setblocking(False)
        self.address: tuple[str, int] = self.sock.getsockname()[:2]
        hostio.add_reader(self.sock.fileno(), self._accept)

    def _accept(self) -> None:
        try:
            sock, _ = self.sock.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections.add(Connection(self, sock, self.new_session()))

    def close(self) -> None:
        for connection in list(self.connections):
            connection.close()
        self.hostio.remove_reader(self.sock.fileno())
        self.sock.close()
