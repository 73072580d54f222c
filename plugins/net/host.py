"""The host side: ``[[net.forward]]`` listeners and guest connections out to host addresses.

A host connection is the peer of one guest conversation. Bytes the guest writes queue in the
connection (at most ``[net] buffer``, so a guest writer waits for a slow host client exactly as
for a slow guest reader) and go out when the host socket can take them; bytes from the host go
into the guest conversation's buffer, and the host socket is not read while that buffer is
full. Everything runs from the kernel's host I/O callbacks, between rounds, on the kernel's
thread; nothing here blocks except a host connect, which loopback answers at once.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import ipaddress
import os
import socket
import struct
import termios
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import DeviceError
from kernkit.plugins.net.stack import ESTABLISHED, KMEM_OWNER, WILDCARDS, Conv, Stack

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

RECV_SIZE = 256 << 10
_ON = struct.pack("i", 1)
KEEPER = "net"


def _sockopt(fd: int, action: Any) -> None:
    """``action(sock)`` on a socket object lent for descriptor ``fd`` (the rare calls that need
    one: shutdown, SO_LINGER); the descriptor stays open and ours."""
    sock = socket.socket(fileno=fd)
    try:
        with contextlib.suppress(OSError):
            action(sock)
    finally:
        sock.detach()


class HostEnd:
    """A host TCP socket standing in as a guest conversation's peer. It is held as a bare
    non-blocking descriptor (read, written and closed with ``os`` calls, which are recv, send
    and close on a socket): a Python socket object per connection cost a ``getsockname``, the
    wrapper's enum conversions and its close layers, for nothing the bridge uses."""

    def __init__(self, bridge: HostBridge, fd: int, conv: Conv) -> None:
        self.bridge = bridge
        self.fd = fd
        self.conv = conv
        self.rx = bytearray()  # guest -> host bytes not yet sent
        self.rcvbuf = conv.stack.buffer
        self.queue = conv.queue  # a guest writer waiting for room sleeps with the conversation's readers
        self.reading = False
        self.writing = False
        self.eof_pending = False  # the guest shut its side: shut the host's once rx is sent
        self.closing = False  # the guest closed: close the socket once rx is sent
        self.closed = False
        fcntl.ioctl(fd, termios.FIONBIO, _ON)  # one call (os.set_blocking makes two)
        bridge.ends.add(self)
        bridge.kernel.hostio.keep_alive(KEEPER)
        self.resume()

    # --- host -> guest ----------------------------------------------------------------------

    def resume(self) -> None:
        """The guest made room: read the host socket again."""
        if not self.reading and not self.closed and not self.conv.rx_eof:
            self.reading = True
            self.bridge.kernel.hostio.add_reader(self.fd, self._readable)

    def _pause(self) -> None:
        if self.reading:
            self.reading = False
            self.bridge.kernel.hostio.remove_reader(self.fd)

    def _readable(self) -> None:
        conv = self.conv
        kmem = self.bridge.kernel.kmem
        room = min(conv.rcvbuf - len(conv.rx), RECV_SIZE)
        if room <= 0 or conv.peer is not self or not kmem.charge(KMEM_OWNER, room):
            self._pause()  # the guest reads or memory frees up: resume() reads again
            return
        try:
            data = os.read(self.fd, room)
        except BlockingIOError:
            kmem.release(KMEM_OWNER, room)
            return
        except OSError:
            kmem.release(KMEM_OWNER, room)
            self._pause()
            if conv.stack.tap is not None:
                conv.stack.tap.tcp_reset((conv.raddr, conv.rport), (conv.laddr, conv.lport))
            conv.peer_reset()
            self._close()
            return
        kmem.release(KMEM_OWNER, room - len(data))
        if not data:
            self._pause()
            if conv.stack.tap is not None:
                conv.stack.tap.tcp_fin((conv.raddr, conv.rport), (conv.laddr, conv.lport))
            conv.eof()
            if self.closing:
                self._close()
            return
        conv.rx += data
        if conv.stack.tap is not None:
            conv.stack.tap.tcp_data((conv.raddr, conv.rport), (conv.laddr, conv.lport), data)
        conv.notify()

    # --- guest -> host ----------------------------------------------------------------------

    def notify(self) -> None:
        """The guest wrote into rx: send what the socket takes now, queue the rest."""
        self._flush()

    def _flush(self) -> None:
        kmem = self.bridge.kernel.kmem
        if self.closed:
            kmem.release(KMEM_OWNER, len(self.rx))
            self.rx.clear()
            return
        if self.rx:
            try:
                sent = os.write(self.fd, self.rx)
            except BlockingIOError:
                sent = 0
            except OSError:
                kmem.release(KMEM_OWNER, len(self.rx))
                self.rx.clear()
                self.conv.peer_reset()
                self._close()
                return
            if sent:
                del self.rx[:sent]
                kmem.release(KMEM_OWNER, sent)
                self.conv.notify()  # a guest writer waiting for room may go on
        hostio = self.bridge.kernel.hostio
        if self.rx and not self.writing:
            self.writing = True
            hostio.add_writer(self.fd, self._flush)
        elif not self.rx:
            if self.writing:
                self.writing = False
                hostio.remove_writer(self.fd)
            closing = self.closing and (self.conv.rx_eof or not self.reading)
            if self.eof_pending:
                self.eof_pending = False
                if not closing:  # a close sends the FIN itself
                    _sockopt(self.fd, lambda sock: sock.shutdown(socket.SHUT_WR))
            if closing:
                self._close()

    def eof(self) -> None:
        """The guest shut down its writing side."""
        self.eof_pending = True
        self._flush()

    def peer_closed(self) -> None:
        """The guest closed: send what is queued, then close."""
        self.closing = True
        if not self.rx:  # nothing left to send: the close sends the FIN
            self._close()
            return
        self.eof_pending = True
        self._pause()
        self._flush()

    def peer_reset(self) -> None:
        """The guest hung up abortively: reset the host connection."""
        self.bridge.kernel.kmem.release(KMEM_OWNER, len(self.rx))
        self.rx.clear()
        _sockopt(self.fd, _linger_zero)
        self._close()

    def _close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.reading = self.writing = False
        self.bridge.kernel.hostio.forget(self.fd)  # no epoll call: the close drops it there
        os.close(self.fd)
        self.bridge.ends.discard(self)
        self.bridge.update_keepalive()


def _linger_zero(sock: socket.socket) -> None:
    """SO_LINGER 0: the close resets the connection (RST) instead of ending it (FIN)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


class Forward:
    """One ``[[net.forward]]``: its host socket (bound, listening while the guest listens)."""

    def __init__(self, sock: socket.socket, host: tuple[str, int], guest_port: int) -> None:
        self.sock: socket.socket | None = sock
        self.fd = sock.fileno()
        self.host = host  # as bound (a port 0 in the config is the port picked at boot)
        self.guest_port = guest_port
        self.name = f"{host[0]}:{host[1]}"


class HostBridge:
    """Per kernel: forward listeners and host connections."""

    def __init__(self, kernel: Kernel, stack: Stack, options: Any) -> None:
        self.kernel = kernel
        self.stack = stack
        self.host_access = options.host_access
        self.networks = [ipaddress.IPv4Network(n, strict=False) for n in options.host_networks]
        self.gateway = options.host_gateway
        self.ends: set[HostEnd] = set()
        self.forwards: dict[int, list[Forward]] = {}  # guest port -> the forwards to it
        self.listeners: dict[int, Forward] = {}  # descriptor -> a forward listening now
        self.addresses: list[tuple[str, int]] = []  # the forwards' host addresses, as bound

    # --- forwards ---------------------------------------------------------------------------

    def forward(self, host: tuple[str, int], guest_port: int) -> tuple[str, int]:
        """Reserve ``host`` for guest port ``guest_port``: bound from now on, listening exactly
        while a guest program listens on that port (see guest_listening)."""
        try:
            sock = self._bound(host)
        except OSError as exc:
            raise OSError(
                f'[[net.forward]] host = "{host[0]}:{host[1]}": cannot listen: {exc.strerror}'
            ) from None
        bound = sock.getsockname()
        self.forwards.setdefault(guest_port, []).append(Forward(sock, bound, guest_port))
        self.addresses.append(bound)
        self.kernel.hostio.keep_alive(KEEPER)
        self.guest_listening(guest_port)
        return bound

    @staticmethod
    def _bound(host: tuple[str, int]) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # accepted sockets inherit it
        try:
            sock.bind(host)
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        return sock

    def guest_listening(self, guest_port: int) -> None:
        """The guest's TCP listeners on ``guest_port`` changed: the forwards to it listen on the
        host while one takes calls from 127.0.0.1, and are only bound otherwise, so a host
        client is refused (ECONNREFUSED) exactly when a guest client would be. A forward that
        stops listening resets the calls the host had queued for it, as closing a listener
        does on Linux."""
        forwards = self.forwards.get(guest_port)
        if not forwards:
            return
        wanted = self.stack.find_listener("tcp", "127.0.0.1", guest_port) is not None
        hostio = self.kernel.hostio
        for fwd in forwards:
            if fwd.sock is None or wanted == (fwd.fd in self.listeners):
                continue
            if wanted:
                try:
                    fwd.sock.listen(128)
                except OSError as exc:
                    self.kernel.message(f"net: forward {fwd.name}: cannot listen: {exc.strerror}")
                    continue
                self.listeners[fwd.fd] = fwd
                hostio.add_reader(fwd.fd, lambda fd=fwd.fd: self._accept(fd))
                continue
            del self.listeners[fwd.fd]
            hostio.remove_reader(fwd.fd)
            fwd.sock.close()  # a listening socket cannot go back to merely bound: a new one
            try:
                fwd.sock = self._bound(fwd.host)
            except OSError as exc:  # another host program took the port meanwhile
                self.kernel.message(f"net: forward {fwd.name} lost: {exc.strerror}")
                fwd.sock = None
                continue
            fwd.fd = fwd.sock.fileno()

    def _accept(self, fd: int) -> None:
        fwd = self.listeners[fd]
        sock, guest_port = fwd.sock, fwd.guest_port
        for _ in range(64):
            try:
                client, (caddr, cport) = sock._accept()  # the descriptor: no socket object
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            try:
                listener = self.stack.find_listener("tcp", "127.0.0.1", guest_port)
                if listener is None or len(listener.pending) >= listener.backlog:
                    self._refuse(client)
                    continue
                try:
                    conv = self.stack.new_conv("tcp", owner=listener.owner)
                except DeviceError:
                    self._refuse(client)
                    continue
                conv.laddr, conv.lport = (
                    listener.laddr if listener.laddr not in WILDCARDS else self.stack.address,
                    guest_port,
                )
                conv.raddr, conv.rport = caddr, cport
                conv.state = ESTABLISHED
                conv.child = True
                conv.listener = listener
                end = conv.peer = HostEnd(self, client, conv)
            except BaseException:  # a kernel bug: the host's descriptor does not leak with it
                os.close(client)
                raise
            if self.stack.tap is not None:
                self.stack.tap.tcp_open((caddr, cport), (conv.laddr, conv.lport))
            # a client's first bytes (an HTTP request) often came with its call: take them
            # now, so the guest's first read finds them instead of blocking for the next poll
            end._readable()
            listener.incoming(conv)

    def _refuse(self, client: int) -> None:
        _sockopt(client, _linger_zero)
        os.close(client)

    # --- out to the host --------------------------------------------------------------------

    def allows(self, addr: str) -> bool:
        if not self.host_access:
            return False
        if addr == self.gateway:
            return True
        try:
            address = ipaddress.IPv4Address(addr)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def connect(self, conv: Conv, addr: str, port: int) -> None:
        """Connect ``conv`` to the host (``addr`` as the guest named it: the gateway is 127.0.0.1)."""
        target = "127.0.0.1" if addr == self.gateway else addr
        try:
            sock = socket.create_connection((target, port), timeout=5)
        except ConnectionRefusedError:
            raise DeviceError("ECONNREFUSED", f"host {addr}:{port} refused the connection") from None
        except TimeoutError:
            raise DeviceError("ETIMEDOUT", f"host {addr}:{port} did not answer") from None
        except OSError as exc:
            name = errno.errorcode.get(exc.errno or 0, "EIO")
            raise DeviceError(name, f"host {addr}:{port}: {exc.strerror}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conv.raddr, conv.rport = addr, port
        conv.state = ESTABLISHED
        conv.peer = HostEnd(self, sock.detach(), conv)
        if self.stack.tap is not None:
            self.stack.tap.tcp_open((conv.laddr, conv.lport), (addr, port))
        conv.notify()

    # --- the end ----------------------------------------------------------------------------

    def update_keepalive(self) -> None:
        if not self.ends and not self.forwards:
            self.kernel.hostio.keep_alive(KEEPER, False)

    def close(self) -> None:
        for end in list(self.ends):
            end._close()
        for fd in self.listeners:
            self.kernel.hostio.remove_reader(fd)
        for forwards in self.forwards.values():
            for fwd in forwards:
                if fwd.sock is not None:
                    fwd.sock.close()
        self.listeners.clear()
        self.forwards.clear()
        self.kernel.hostio.keep_alive(KEEPER, False)
