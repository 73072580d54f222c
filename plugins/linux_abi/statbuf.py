"""Linux's views of a file's Dir: struct stat, struct statx and directory entry types."""

from __future__ import annotations

import struct
import zlib
from typing import TYPE_CHECKING

from kernkit.core.devices import DMDEVICE, DMNAMEDPIPE, DMSOCKET, DMSPECIAL, DMSYMLINK, QTDIR, owner_id

if TYPE_CHECKING:
    from kernkit.core.devices import Chan, Dir, Qid

S_IFIFO, S_IFCHR, S_IFDIR, S_IFREG = 0o010000, 0o020000, 0o040000, 0o100000
S_IFLNK, S_IFSOCK = 0o120000, 0o140000
DT_FIFO, DT_CHR, DT_DIR, DT_REG, DT_LNK, DT_SOCK = 1, 2, 4, 8, 10, 12
STATX_BASIC_STATS = 0x7FF
NS = 1_000_000_000
_STAT = struct.Struct("<QQQIIIiQqqqqqqqqq24x")
_STATX_HEAD = struct.Struct("<IIQIIIHxxQQQQ")
_TIMESTAMP = struct.Struct("<qIi")
MASK64 = (1 << 64) - 1


def file_type(entry: Dir) -> int:
    """The S_IF* bits for a Dir."""
    if entry.qid.type & QTDIR:
        return S_IFDIR
    mode = entry.mode
    if mode & DMSYMLINK:
        return S_IFLNK
    if mode & DMNAMEDPIPE:
        return S_IFIFO
    if mode & DMDEVICE:
        return S_IFCHR
    if mode & DMSOCKET:
        return S_IFSOCK
    return S_IFREG


def dirent_type(entry: Dir) -> int:
    kinds = {S_IFDIR: DT_DIR, S_IFIFO: DT_FIFO, S_IFCHR: DT_CHR, S_IFSOCK: DT_SOCK, S_IFLNK: DT_LNK}
    return kinds.get(file_type(entry), DT_REG)


def inode_number(qid: Qid) -> int:
    """st_ino and d_ino for a file: never 0, which Linux programs take for a deleted entry."""
    return (qid.path + 1) & MASK64 or 1


_IDS: dict[str, int] = {}
_DEVICE_BITS: dict[str, int] = {}


def numeric_id(name: str) -> int:
    """A Dir owner name as a Linux uid/gid (remembered: every stat asks for two)."""
    number = _IDS.get(name)
    if number is None:
        if len(_IDS) >= 4096:
            _IDS.clear()
        number = _IDS[name] = owner_id(name)
    return number


def st_mode(entry: Dir) -> int:
    return file_type(entry) | (entry.mode & (0o777 | DMSPECIAL))


def link_count(entry: Dir) -> int:
    return entry.links or (2 if entry.qid.type & QTDIR else 1)


def device_number(chan: Chan) -> int:
    """A stable st_dev for a device instance: from the device's name and the instance number."""
    name = getattr(chan.driver, "name", "")
    bits = _DEVICE_BITS.get(name)
    if bits is None:
        bits = _DEVICE_BITS[name] = (zlib.crc32(name.encode()) & 0xFFF) << 8
    return bits | (chan.devno & 0xFF)


def _times(entry: Dir, epoch_ns: int) -> tuple[int, int, int]:
    mtime = entry.mtime + epoch_ns
    atime = (entry.atime or entry.mtime) + epoch_ns
    ctime = (entry.mtime if entry.ctime is None else entry.ctime) + epoch_ns
    return atime, mtime, ctime


def block_count(entry: Dir) -> int:
    """st_blocks: what the device says the file holds, else its length in 512-byte blocks."""
    return entry.blocks if entry.blocks is not None else (entry.length + 511) // 512


#: The last struct stat packed for each Dir (by identity: drivers that keep an unchanged file's
#: Dir, #root and #tmpfs, hand out the same one), with the device number and epoch it holds.
_PACKED: dict[int, tuple[Dir, int, int, bytes]] = {}
_PACKED_MAX = 1024


def pack_stat(chan: Chan, entry: Dir, epoch_ns: int) -> bytes:
    """struct stat (x86-64, 144 bytes)."""
    device = device_number(chan)
    known = _PACKED.get(id(entry))
    if known is not None and known[0] is entry and known[1] == device and known[2] == epoch_ns:
        return known[3]
    atime, mtime, ctime = _times(entry, epoch_ns)
    packed = _STAT.pack(
        device,
        inode_number(entry.qid),
        link_count(entry),
        st_mode(entry),
        numeric_id(entry.uid),
        numeric_id(entry.gid),
        0,
        0,
        entry.length,
        4096,
        block_count(entry),
        atime // NS,
        atime % NS,
        mtime // NS,
        mtime % NS,
        ctime // NS,
        ctime % NS,
    )
    if len(_PACKED) >= _PACKED_MAX:
        _PACKED.clear()
    _PACKED[id(entry)] = (entry, device, epoch_ns, packed)  # the Dir is kept: its id stays its own
    return packed


def pack_statx(chan: Chan, entry: Dir, epoch_ns: int) -> bytes:
    """struct statx (256 bytes) with the basic fields filled."""
    atime, mtime, ctime = _times(entry, epoch_ns)
    head = _STATX_HEAD.pack(
        STATX_BASIC_STATS,
        4096,
        0,
        link_count(entry),
        numeric_id(entry.uid),
        numeric_id(entry.gid),
        st_mode(entry),
        inode_number(entry.qid),
        entry.length,
        block_count(entry),
        0,
    )
    times = b"".join(_TIMESTAMP.pack(t // NS, t % NS, 0) for t in (atime, 0, ctime, mtime))
    dev = device_number(chan)
    tail = struct.pack("<IIII", 0, 0, dev >> 8, dev & 0xFF)
    return (head + times + tail).ljust(256, b"\0")
