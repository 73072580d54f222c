"""A minimal GDB remote protocol client: enough to script the stub (tests, benchmarks)."""

from __future__ import annotations

import socket
from collections import deque

from kernkit.plugins.gdb.packets import INTERRUPT, Event, Parser, frame


class ProtocolError(Exception):
    pass


class GdbClient:
    def __init__(self, host: str, port: int, timeout: float = 30.0) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = Parser()
        self.events: deque[Event] = deque()
        self.ack_mode = True

    def _event(self) -> Event:
        while not self.events:
            data = self.sock.recv(65536)
            if not data:
                raise ProtocolError("the stub closed the connection")
            self.events.extend(self.parser.feed(data))
        return self.events.popleft()

    def write(self, data: bytes) -> None:
        """Raw bytes, as they are (for malformed input)."""
        self.sock.sendall(data)

    def send(self, payload: bytes | str) -> None:
        """One packet, acknowledged by the stub (in ack mode)."""
        payload = payload.encode("latin-1") if isinstance(payload, str) else payload
        self.write(frame(payload))
        if self.ack_mode:
            event = self._event()
            if event.kind != "ack":
                raise ProtocolError(f"expected an acknowledgement, got {event}")

    def reply(self) -> bytes:
        """The next packet from the stub (acknowledged); O (console output) packets are skipped
        into ``output``."""
        while True:
            event = self._event()
            if event.kind != "packet":
                raise ProtocolError(f"expected a packet, got {event}")
            if self.ack_mode:
                self.write(b"+")
            if event.payload.startswith(b"O") and event.payload != b"OK":
                self.output = getattr(self, "output", b"") + bytes.fromhex(event.payload[1:].decode())
                continue
            return event.payload

    def request(self, payload: bytes | str) -> bytes:
        self.send(payload)
        return self.reply()

    def no_ack(self) -> None:
        if self.request("QStartNoAckMode") != b"OK":
            raise ProtocolError("the stub refused QStartNoAckMode")
        self.ack_mode = False

    def interrupt(self) -> None:
        self.write(bytes((INTERRUPT,)))

    def close(self) -> None:
        self.sock.close()
