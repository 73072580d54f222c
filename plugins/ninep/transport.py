"""9P over TCP: a listening socket and its connections, driven by the kernel's host I/O."""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import socket
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from kernkit.core.options import format_size
from kernkit.plugins.ninep.server import Session, settled

if TYPE_CHECKING:
    from kernkit.core.hostio import HostIO
    from kernkit.core.kmem import KernelMemory

#: What one read of a connection takes at most: into the listener's buffer, from which the bytes
#: received are copied out (``sock.recv`` of this size would allocate it, then shrink it, per
#: read: 10 us more than a request's whole read on this host).
RECV_SIZE = 1 << 18
#: Reads of one connection in a row, without going back to epoll, while the client's next
#: request is found there as soon as its reply went (a client that waits for each reply and
#: ran while the reply was sent); bounded so that other descriptors and the guests get their
#: turn (32 requests of a listing are about a millisecond of the server's time).
EAGER_READS = 32
#: A look that finds nothing costs a failed recv (3.4 us with Python's exception), one that
#: finds the request saves a round through epoll (an epoll_wait and its dispatch, about as
#: much). Each look that finds something earns a credit (at most CREDIT_MAX), one that finds
#: nothing costs MISS_COST: the connection keeps looking while the credit is positive, that is
#: while fewer than about a fifth of the looks fail (a quick client's on a busy host: 1-2%).
#: Without credit it looks only once every PROBE_EVERY requests, until a look finds something.
CREDIT_MAX = 16
MISS_COST = 4
PROBE_EVERY = 16
#: Pieces given to one sendmsg: well under the host's IOV_MAX (1024 on Linux).
MAX_PIECES = 256


#: What a connection may hold unless the export says otherwise: replies waiting for the client
#: (one may pass it), and apart from them requests waiting to be handled.
MAX_BUFFER = 4 << 20
#: Clients served at once unless the export says otherwise; more are accepted and closed.
MAX_CONNECTIONS = 64
#: The kernel memory account's name for 9P buffers (core/kmem.py).
KMEM_OWNER = "9p"


class Connection:
    """One client: bytes in to its session, replies out, queued when the client is slow.

    Its memory is bounded: while its unsent replies fill ``max_buffer`` (one reply may pass it)
    no more requests are handled (they wait, unparsed), and a client whose unhandled requests
    pass ``max_buffer`` is disconnected. What it holds is charged to the kernel's memory; when
    that is full, it is disconnected too."""

    def __init__(self, listener: Listener, sock: socket.socket, session: Session) -> None:
        self.listener = listener
        self.sock = sock
        self.fd = sock.fileno()
        self.session = session
        #: replies waiting for the client, oldest first; ``queued`` bytes of them in all
        self.pending: deque[bytes | memoryview] = deque()
        self.queued = 0
        self.closed = False
        self.charged = 0
        #: how many more looks for the client's next request right after a reply may find
        #: nothing (see CREDIT_MAX): positive, the connection looks eagerly
        self.credit = 0
        self.probe = 1  # the first request is followed by a look
        listener.hostio.add_reader(self.fd, self._readable)

    def _readable(self) -> None:
        """Serve what the client sent; then, while looking again has lately found its next
        request already there, look again without a round through epoll (see EAGER_READS)."""
        sock, session, listener = self.sock, self.session, self.listener
        inbox = listener.inbox
        if self.credit > 0:
            looks = EAGER_READS
        else:
            self.probe -= 1
            looks = 1
            if self.probe <= 0:  # look once in a while whether the client is that quick now
                self.probe = PROBE_EVERY
                looks = 2
        look = 0
        while True:
            try:
                received = sock.recv_into(inbox)
            except BlockingIOError:
                if look:  # a look after a reply that found nothing
                    self.credit -= MISS_COST
                return
            except OSError:
                self.close()
                return
            if not received:
                self.close()
                return
            if look and self.credit < CREDIT_MAX:  # a look after a reply found the next request
                self.credit = max(self.credit, 0) + 1
            data = inbox[:received].tobytes()
            room = listener.max_buffer - self.queued
            if room <= 0:  # replies fill the buffer: the request waits, unparsed
                session.feed(data)
            else:
                parts, size = session.receive_parts(data, room)
                if parts:
                    self._send(parts, size)
            if session.buffered > listener.max_buffer:
                self.close(f"over its buffer limit ({format_size(listener.max_buffer)})")
                return
            if session.closed:
                self.close()
                return
            if self.charged or self.queued or session.buffered:
                if not self.closed:
                    self._account()
                return  # a slow client, or requests waiting: epoll says when to go on
            if self.closed:
                return
            look += 1
            if look == looks:
                return

    def _pump(self) -> None:
        """Handle waiting requests while the replies waiting to be sent leave room."""
        room = self.listener.max_buffer - self.queued
        if room > 0:
            parts, size = self.session.reply_parts(room)
            if parts:
                self._send(parts, size)
        if self.session.closed:
            self.close()
        elif not self.closed:
            self._account()

    def _account(self) -> None:
        """Charge (or give back) the kernel memory this connection's buffers now take."""
        held = self.queued + self.session.buffered
        kmem = self.listener.kmem
        if kmem is None:
            return
        if held > self.charged:
            if not kmem.charge(KMEM_OWNER, held - self.charged):
                self.close("the machine's memory is full")
                return
        else:
            kmem.release(KMEM_OWNER, self.charged - held)
        self.charged = held

    def _send(self, parts: list[bytes], size: int) -> None:
        """Send the pieces of replies in one gathering call, without joining them; what the
        socket does not take waits in ``pending``, not copied."""
        if not self.pending:
            try:
                sent = self._gather(parts)
            except BlockingIOError:
                sent = 0
            except OSError:
                self.close()
                return
            if sent == size:
                return
            parts = _after(parts, sent)
        # an empty piece would never go; a view of a file's frames waits as a copy, since the
        # guests may change the file before the socket takes it
        self.pending.extend(settled(part) for part in parts if len(part))
        self.queued += sum(map(len, parts))
        self.listener.hostio.add_writer(self.fd, self._writable)

    def _gather(self, parts: list[bytes | memoryview]) -> int:
        if len(parts) == 1:
            return self.sock.send(parts[0])
        if len(parts) > MAX_PIECES:
            return self.sock.send(b"".join(parts[:MAX_PIECES]))
        return self.sock.sendmsg(parts)

    def _writable(self) -> None:
        pending = self.pending
        while pending:
            head = list(itertools.islice(pending, MAX_PIECES))
            try:
                sent = self._gather(head)
            except BlockingIOError:
                break
            except OSError:
                self.close()
                return
            self.queued -= sent
            while pending and sent >= len(pending[0]):
                sent -= len(pending.popleft())
            if sent:
                pending[0] = memoryview(pending[0])[sent:]  # what is left of it, without moving it
                break
        if not pending:
            self.listener.hostio.remove_writer(self.fd)
        self._pump()  # requests held back while the replies filled the buffer

    def close(self, why: str | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        if why is not None:
            self.listener.report(f"closing connection: {why}")
        self.listener.hostio.remove_reader(self.fd)
        self.listener.hostio.remove_writer(self.fd)
        self.session.clunk_all()
        self.sock.close()
        self.pending.clear()
        self.queued = 0
        if self.listener.kmem is not None:
            self.listener.kmem.release(KMEM_OWNER, self.charged)
        self.charged = 0
        self.listener.connections.discard(self)
        self.listener.resume()


class Listener:
    """A TCP listening socket; each accepted connection gets a fresh session from ``new_session``.

    At most ``max_connections`` clients are served; one more is accepted and closed at once.
    When the host has no descriptor left for a new connection (EMFILE), the listener closes the
    one it keeps in reserve, takes the connection with it, closes it and opens the reserve
    again, so the client hears a close, the kernel goes on, and the listener does not spin."""

    def __init__(
        self,
        hostio: HostIO,
        host: str,
        port: int,
        new_session: Callable[[], Session],
        *,
        max_connections: int = MAX_CONNECTIONS,
        max_buffer: int = MAX_BUFFER,
        kmem: KernelMemory | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.hostio = hostio
        self.new_session = new_session
        self.max_connections = max_connections
        self.max_buffer = max_buffer
        self.kmem = kmem
        self.on_error = on_error
        self.connections: set[Connection] = set()
        #: where connections read into (one at a time: callbacks run on the kernel's thread)
        self.inbox = memoryview(bytearray(RECV_SIZE))
        self.refused = 0
        self._full = False  # said once per stretch of refusals, not once per client
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
        self._reserve = _open_reserve()
        self._paused = False
        hostio.add_reader(self.sock.fileno(), self._accept)

    def report(self, text: str) -> None:
        if self.on_error is not None:
            self.on_error(text)

    def _accept(self) -> None:
        try:
            sock, _ = self.sock.accept()
        except (BlockingIOError, ConnectionAbortedError):
            return
        except OSError as exc:
            if exc.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                self._refuse_without_descriptors(exc)
            return  # anything else concerns that one client, who is gone
        if len(self.connections) >= self.max_connections:
            self._refuse(sock, f"{self.max_connections} clients already (the export's limit)")
            return
        self._full = False
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.connections.add(Connection(self, sock, self.new_session()))

    def _refuse(self, sock: socket.socket, why: str) -> None:
        sock.close()
        self.refused += 1
        if not self._full:
            self._full = True
            self.report(f"refusing connections: {why}")

    def _refuse_without_descriptors(self, exc: OSError) -> None:
        why = f"no file descriptors left on the host ({exc.strerror})"
        if self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None
            with contextlib.suppress(OSError):
                sock, _ = self.sock.accept()
                self._refuse(sock, why)
            self._reserve = _open_reserve()
            if self._reserve is not None:
                return
        # no reserve to trade: stop watching the socket until a connection ends
        self.refused += 1
        if not self._full:
            self._full = True
            self.report(f"refusing connections: {why}")
        self._paused = True
        self.hostio.remove_reader(self.sock.fileno())

    def resume(self) -> None:
        """A connection ended: a listener paused for want of descriptors accepts again."""
        if self._paused and self.sock.fileno() >= 0:
            self._paused = False
            if self._reserve is None:
                self._reserve = _open_reserve()
            self.hostio.add_reader(self.sock.fileno(), self._accept)

    def close(self) -> None:
        for connection in list(self.connections):
            connection.close()
        self._paused = False
        self.hostio.remove_reader(self.sock.fileno())
        self.sock.close()
        if self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None


def _after(parts: list[bytes], sent: int) -> list[bytes | memoryview]:
    """What is left of ``parts`` once their first ``sent`` bytes went out (views, no copies)."""
    index = 0
    while sent >= len(parts[index]):
        sent -= len(parts[index])
        index += 1
    rest: list[bytes | memoryview] = list(parts[index:])
    if sent:
        rest[0] = memoryview(rest[0])[sent:]
    return rest


def _open_reserve() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
