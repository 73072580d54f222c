"""One debugger connection: packets in and out over a socket, acknowledged until gdb asks not to."""

from __future__ import annotations

import contextlib
import select
import socket
from collections import deque

from kernkit.plugins.gdb.packets import Event, Parser, frame

#: Retransmissions of a packet gdb keeps refusing before the connection counts as broken.
MAX_RETRIES = 5


class ConnectionClosed(Exception):
    """The debugger went away (or the link is beyond repair)."""


class Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = Parser()
        self.pending: deque[Event] = deque()
        self.ack_mode = True
        self.closed = False
        #: Packets received with a bad checksum (each was refused with '-').
        self.corrupt = 0

    def _fill(self, timeout: float | None) -> bool:
        """Read what the socket has (waiting up to ``timeout``; None: for ever). False if nothing came."""
        if self.closed:
            raise ConnectionClosed("connection closed")
        if timeout is not None:
            readable, _, _ = select.select([self.sock], [], [], timeout)
            if not readable:
                return False
        try:
            data = self.sock.recv(65536)
        except OSError as exc:
            self.closed = True
            raise ConnectionClosed(str(exc)) from None
        if not data:
            self.closed = True
            raise ConnectionClosed("gdb closed the connection")
        self.pending.extend(self.parser.feed(data))
        return True

    def _next(self, timeout: float | None) -> Event | None:
        while not self.pending:
            if not self._fill(timeout):
                return None
        return self.pending.popleft()

    def receive(self) -> Event:
        """The next packet or interrupt (waiting for it); corrupt packets are refused and skipped."""
        while True:
            event = self._next(None)
            if event.kind == "packet":
                if self.ack_mode:
                    self._write(b"+")
                return event
            if event.kind == "corrupt":
                self.corrupt += 1
                if self.ack_mode:
                    self._write(b"-")
                continue
            if event.kind == "interrupt":
                return event
            # stray acks: nothing is waiting for them

    def interrupted(self) -> bool:
        """Without waiting: whether gdb sent an interrupt (Ctrl-C). Packets that came with it wait."""
        if self.closed:
            return False
        try:
            while self._fill(0):
                pass
        except ConnectionClosed:
            return True  # the stub notices the closed link when it next receives
        for event in list(self.pending):
            if event.kind == "interrupt":
                self.pending.remove(event)
                return True
        return False

    def send(self, payload: bytes) -> None:
        packet = frame(payload)
        held: list[Event] = []  # what came before the acknowledgement waits its turn
        try:
            for _ in range(MAX_RETRIES):
                self._write(packet)
                if not self.ack_mode:
                    return
                while True:
                    event = self._next(None)
                    if event.kind in ("ack", "nak"):
                        break
                    held.append(event)
                    if len(held) > 64:
                        self.closed = True
                        raise ConnectionClosed("no acknowledgement from gdb")
                if event.kind == "ack":
                    return
            self.closed = True
            raise ConnectionClosed(f"gdb refused a packet {MAX_RETRIES} times")
        finally:
            self.pending.extendleft(reversed(held))

    def _write(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            self.closed = True
            raise ConnectionClosed(str(exc)) from None

    def close(self) -> None:
        self.closed = True
        with contextlib.suppress(OSError):
            self.sock.close()
