"""The virtual ethernet segment: NICs on one hub, connections filtering frames by type.

A frame written by a connection gets its NIC's address as source and crosses the segment: the
pcap file (when configured) records it, then every NIC sees it, as on a hub. A NIC passes a
frame up to each of its connections, except the one that sent it, whose type matches (or is
-1, all types) and that is promiscuous or to whom the frame is addressed (the NIC's own
address, broadcast or multicast). Each connection holds at most ``[ether] queue`` frames for
its reader; more are dropped and counted. Nothing waits to send: the wire takes every frame.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import DeviceError, WouldBlock
from kernkit.core.errors import KernkitError
from kernkit.core.state import Slot
from kernkit.core.wait import WaitQueue, wake_pollers
from kernkit.plugins.ether.pcap import PcapWriter

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

MIN_FRAME, MAX_FRAME = 14, 1514  # 6 destination, 6 source, 2 type, at most 1500 data
ALL_TYPES = -1
UNCONNECTED = None
BROADCAST = b"\xff" * 6


def mac_text(mac: bytes) -> str:
    return mac.hex(":")


class Conn:
    """One connection of a NIC: a type filter and a queue of frames for its reader."""

    def __init__(self, nic: Nic, index: int, limit: int) -> None:
        self.nic = nic
        self.index = index
        self.type: int | None = UNCONNECTED
        self.promiscuous = False
        self.frames: deque[bytes] = deque()
        self.limit = limit
        self.opens = 0
        self.err = ""
        self.owner = ""
        self.queue = WaitQueue(nic.segment.kernel)
        self.sent = self.received = self.dropped = 0

    @property
    def name(self) -> str:
        return f"ether{self.nic.index}/{self.index}"

    def wants(self, frame: bytes, addressed: bool) -> bool:
        if self.type is UNCONNECTED or not (addressed or self.promiscuous):
            return False
        return self.type == ALL_TYPES or self.type == int.from_bytes(frame[12:14], "big")

    def deliver(self, frame: bytes) -> None:
        if len(self.frames) >= self.limit:
            self.dropped += 1
            return
        self.frames.append(frame)
        if len(self.queue):
            self.queue.wake(len(self.queue))

    def read(self, count: int) -> bytes:
        if self.type is UNCONNECTED:
            raise DeviceError("EINVAL", f"{self.name} has no type yet: write 'connect TYPE' to its ctl")
        if not self.frames:
            raise WouldBlock(self.queue)
        frame = self.frames.popleft()
        self.received += 1
        return frame[:count]  # a short read takes the head of the frame; the rest is gone

    def write(self, frame: bytes) -> int:
        if len(frame) < MIN_FRAME:
            raise DeviceError(
                "EINVAL", f"a frame is {MIN_FRAME} to {MAX_FRAME} bytes (header and data), not {len(frame)}"
            )
        if len(frame) > MAX_FRAME:
            raise DeviceError(
                "EMSGSIZE", f"a frame is {MIN_FRAME} to {MAX_FRAME} bytes (header and data), not {len(frame)}"
            )
        self.sent += 1
        self.nic.transmit(frame, self)
        return len(frame)

    def stats(self) -> str:
        kind = "none" if self.type is UNCONNECTED else str(self.type)
        return (
            f"type: {kind}\nprom: {int(self.promiscuous)}\nin: {self.received}\nout: {self.sent}\n"
            f"queued: {len(self.frames)}\ndropped: {self.dropped}\n"
        )


class Nic:
    """One virtual NIC (etherN): an address, its connections, counters."""

    def __init__(self, segment: Segment, index: int, mac: bytes) -> None:
        self.segment = segment
        self.index = index
        self.mac = mac
        self.conns: list[Conn | None] = []
        self.frames_in = self.frames_out = self.bytes_in = self.bytes_out = 0

    def new_conn(self, owner: str) -> Conn:
        index = next((i for i, c in enumerate(self.conns) if c is None), len(self.conns))
        if index >= 1024:
            raise DeviceError("ENFILE", f"ether{self.index} has 1024 connections already")
        conn = Conn(self, index, self.segment.queue_limit)
        conn.owner = owner
        if index == len(self.conns):
            self.conns.append(conn)
        else:
            self.conns[index] = conn
        return conn

    def conn(self, index: int) -> Conn | None:
        return self.conns[index] if 0 <= index < len(self.conns) else None

    def free(self, conn: Conn) -> None:
        if conn.index < len(self.conns) and self.conns[conn.index] is conn:
            self.conns[conn.index] = None
            while self.conns and self.conns[-1] is None:
                self.conns.pop()

    def transmit(self, frame: bytes, sender: Conn | None) -> None:
        frame = frame[:6] + self.mac + frame[12:]  # the NIC's address is the source, as in Plan 9
        self.frames_out += 1
        self.bytes_out += len(frame)
        self.segment.carry(frame, sender)

    def receive(self, frame: bytes, sender: Conn | None) -> bool:
        """Offer a frame seen on the wire to the connections; whether any took it."""
        destination = frame[:6]
        addressed = destination == self.mac or bool(destination[0] & 1)
        taken = False
        for conn in self.conns:
            if conn is not None and conn is not sender and conn.wants(frame, addressed):
                conn.deliver(frame)
                taken = True
        if addressed and not (sender is not None and sender.nic is self):
            self.frames_in += 1
            self.bytes_in += len(frame)
        return taken

    def promiscuous(self) -> bool:
        return any(c is not None and c.promiscuous for c in self.conns)

    def stats(self) -> str:
        return (
            f"in: {self.frames_in}\nout: {self.frames_out}\nbytes in: {self.bytes_in}\n"
            f"bytes out: {self.bytes_out}\ndropped: {sum(c.dropped for c in self.conns if c)}\n"
            f"prom: {int(self.promiscuous())}\nmbps: 1000\naddr: {self.mac.hex()}\n"
        )

    def ifstats(self) -> str:
        return (
            f"driver: kernkit virtual hub, {len(self.segment.nics)} ports\nlink: 1\nmtu: 1500\n"
            f"address: {mac_text(self.mac)}\n"
        )


class Segment:
    """Per kernel: the NICs on the hub and the capture file."""

    def __init__(self, kernel: Kernel, macs: list[bytes], queue_limit: int, pcap: PcapWriter | None) -> None:
        self.kernel = kernel
        self.queue_limit = queue_limit
        self.nics = [Nic(self, index, mac) for index, mac in enumerate(macs)]
        self.pcap = pcap
        self.last_ns = 0
        self.frames = 0

    def stamp(self) -> int:
        """Virtual time now, never before the previous frame's (cores' clocks differ a little)."""
        kernel = self.kernel
        self.last_ns = max(self.last_ns, kernel.now(kernel.active_core))
        return self.last_ns

    def record(self, frame: bytes) -> None:
        """Write a frame to the capture file, if there is one (frames made up for #ip too)."""
        if self.pcap is not None:
            self.pcap.write(self.stamp(), frame)

    def carry(self, frame: bytes, sender: Conn | None) -> None:
        self.frames += 1
        self.record(frame)
        taken = False
        for nic in self.nics:
            taken |= nic.receive(frame, sender)
        if taken:
            wake_pollers(self.kernel)

    def close(self) -> None:
        if self.pcap is not None:
            self.pcap.close()
            self.pcap = None


SEGMENT: Slot[Segment] = Slot("ether.segment")


def segment_of(kernel: Kernel) -> Segment:
    """The kernel's segment, made on first use from ``[ether]`` (KernkitError when the capture
    file cannot be opened)."""
    segment = SEGMENT.get(kernel)
    if segment is None:
        options: Any = kernel.config["ether"]
        pcap = None
        if options.pcap:
            try:
                file = open(options.pcap, "wb")  # noqa: SIM115 - open for the kernel's life
                pcap = PcapWriter(file, options.pcap, kernel.message)
            except OSError as exc:
                raise KernkitError(f"[ether] pcap: cannot write {options.pcap!r}: {exc.strerror}") from None
        segment = SEGMENT.set(kernel, Segment(kernel, options.macs(), options.queue, pcap))
    return segment
