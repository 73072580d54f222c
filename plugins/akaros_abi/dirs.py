"""Reading a directory, the Akaros way: ``read`` on a directory's descriptor returns
``struct kdirent`` records (ros_abi.h), as many as fit, and 0 at the end. Entries are the
namespace's (Plan 9's: no ``.`` or ``..``); the descriptor's offset counts entries."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.devices import DMSYMLINK, QTDIR, Chan, DeviceError
from kernkit.core.errnos import EINVAL, errno_of
from kernkit.plugins.linux_abi.api import inode_number
from kernkit.plugins.ns.api import enter

if TYPE_CHECKING:
    from kernkit.core.process import Thread

#: d_ino, d_off, d_reclen, d_type, then d_name[256]; aligned to 8
KDIRENT = struct.Struct("<QqHB")
KDIRENT_SIZE = 280
DT_DIR, DT_REG, DT_LNK = 4, 8, 10


def is_directory(file: object) -> bool:
    return type(file) is Chan and bool(file.qid.type & QTDIR)


def read_directory(t: Thread, file: Chan, buf: int, count: int) -> int:
    if file.dirents is None:
        try:
            file.dirents = list(enter(t.process).namespace.dirread(file))
        except DeviceError as exc:
            return -errno_of(exc.code)
    out = bytearray()
    position = file.offset
    while position < len(file.dirents) and len(out) + KDIRENT_SIZE <= count:
        entry = file.dirents[position]
        kind = DT_DIR if entry.qid.type & QTDIR else DT_LNK if entry.mode & DMSYMLINK else DT_REG
        name = entry.name.encode("utf-8", "surrogateescape")[:255]
        record = KDIRENT.pack(inode_number(entry.qid), position + 1, KDIRENT_SIZE, kind) + name
        out += record + bytes(KDIRENT_SIZE - len(record))
        position += 1
    if not out and position < len(file.dirents):
        return -EINVAL  # the buffer cannot hold one record
    t.process.aspace.write(buf, bytes(out))
    file.offset = position
    return len(out)
