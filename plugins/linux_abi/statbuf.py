"""Linux's views of a file's Dir: struct stat, struct statx and directory entry types."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

from kernkit.core.devices import DMDEVICE, DMNAMEDPIPE, DMSOCKET, QTDIR

if TYPE_CHECKING:
    from kernkit.core.devices import Chan, Dir

S_IFIFO, S_IFCHR, S_IFDIR, S_IFREG, S_IFSOCK = 0o010000, 0o020000, 0o040000, 0o100000, 0o140000
DT_FIFO, DT_CHR, DT_DIR, DT_REG, DT_SOCK = 1, 2, 4, 8, 12
STATX_BASIC_STATS = 0x7FF
NS = 1_000_000_000
_STAT = struct.Struct("<QQQIIIiQqqqqqqqqq24x")
_STATX_HEAD = struct.Struct("<IIQIIIHxxQQQQ")
_TIMESTAMP = struct.Struct("<qIi")


def file_type(entry: Dir) -> int:
    """The S_IF* bits for a Dir."""
    if entry.qid.type & QTDIR:
        return S_IFDIR
    mode = entry.mode
    if mode & DMNAMEDPIPE:
        return S_IFIFO
    if mode & DMDEVICE:
        return S_IFCHR
    if mode & DMSOCKET:
        return S_IFSOCK
    return S_IFREG


def dirent_type(entry: Dir) -> int:
    kinds = {S_IFDIR: DT_DIR, S_IFIFO: DT_FIFO, S_IFCHR: DT_CHR, S_IFSOCK: DT_SOCK}
    return kinds.get(file_type(entry), DT_REG)


def device_number(chan: Chan) -> int:
    """A stable st_dev for a device instance: from the device's name and the instance number."""
    name = getattr(chan.driver, "name", "")
    return (zlib.crc32(name.encode()) & 0xFFF) << 8 | (chan.devno & 0xFF)


def pack_stat(chan: Chan, entry: Dir, epoch_ns: int) -> bytes:
    """struct stat (x86-64, 144 bytes)."""
    kind = file_type(entry)
    mtime, atime = entry.mtime + epoch_ns, (entry.atime or entry.mtime) + epoch_ns
    return _STAT.pack(
        device_number(chan),
        entry.qid.path & 0xFFFF_FFFF_FFFF_FFFF,
        2 if kind == S_IFDIR else 1,
        kind | (entry.mode & 0o7777),
        0,
        0,
        0,
        0,
        entry.length,
        4096,
        (entry.length + 511) // 512,
        atime // NS,
        atime % NS,
        mtime // NS,
        mtime % NS,
        mtime // NS,
        mtime % NS,
    )


def pack_statx(chan: Chan, entry: Dir, epoch_ns: int) -> bytes:
    """struct statx (256 bytes) with the basic fields filled."""
    kind = file_type(entry)
    mtime, atime = entry.mtime + epoch_ns, (entry.atime or entry.mtime) + epoch_ns
    head = _STATX_HEAD.pack(
        STATX_BASIC_STATS,
        4096,
        0,
        2 if kind == S_IFDIR else 1,
        0,
        0,
        kind | (entry.mode & 0o7777),
        entry.qid.path & 0xFFFF_FFFF_FFFF_FFFF,
        entry.length,
        (entry.length + 511) // 512,
        0,
    )
    times = b"".join(_TIMESTAMP.pack(t // NS, t % NS, 0) for t in (atime, mtime, mtime, mtime))
    dev = device_number(chan)
    tail = struct.pack("<IIII", 0, 0, dev >> 8, dev & 0xFF)
    return (head + times + tail).ljust(256, b"\0")
