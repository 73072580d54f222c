"""Classic pcap files (the libpcap format tshark and Wireshark read), nanosecond stamps."""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import BinaryIO

#: The magic of a nanosecond-resolution classic pcap file, written little-endian.
MAGIC_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1
SNAPLEN = 65535


def file_header(linktype: int = LINKTYPE_ETHERNET) -> bytes:
    """magic, version 2.4, zone 0, sigfigs 0, snaplen, link type."""
    return struct.pack("<IHHiIII", MAGIC_NS, 2, 4, 0, 0, SNAPLEN, linktype)


def record(ns: int, frame: bytes) -> bytes:
    """One packet record: seconds, nanoseconds, captured and original length, the bytes."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return struct.pack("<IIII", seconds, nanos, len(frame), len(frame)) + frame


class PcapWriter:
    """Appends records to an open file, flushing each so a reader following the file (wireshark
    -k -i - < fifo, tail -f) sees frames as they cross. The header is written at once (OSError
    if it cannot be); a later write that fails (a full disk) stops the capture, not the kernel:
    ``report`` gets one line saying so."""

    def __init__(self, file: BinaryIO, name: str = "", report: Callable[[str], None] | None = None) -> None:
        self.file = file
        self.name = name
        self.report = report
        self.frames = 0
        self.failed = False
        file.write(file_header())
        file.flush()

    def write(self, ns: int, frame: bytes) -> None:
        if self.failed:
            return
        try:
            self.file.write(record(ns, frame))
            self.file.flush()
        except OSError as exc:
            self.failed = True
            if self.report is not None:
                self.report(
                    f"[ether] pcap: writing {self.name!r} failed ({exc.strerror}); "
                    f"capture stopped after {self.frames} frames"
                )
            return
        self.frames += 1

    def close(self) -> None:
        self.file.close()
