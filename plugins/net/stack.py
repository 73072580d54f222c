"""The in-kernel transport: conversations (Plan 9's name for connections) of TCP and UDP.

The stack moves streams, not segments. A TCP conversation owns a receive buffer of at most
``[net] buffer`` bytes (:mod:`~kernkit.plugins.net.rxqueue`); a write goes into the peer's
buffer as far as it has room and waits (the writer's thread sleeps on the peer's wait queue)
when it has none, which is TCP's flow control as a user sees it: ordered bytes, no loss, a
writer held back by a slow reader. Connect finds the listener at once (loopback has no round
trip): no listener is ECONNREFUSED, a full backlog makes the caller wait. Closing with unread
input resets the peer (Linux sends RST); otherwise the peer reads its remaining bytes, then end
of file; shutdown closes one direction.
UDP conversations queue datagrams, dropping what does not fit, as UDP may.

Nothing here makes segments; an observer set as ``Stack.tap`` (the ether plugin's IP capture)
is told what a wire would have carried: ``tcp_open(client, server)``, ``tcp_data(src, dst,
bytes)``, ``tcp_fin(src, dst)``, ``tcp_reset(src, dst)`` and ``udp(src, dst, bytes)``, each
endpoint an (address, port) pair. Without one (the default) nothing is called.

A peer is either another conversation or a host connection (:mod:`kernkit.plugins.net.host`),
which has the same ``rx``/``rcvbuf``/``queue``/``notify`` surface. Errors are DeviceError with
POSIX names; waiting is WouldBlock with a WaitQueue, so callers (the #ip device, sockets) stay
independent of how a thread sleeps.
"""

from __future__ import annotations

import ipaddress
from collections import deque
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import POLLERR, POLLHUP, POLLIN, POLLOUT, POLLRDHUP, DeviceError, WouldBlock
from kernkit.core.state import Slot
from kernkit.core.wait import WaitQueue, wake_pollers
from kernkit.plugins.net.hostmalloc import keep_heap
from kernkit.plugins.net.rxqueue import RxQueue

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

PROTOCOLS = ("tcp", "udp")
EPHEMERAL_FIRST, EPHEMERAL_LAST = 49152, 65535
ANY = "0.0.0.0"
ANY6 = "::"  # IPv6's wildcard; an AF_INET6 socket's v4-mapped addresses are IPv4 ones here
WILDCARDS = (ANY, ANY6)
DEFAULT_META = (64, 0)  # what a datagram carries besides its bytes: hop limit, traffic class

# conversation states, as /net/tcp/N/status names them
CLOSED, ANNOUNCED, LISTEN, ESTABLISHED, CLOSING = "Closed", "Announced", "Listen", "Established", "Closing"


#: Bytes waiting in conversations are the kernel's memory (core/kmem.py), charged under this name.
KMEM_OWNER = "socket"


class Conv:
    """One conversation: a TCP connection or listener, or a UDP endpoint."""

    def __init__(self, stack: Stack, proto: str, index: int) -> None:
        self.stack = stack
        self.proto = proto
        self.index = index
        self.state = CLOSED
        self.laddr, self.lport = ANY, 0
        self.raddr, self.rport = ANY, 0
        self.rx = RxQueue()
        self.datagrams: deque[tuple[str, int, bytes, tuple[int, int]]] = deque()
        self.queued = 0  # bytes in datagrams
        self.rcvbuf = stack.buffer
        self.rx_eof = False  # the peer will send no more (FIN)
        self.reset = False  # the connection was reset: reads and writes fail
        self.error = ""  # pending SO_ERROR, as an errno name
        self.err = ""  # the last ctl error, for the err file
        self.linger_reset = False  # SO_LINGER with a zero time: close resets the peer
        self.wr_shut = self.rd_shut = False
        self.peer: Any = None
        self.peer_gone = False  # the peer closed entirely: writes are EPIPE
        self.backlog = 0
        self.pending: deque[Conv] = deque()
        self.listener: Conv | None = None  # set while waiting to be accepted
        self.child = False  # made by a listener for an incoming call (shares its port)
        self.opens = 0
        self.headers = False  # UDP: data carries a Plan 9 header per datagram
        self.options: dict[tuple[int, int], int] = {}
        self.owner = ""
        self.wildcard = ANY  # "::" for an AF_INET6 socket
        self.v6only = False  # with wildcard "::": IPv6 peers only (IPV6_V6ONLY)
        self.lite = False  # UDP-Lite: its own protocol, reached by UDP-Lite senders only
        self.addr_locked = self.port_locked = False  # bound by the user to an address, a port
        self.write_once_after_close = False  # a socket's, as on Linux (below); /net's: EPIPE at once
        self.send_coverage = 0  # UDP-Lite: bytes the checksum covers (0: all)
        self.recv_coverage: int | None = None  # UDP-Lite: least partial coverage taken (None: any)
        self.meta = DEFAULT_META  # that of the datagram last received
        self.queue = WaitQueue(stack.kernel)
        self.room: WaitQueue | None = None  # a listener's: connects waiting for backlog room
        self.sent = self.received = 0

    # --- naming -----------------------------------------------------------------------------

    @property
    def local(self) -> str:
        return f"{self.laddr}!{self.lport}"

    @property
    def remote(self) -> str:
        return f"{self.raddr}!{self.rport}"

    def status(self) -> str:
        flags = []
        if self.rx_eof:
            flags.append("eof")
        if self.reset:
            flags.append("reset")
        extra = (" " + ",".join(flags)) if flags else ""
        qin = len(self.rx) if self.proto == "tcp" else self.queued
        return f"{self.state} qin {qin} qout 0 sent {self.sent} rcvd {self.received}{extra}\n"

    def __repr__(self) -> str:
        return f"<Conv {self.proto}/{self.index} {self.state} {self.local} {self.remote}>"

    # --- changes ----------------------------------------------------------------------------

    def notify(self) -> None:
        """Something about this conversation changed: wake its waiters and any pollers."""
        if len(self.queue):
            self.queue.wake(len(self.queue))
        wake_pollers(self.stack.kernel)

    def drained(self) -> None:
        """Input was consumed: a writer held back by our full buffer may go on."""
        self.notify()
        peer = self.peer
        if peer is not None and not isinstance(peer, Conv):
            peer.resume()

    # --- set-up -----------------------------------------------------------------------------

    def bind(self, addr: str, port: int) -> None:
        if self.state != CLOSED or self.lport:
            raise DeviceError("EINVAL", f"{self.proto}/{self.index}: already bound to {self.local}")
        self.stack.check_local(addr)
        if port == 0:
            port = self.stack.ephemeral(self.proto, addr)
        elif self.stack.port_taken(self.proto, addr, port, self, self.v6only):
            raise DeviceError("EADDRINUSE", f"{self.proto} port {port} is in use")
        self.laddr, self.lport = addr, port
        self.addr_locked, self.port_locked = addr not in WILDCARDS, port != 0
        if self.proto == "udp":
            self._udp_register()

    def announce(self, backlog: int) -> None:
        """Start listening (TCP) or receiving (UDP) on the bound port (an ephemeral one if none)."""
        if self.state not in (CLOSED, ANNOUNCED, LISTEN):
            raise DeviceError("EINVAL", f"{self.proto}/{self.index}: cannot announce in state {self.state}")
        if not self.lport:
            self.bind(self.wildcard, 0)
        self.backlog = max(1, min(backlog, self.stack.max_backlog))
        self.state = LISTEN if self.proto == "tcp" else ANNOUNCED
        members = self.stack.listeners.setdefault((self.proto, self.lport), [])
        if self not in members:
            members.append(self)
            if self.proto == "tcp" and self.stack.host is not None:
                self.stack.host.guest_listening(self.lport)
        if self.proto == "udp":
            self.state = ESTABLISHED if self.rport else ANNOUNCED

    def connect(self, addr: str, port: int) -> None:
        stack = self.stack
        self._check_version(addr)
        if self.proto == "udp":
            if not self.lport:
                self.bind(self.wildcard, 0)
            self._udp_register()
            if self.laddr in WILDCARDS:  # connect picks the source address, as Linux's does
                self.laddr = stack.source_for(addr)
            self.raddr, self.rport = stack.canonical(addr), port
            self.state = ESTABLISHED
            return
        if self.state == ESTABLISHED:
            raise DeviceError("EISCONN", f"tcp/{self.index} is already connected to {self.remote}")
        if self.state in (LISTEN, ANNOUNCED):
            raise DeviceError("EINVAL", f"tcp/{self.index} is listening")
        if self.state != CLOSED:
            raise DeviceError("EINVAL", f"tcp/{self.index}: cannot connect in state {self.state}")
        if port <= 0 or port > 65535:
            raise DeviceError("EINVAL", f"port {port}: expected 1-65535")
        if stack.is_local(addr):
            listener = stack.find_listener("tcp", addr, port)
            if listener is None:
                raise DeviceError("ECONNREFUSED", f"nothing listens on {addr}!{port}")
            if len(listener.pending) >= listener.backlog:
                if listener.room is None:
                    listener.room = WaitQueue(stack.kernel)
                raise WouldBlock(listener.room)
            self._bind_for(addr)
            server = stack.new_conv("tcp", owner=listener.owner)
            server.laddr, server.lport = stack.canonical(addr), port
            server.raddr, server.rport = self.laddr, self.lport
            server.state = ESTABLISHED
            server.listener = listener
            server.child = True
            server.peer, self.peer = self, server
            self.raddr, self.rport = server.laddr, server.lport
            self.state = ESTABLISHED
            if stack.tap is not None:
                stack.tap.tcp_open((self.laddr, self.lport), (server.laddr, server.lport))
            listener.incoming(server)
            self.notify()
            return
        host = stack.host
        if host is None or not host.allows(addr):
            raise DeviceError(
                "ENETUNREACH", f"{addr}: not a local address and [net] host_access does not allow it"
            )
        self._bind_for(addr)
        host.connect(self, addr, port)  # sets peer and state, or raises

    def disconnect(self) -> None:
        """UDP's connect to AF_UNSPEC: forget the peer, and the address and port that connect or
        send chose rather than the user."""
        self.raddr, self.rport = self.wildcard, 0
        if not self.addr_locked:
            self.laddr = self.wildcard
        if not self.port_locked and self.lport:
            self._leave_listeners()
            self.lport = 0
            self.state = CLOSED
        elif self.state == ESTABLISHED:
            self.state = ANNOUNCED

    def _check_version(self, addr: str) -> None:
        if self.laddr not in WILDCARDS and (":" in self.laddr) != (":" in addr):
            raise DeviceError("ENETUNREACH", f"{self.local} cannot reach {addr}: another IP version")

    def _bind_for(self, addr: str) -> None:
        if not self.lport:
            local = self.stack.source_for(addr)
            self.laddr, self.lport = local, self.stack.ephemeral(self.proto, local)
        elif self.laddr in WILDCARDS:
            self.laddr = self.stack.source_for(addr)

    def _udp_register(self) -> None:
        key = ("udp", self.lport)
        members = self.stack.listeners.setdefault(key, [])
        if self not in members:
            members.append(self)
        if self.state == CLOSED:
            self.state = ANNOUNCED

    def accept(self) -> Conv:
        """The next connection waiting on this listener (wait while there is none)."""
        if self.state != LISTEN:
            raise DeviceError("EINVAL", f"{self.proto}/{self.index} is not listening")
        if not self.pending:
            raise WouldBlock(self.queue)
        conv = self.pending.popleft()
        conv.listener = None
        if self.pending:  # pass the wake-up on, in case the accepter woken for it went away
            self.queue.wake(1)
        room = self.room
        if room is not None and len(room):  # connects waiting for backlog room may go on
            room.wake(len(room))
        return conv

    def incoming(self, conv: Conv) -> None:
        """A call for this listener: queue it and wake one accepter for it, not all (as Linux's
        exclusive wait on accept: a pre-threaded server has many threads in accept())."""
        self.pending.append(conv)
        self.queue.wake(1)
        wake_pollers(self.stack.kernel)

    # --- data -------------------------------------------------------------------------------

    def read(self, count: int) -> bytes:
        if self.proto == "udp":
            return self.recv_datagram(count)[2]
        if self.rx:
            data = self.rx.take(count)
            self.received += len(data)
            self.stack.kernel.kmem.release(KMEM_OWNER, len(data))
            self.drained()
            return data
        self.raise_pending_reset()
        if self.rx_eof or self.rd_shut or self.state == CLOSED or self.reset:
            if self.state == CLOSED and self.peer is None and not self.rx_eof:
                raise DeviceError("ENOTCONN", f"tcp/{self.index} is not connected")
            return b""
        if self.state == LISTEN:
            raise DeviceError("EINVAL", f"tcp/{self.index} is listening: open listen to take a call")
        raise WouldBlock(self.queue)

    def write(self, data: bytes) -> int:
        if self.proto == "udp":
            if not self.rport:
                raise DeviceError("EDESTADDRREQ", f"udp/{self.index} is not connected (use sendto)")
            return self.send_datagram(data, self.raddr, self.rport)
        self.raise_pending_reset()
        if self.wr_shut or self.reset or (self.peer_gone and not self.write_once_after_close):
            raise DeviceError("EPIPE", f"tcp/{self.index}: the connection is closed for writing")
        if self.peer_gone and self.write_once_after_close:  # the peer closed in order: as on
            if data:  # Linux, this write goes, the peer's RST answers it and the next one fails
                self.reset, self.error = True, "EPIPE"
                if self.stack.tap is not None:
                    self.stack.tap.tcp_reset((self.raddr, self.rport), (self.laddr, self.lport))
                self.notify()
            return len(data)
        peer = self.peer
        if peer is None or self.state != ESTABLISHED:
            raise DeviceError("ENOTCONN", f"tcp/{self.index} is not connected")
        if not data:
            return 0
        room = peer.rcvbuf - len(peer.rx)
        if room <= 0:
            raise WouldBlock(peer.queue)
        taken = data if len(data) <= room else memoryview(data)[:room]
        if not self.stack.kernel.kmem.charge(KMEM_OWNER, len(taken)):  # the machine's memory is full
            raise DeviceError("ENOMEM", f"tcp/{self.index}: no memory for socket buffers")
        peer.rx += taken
        self.sent += len(taken)
        if self.stack.tap is not None:
            self.stack.tap.tcp_data((self.laddr, self.lport), (self.raddr, self.rport), bytes(taken))
        peer.notify()
        return len(taken)

    def shutdown(self, how: int) -> None:
        """0: no more reads, 1: no more writes (the peer sees end of file), 2: both."""
        if self.proto == "tcp" and self.state != ESTABLISHED:
            raise DeviceError("ENOTCONN", f"tcp/{self.index} is not connected")
        if how in (0, 2):
            self.rd_shut = True
            self.notify()
        if how in (1, 2) and not self.wr_shut:
            self.wr_shut = True
            peer = self.peer
            if peer is not None:
                if self.stack.tap is not None:
                    self.stack.tap.tcp_fin((self.laddr, self.lport), (self.raddr, self.rport))
                peer.eof()
            self.notify()

    def eof(self) -> None:
        """The peer sends no more."""
        self.rx_eof = True
        self.notify()

    def raise_pending_reset(self) -> None:
        """A reset is reported once, as Linux does: to the first read, write or SO_ERROR after
        it; then reads see end of file and writes EPIPE."""
        if self.reset and self.error == "ECONNRESET":
            self.error = ""
            raise DeviceError("ECONNRESET", f"tcp/{self.index}: connection reset by peer")

    def peer_reset(self) -> None:
        self.reset = True
        self.error = "ECONNRESET"
        self.peer_gone = True
        self.notify()

    def peer_closed(self) -> None:
        """The peer closed entirely: what it sent is still read, then end of file."""
        self.rx_eof = True
        self.peer_gone = True
        self.notify()

    # --- UDP --------------------------------------------------------------------------------

    def send_datagram(self, data: bytes, addr: str, port: int, meta: tuple[int, int] = DEFAULT_META) -> int:
        stack = self.stack
        if len(data) > 65507:
            raise DeviceError("EMSGSIZE", f"a UDP datagram holds at most 65507 bytes, not {len(data)}")
        if not self.lport:
            self.bind(self.wildcard, 0)
        self._udp_register()
        if not stack.is_local(addr):
            raise DeviceError("ENETUNREACH", f"{addr}: UDP reaches only this kernel's addresses")
        self._check_version(addr)
        target = stack.find_listener("udp", addr, port)
        self.sent += len(data)
        source = self.laddr if self.laddr not in WILDCARDS else stack.source_for(addr)
        if stack.tap is not None:
            stack.tap.udp((source, self.lport), (stack.canonical(addr), port), bytes(data))
        if target is None or target.queued + len(data) > target.rcvbuf:
            return len(data)  # nobody there, or no room: the datagram is lost, as UDP may lose it
        if target.rport and (target.rport != self.lport):
            return len(data)  # a connected UDP conversation takes only its peer's datagrams
        if target.lite != self.lite or not target.covered(self.coverage(len(data)), len(data)):
            return len(data)  # another protocol, or less of it checksummed than the receiver asks
        if not stack.kernel.kmem.charge(KMEM_OWNER, len(data)):
            return len(data)  # no memory for it: lost too
        target.datagrams.append((source, self.lport, bytes(data), meta))
        target.queued += len(data)
        target.notify()
        return len(data)

    def coverage(self, length: int) -> int:
        """UDP-Lite: the bytes of a datagram of ``length`` its checksum covers, header included."""
        whole = length + 8
        return whole if not self.send_coverage or self.send_coverage > whole else self.send_coverage

    def covered(self, coverage: int, length: int) -> bool:
        """UDP-Lite: whether this receiver takes a datagram covered that far (Linux drops a
        partially covered one below UDPLITE_RECV_CSCOV, and all of them with it set to 0)."""
        if self.recv_coverage is None or coverage >= length + 8:
            return True
        return bool(self.recv_coverage) and coverage >= self.recv_coverage

    def recv_datagram(self, count: int, peek: bool = False) -> tuple[str, int, bytes]:
        if not self.datagrams:
            if self.rd_shut:
                return (ANY, 0, b"")
            raise WouldBlock(self.queue)
        source, port, data, self.meta = self.datagrams[0] if peek else self.datagrams.popleft()
        if not peek:
            self.queued -= len(data)
            self.stack.kernel.kmem.release(KMEM_OWNER, len(data))
            self.received += len(data)
            self.notify()
        return source, port, data[:count]

    # --- readiness and the end --------------------------------------------------------------

    def poll(self) -> int:
        ready = 0
        if self.proto == "udp":
            if self.datagrams or self.rd_shut:
                ready |= POLLIN
            return ready | POLLOUT
        if self.state == LISTEN:
            return POLLIN if self.pending else 0
        if self.rx or self.rx_eof or self.rd_shut or self.reset:
            ready |= POLLIN
        if self.error:  # until a read, write or SO_ERROR takes it
            ready |= POLLERR
        # hung up when both directions are shut, as Linux's: a peer's FIN alone shuts reading only
        if self.reset or ((self.rx_eof or self.rd_shut) and self.wr_shut):
            ready |= POLLHUP
        if self.rx_eof or self.reset:
            ready |= POLLRDHUP
        if self.state == ESTABLISHED:
            peer = self.peer
            if self.reset or self.wr_shut or self.peer_gone or peer is None or peer.rcvbuf - len(peer.rx) > 0:
                ready |= POLLOUT  # a write would not wait (it may fail)
        elif self.state == CLOSED and self.peer is None:
            ready |= POLLOUT | POLLHUP
        return ready

    def hangup(self, abortive: bool = True) -> None:
        """End the conversation. Abortive (Plan 9 hangup, or unread input at close) resets the
        peer; otherwise the peer gets end of file after what was sent."""
        peer, self.peer = self.peer, None
        if peer is not None:
            tap = self.stack.tap
            if tap is not None:
                ends = (self.laddr, self.lport), (self.raddr, self.rport)
                if abortive or self.rx:
                    tap.tcp_reset(*ends)
                elif not self.wr_shut:
                    tap.tcp_fin(*ends)
            if abortive or self.rx:
                peer.peer_reset()
            else:
                peer.peer_closed()
        for waiting in self.pending:  # calls never accepted are refused, and go
            waiting.hangup(True)
            self.stack.free(waiting)
        self.pending.clear()
        self._leave_listeners()
        self.state = CLOSED if self.proto == "udp" or self.state != ESTABLISHED else CLOSING
        if self.room is not None:
            self.room.wake(len(self.room))
        self.notify()

    def _leave_listeners(self) -> None:
        key = (self.proto, self.lport)
        members = self.stack.listeners.get(key)
        if members and self in members:
            members.remove(self)
            if not members:
                del self.stack.listeners[key]
            if self.proto == "tcp" and self.stack.host is not None:
                self.stack.host.guest_listening(self.lport)

    def release(self) -> None:
        """The last open file of the conversation closed: hang up and free it."""
        self.hangup(abortive=bool(self.rx) or self.linger_reset)
        self.stack.free(self)


class Stack:
    """Per kernel: the conversations, the ports in use and the addresses that are ours."""

    def __init__(self, kernel: Kernel, options: Any) -> None:
        keep_heap()
        self.kernel = kernel
        self.address = options.address
        self.network = ipaddress.ip_network(f"{options.address}/{options.prefix}", strict=False)
        self.buffer = options.buffer
        self.max_backlog = options.max_backlog
        self.max_conversations = options.max_conversations
        self.convs: dict[str, list[Conv | None]] = {proto: [] for proto in PROTOCOLS}
        self.listeners: dict[tuple[str, int], list[Conv]] = {}
        self.next_port = {proto: EPHEMERAL_FIRST for proto in PROTOCOLS}
        self.host: Any = None  # the host bridge, when host_access is on (kernkit.plugins.net.host)
        self.tap: Any = None  # told of each connection, transfer and close when set (see above)
        self.count = 0

    # --- conversations ----------------------------------------------------------------------

    def new_conv(self, proto: str, owner: str = "") -> Conv:
        if self.count >= self.max_conversations:
            raise DeviceError(
                "ENFILE", f"no free conversations ([net] max_conversations = {self.max_conversations})"
            )
        table = self.convs[proto]
        index = next((i for i, c in enumerate(table) if c is None), len(table))
        conv = Conv(self, proto, index)
        conv.owner = owner
        if index == len(table):
            table.append(conv)
        else:
            table[index] = conv
        self.count += 1
        return conv

    def free(self, conv: Conv) -> None:
        self.kernel.kmem.release(KMEM_OWNER, len(conv.rx) + conv.queued)  # what nobody will read
        conv.rx.clear()
        conv.datagrams.clear()
        conv.queued = 0
        table = self.convs[conv.proto]
        if conv.index < len(table) and table[conv.index] is conv:
            table[conv.index] = None
            self.count -= 1
            while table and table[-1] is None:
                table.pop()

    def conv(self, proto: str, index: int) -> Conv | None:
        table = self.convs[proto]
        return table[index] if 0 <= index < len(table) else None

    # --- addresses and ports ----------------------------------------------------------------

    def is_loopback(self, addr: str) -> bool:
        return addr.startswith("127.") or addr == "::1"

    def is_local(self, addr: str) -> bool:
        return addr in WILDCARDS or addr == self.address or self.is_loopback(addr)

    def canonical(self, addr: str) -> str:
        return "127.0.0.1" if addr == ANY else "::1" if addr == ANY6 else addr

    def source_for(self, addr: str) -> str:
        """The local address a conversation bound to a wildcard uses to reach ``addr``."""
        if ":" in addr:
            return "::1"
        return "127.0.0.1" if addr == ANY or self.is_loopback(addr) else self.address

    @staticmethod
    def covers(bound: str, v6only: bool, addr: str) -> bool:
        """Whether a conversation bound to ``bound`` takes what is sent to ``addr``: its own
        address; 0.0.0.0 every IPv4 one; :: every IPv6 one, and every IPv4 one unless v6only."""
        if bound == addr:
            return True
        if bound == ANY:
            return ":" not in addr
        return bound == ANY6 and (":" in addr or not v6only)

    def check_local(self, addr: str) -> None:
        if not self.is_local(addr):
            raise DeviceError(
                "EADDRNOTAVAIL",
                f"{addr} is not an address of this kernel (127.0.0.0/8, {self.address}, 0.0.0.0, ::1 or ::)",
            )

    def port_taken(
        self, proto: str, addr: str, port: int, conv: Conv | None = None, v6only: bool = False
    ) -> bool:
        """Whether another conversation holds ``port`` on an overlapping address. Accepted
        connections share their listener's port and do not count; there is no TIME_WAIT, so a
        restarted server binds again at once (SO_REUSEADDR is accepted and changes nothing)."""
        for other in self.convs[proto]:
            if other is None or other is conv or other.lport != port or other.child:
                continue
            if self.covers(other.laddr, other.v6only, addr) or self.covers(addr, v6only, other.laddr):
                return True
        return False

    def ephemeral(self, proto: str, addr: str) -> int:
        span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1
        for _ in range(span):
            port = self.next_port[proto]
            self.next_port[proto] = EPHEMERAL_FIRST + (port - EPHEMERAL_FIRST + 1) % span
            if not self.port_taken(proto, addr, port):
                return port
        raise DeviceError("EADDRINUSE", f"no free {proto} port left")

    def find_listener(self, proto: str, addr: str, port: int) -> Conv | None:
        members = self.listeners.get((proto, port))
        if not members:
            return None
        addr = self.canonical(addr)
        for bound in (addr, ANY, ANY6):  # an exact address first, then IPv4's wildcard, then IPv6's
            for conv in members:
                if conv.laddr == bound and self.covers(bound, conv.v6only, addr):
                    return conv
        return None

    def every(self) -> list[Conv]:
        return [c for proto in PROTOCOLS for c in self.convs[proto] if c is not None]


STACK: Slot[Stack] = Slot("net.stack")


def stack_of(kernel: Kernel) -> Stack | None:
    """The kernel's network stack, made on first use (None when the net plugin is not loaded)."""
    stack = STACK.get(kernel)
    if stack is None:
        try:
            options = kernel.config["net"]
        except KeyError:
            return None
        stack = STACK.set(kernel, Stack(kernel, options))
    return stack
