"""Frames made up for the #ip stack's traffic, so a capture shows TCP and UDP as well.

The stack moves streams, not segments (docs/net.md); with ``[ether] capture_ip`` it tells this
tap what happened and the tap writes to the pcap file what a wire would have carried: for a TCP
connection SYN, SYN-ACK and ACK, a PSH-ACK segment of at most 1460 bytes per piece of each
transfer, with sequence and acknowledgement numbers that count the bytes, FIN (answered by an
ACK) for each side's orderly close, RST for an abortive one; for UDP one datagram per send,
split into IPv4 fragments when it does not fit a 1500-byte MTU (IPv6 traffic, all on ::1, is
loopback's, whose 65536-byte MTU needs none). Checksums are real. Addresses
are the conversations' own; MACs: 127.0.0.0/8 and ::1 are 00:00:00:00:00:00 (as Linux captures its
loopback, and so are host clients of a forward), the kernel's address is ether0's MAC (or
52:54:00:12:34:56 without NICs), anything else (host addresses guests dial) the gateway
52:55:0a:00:02:02. Only the capture file sees these frames, not the
NICs' connections.
"""

from __future__ import annotations

import ipaddress
import struct
import sys
from array import array
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.plugins.ether.segment import Segment

Endpoint = tuple[str, int]

MSS = 1460
MTU_PAYLOAD = 1480  # an IPv4 fragment's data: 1500 less the 20-byte header, a multiple of 8
LOOPBACK_MAC = bytes(6)
DEFAULT_MAC = bytes.fromhex("525400123456")
GATEWAY_MAC = bytes.fromhex("52550a000202")
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
TCP, UDP = 6, 17
WINDOW = 65535


def checksum(data: bytes) -> int:
    """The internet checksum (RFC 1071) of ``data``, as the big-endian number to store."""
    if len(data) % 2:
        data += b"\0"
    words = array("H", data)
    if sys.byteorder == "little":
        words.byteswap()
    total = sum(words)
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip(addr: str) -> bytes:
    return bytes(int(part) for part in addr.split("."))


def _pseudo(proto: int, src: str, dst: str, length: int) -> bytes:
    """The pseudo-header a TCP or UDP checksum covers: IPv4's (RFC 793) or IPv6's (RFC 8200)."""
    if ":" in src:
        addresses = ipaddress.IPv6Address(src).packed + ipaddress.IPv6Address(dst).packed
        return addresses + struct.pack("!IxxxB", length, proto)
    return _ip(src) + _ip(dst) + struct.pack("!BBH", 0, proto, length)


class Flow:
    """One TCP connection: the next sequence number each way."""

    __slots__ = ("seq", "fins")

    def __init__(self) -> None:
        self.seq: dict[Endpoint, int] = {}
        self.fins: set[Endpoint] = set()


class IpCapture:
    """The stack's tap (``Stack.tap``): each call writes the frames the event would have put on a
    wire."""

    def __init__(self, segment: Segment, own_address: str) -> None:
        self.segment = segment
        self.own = own_address
        self.own_mac = segment.nics[0].mac if segment.nics else DEFAULT_MAC
        self.flows: dict[frozenset[Endpoint], Flow] = {}
        self.ident = 0
        self.isn = 0

    # --- frames -----------------------------------------------------------------------------

    def _mac(self, addr: str) -> bytes:
        if addr.startswith("127.") or addr == "::1":
            return LOOPBACK_MAC
        return self.own_mac if addr == self.own else GATEWAY_MAC

    def _ipv4(self, proto: int, src: str, dst: str, payload: bytes, flags_offset: int, ident: int) -> None:
        header = struct.pack(
            "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, flags_offset, 64, proto, 0, _ip(src), _ip(dst)
        )
        header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
        ether = self._mac(dst) + self._mac(src) + b"\x08\x00"
        self.segment.record(ether + header + payload)

    def _ipv6(self, proto: int, src: str, dst: str, payload: bytes) -> None:
        """An IPv6 packet: between loopback addresses only, whose MTU (65536) needs no fragments."""
        header = struct.pack(
            "!IHBB16s16s",
            6 << 28,
            len(payload),
            proto,
            64,
            ipaddress.IPv6Address(src).packed,
            ipaddress.IPv6Address(dst).packed,
        )
        self.segment.record(self._mac(dst) + self._mac(src) + b"\x86\xdd" + header + payload)

    def _next_ident(self) -> int:
        self.ident = (self.ident + 1) & 0xFFFF
        return self.ident

    def _tcp(self, src: Endpoint, dst: Endpoint, seq: int, ack: int, flags: int, data: bytes = b"") -> None:
        options = struct.pack("!BBH", 2, 4, MSS) if flags & SYN else b""
        offset = (20 + len(options)) // 4 << 12
        header = struct.pack(
            "!HHIIHHHH", src[1], dst[1], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, offset | flags, WINDOW, 0, 0
        )
        segment = header + options + data
        pseudo = _pseudo(TCP, src[0], dst[0], len(segment))
        segment = segment[:16] + struct.pack("!H", checksum(pseudo + segment)) + segment[18:]
        if ":" in src[0]:
            self._ipv6(TCP, src[0], dst[0], segment)
        else:
            self._ipv4(TCP, src[0], dst[0], segment, 0x4000, self._next_ident())

    def _flow(self, src: Endpoint, dst: Endpoint) -> Flow:
        key = frozenset((src, dst))
        flow = self.flows.get(key)
        if flow is None:  # traffic of a connection whose opening was not seen
            flow = self.flows[key] = Flow()
            flow.seq[src], flow.seq[dst] = self._new_isn(), self._new_isn()
        return flow

    def _new_isn(self) -> int:
        self.isn += 1
        return self.isn * 0x01000193 & 0xFFFFFFFF  # deterministic, spread out

    # --- what the stack tells ---------------------------------------------------------------

    def tcp_open(self, client: Endpoint, server: Endpoint) -> None:
        flow = self.flows[frozenset((client, server))] = Flow()
        cseq, sseq = self._new_isn(), self._new_isn()
        self._tcp(client, server, cseq, 0, SYN)
        self._tcp(server, client, sseq, cseq + 1, SYN | ACK)
        self._tcp(client, server, cseq + 1, sseq + 1, ACK)
        flow.seq[client], flow.seq[server] = cseq + 1, sseq + 1

    def tcp_data(self, src: Endpoint, dst: Endpoint, data: bytes) -> None:
        flow = self._flow(src, dst)
        seq, ack = flow.seq[src], flow.seq[dst]
        view = memoryview(data)
        for start in range(0, len(data), MSS):
            piece = bytes(view[start : start + MSS])
            self._tcp(src, dst, seq, ack, PSH | ACK, piece)
            seq += len(piece)
        flow.seq[src] = seq

    def tcp_fin(self, src: Endpoint, dst: Endpoint) -> None:
        flow = self._flow(src, dst)
        if src in flow.fins:
            return
        seq, ack = flow.seq[src], flow.seq[dst]
        self._tcp(src, dst, seq, ack, FIN | ACK)
        flow.seq[src] = seq + 1
        flow.fins.add(src)
        self._tcp(dst, src, ack, seq + 1, ACK)
        if len(flow.fins) == 2:
            del self.flows[frozenset((src, dst))]

    def tcp_reset(self, src: Endpoint, dst: Endpoint) -> None:
        flow = self._flow(src, dst)
        self._tcp(src, dst, flow.seq[src], flow.seq[dst], RST | ACK)
        del self.flows[frozenset((src, dst))]

    def udp(self, src: Endpoint, dst: Endpoint, data: bytes) -> None:
        header = struct.pack("!HHHH", src[1], dst[1], 8 + len(data), 0)
        pseudo = _pseudo(UDP, src[0], dst[0], 8 + len(data))
        datagram = header + data
        check = checksum(pseudo + datagram) or 0xFFFF
        datagram = datagram[:6] + struct.pack("!H", check) + datagram[8:]
        if ":" in src[0]:
            self._ipv6(UDP, src[0], dst[0], datagram)
            return
        ident = self._next_ident()
        for start in range(0, len(datagram), MTU_PAYLOAD):
            more = 0x2000 if start + MTU_PAYLOAD < len(datagram) else 0
            self._ipv4(UDP, src[0], dst[0], datagram[start : start + MTU_PAYLOAD], more | start // 8, ident)


def attach_ip_capture(kernel: Kernel, segment: Segment) -> None:
    """Make the #ip stack report its traffic to a new tap writing into ``segment``'s capture."""
    from kernkit.plugins.net.api import stack_of

    stack = stack_of(kernel)
    if stack is not None:
        stack.tap = IpCapture(segment, stack.address)
