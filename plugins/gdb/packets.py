"""GDB remote serial protocol framing: ``$payload#checksum``, acknowledgements, escapes.

Pure functions and a byte-at-a-time parser, so the framing is testable without a socket.
"""

from __future__ import annotations

from collections.abc import Iterator

import attrs

INTERRUPT = 0x03
_ESCAPE = 0x7D
_SPECIAL = frozenset(b"#$}*")


def checksum(payload: bytes) -> int:
    return sum(payload) & 0xFF


def frame(payload: bytes) -> bytes:
    """``payload`` as a packet on the wire (the payload already escaped where it needs it)."""
    return b"$" + payload + b"#" + b"%02x" % checksum(payload)


def escape(data: bytes) -> bytes:
    """Binary data for a reply (``qXfer``): ``#``, ``$``, ``}`` and ``*`` escaped."""
    if not _SPECIAL.intersection(data):
        return data
    out = bytearray()
    for byte in data:
        if byte in _SPECIAL:
            out += bytes((_ESCAPE, byte ^ 0x20))
        else:
            out.append(byte)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """Binary data of a received packet (``X``); a trailing lone escape is a ValueError."""
    if _ESCAPE not in data:
        return data
    out = bytearray()
    it = iter(data)
    for byte in it:
        if byte == _ESCAPE:
            following = next(it, None)
            if following is None:
                raise ValueError("binary data ends inside an escape")
            out.append(following ^ 0x20)
        else:
            out.append(byte)
    return bytes(out)


@attrs.frozen
class Event:
    """What arrived: ``packet`` (``payload`` intact), ``corrupt`` (checksum mismatch or garbage
    inside the frame), ``interrupt`` (Ctrl-C, 0x03 outside a packet), ``ack`` / ``nak``."""

    kind: str
    payload: bytes = b""


class Parser:
    """Feed bytes as they come; get events. Bytes outside packets other than acks and 0x03 are
    line noise and dropped, as gdb's own stubs do."""

    MAX_PACKET = 1 << 20

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._state = "idle"  # idle, payload, checksum
        self._sum = bytearray()

    def feed(self, data: bytes) -> Iterator[Event]:
        for byte in data:
            event = self._step(byte)
            if event is not None:
                yield event

    def _step(self, byte: int) -> Event | None:
        if self._state == "idle":
            if byte == ord("$"):
                self._state, self._buffer = "payload", bytearray()
            elif byte == ord("+"):
                return Event("ack")
            elif byte == ord("-"):
                return Event("nak")
            elif byte == INTERRUPT:
                return Event("interrupt")
            return None
        if self._state == "payload":
            if byte == ord("#"):
                self._state, self._sum = "checksum", bytearray()
            elif byte == ord("$"):  # a new packet inside one: the first was cut short
                self._buffer = bytearray()
            elif len(self._buffer) >= self.MAX_PACKET:
                self._state = "idle"
                return Event("corrupt", b"packet too long")
            else:
                self._buffer.append(byte)
            return None
        self._sum.append(byte)
        if len(self._sum) < 2:
            return None
        self._state = "idle"
        payload = bytes(self._buffer)
        try:
            good = int(self._sum.decode("ascii"), 16) == checksum(payload)
        except ValueError:
            good = False
        return Event("packet" if good else "corrupt", payload)
