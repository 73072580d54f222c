"""File syscalls on the descriptor table: read, write, readv, writev, close, ioctl, fstat."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.plugins.linux_abi.errno import EBADF, EFAULT, EINVAL, ENOTTY, EPIPE

if TYPE_CHECKING:
    from kernkit.core.files import OpenFile
    from kernkit.core.process import Thread

IOV_MAX = 1024
MAX_IO = 1 << 24  # one call moves at most 16 MiB, as a bound on host memory per call
S_IFCHR = 0o020000
SIGPIPE = 13


def sys_read(t: Thread, fd: int, buf: int, count: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    count = min(count, MAX_IO)
    if not t.process.aspace.allows(buf, count, "write"):  # before any input is consumed
        return -EFAULT
    data = file.read(t, count)
    if isinstance(data, int):
        return data
    t.process.aspace.write(buf, data)
    return len(data)


def sys_write(t: Thread, fd: int, buf: int, count: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    return _deliver(t, file, t.process.aspace.read(buf, min(count, MAX_IO)))


def _deliver(t: Thread, file: OpenFile, data: bytes) -> int:
    """Write ``data``; a reader that went away means SIGPIPE, as on Linux."""
    result = file.write(t, data)
    if result == -EPIPE:
        t.kernel.kill(t.process, SIGPIPE, f"pid {t.process.pid} ({t.process.name}) killed by SIGPIPE")
    return result


def _iovecs(t: Thread, iov: int, iovcnt: int) -> list[tuple[int, int]] | int:
    if iovcnt < 0 or iovcnt > IOV_MAX:
        return -EINVAL
    raw = t.process.aspace.read(iov, 16 * iovcnt)
    return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(iovcnt)]


def sys_writev(t: Thread, fd: int, iov: int, iovcnt: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    vectors = _iovecs(t, iov, iovcnt)
    if isinstance(vectors, int):
        return vectors
    written = 0
    for base, length in vectors:
        if written >= MAX_IO:  # one call moves at most MAX_IO bytes in all
            break
        length = min(length, MAX_IO - written)
        if length == 0:
            continue
        result = _deliver(t, file, t.process.aspace.read(base, length))
        if result < 0:
            return result if written == 0 else written
        written += result
        if result < length:
            break
    return written


def sys_readv(t: Thread, fd: int, iov: int, iovcnt: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    vectors = _iovecs(t, iov, iovcnt)
    if isinstance(vectors, int):
        return vectors
    for base, length in vectors:
        if length:
            length = min(length, MAX_IO)
            if not t.process.aspace.allows(base, length, "write"):
                return -EFAULT
            data = file.read(t, length)
            if isinstance(data, int):
                return data
            t.process.aspace.write(base, data)
            return len(data)
    return 0


def sys_close(t: Thread, fd: int) -> int:
    return 0 if t.process.files.close(fd) else -EBADF


def sys_ioctl(t: Thread, fd: int, request: int, arg: int) -> int:
    if t.process.files.get(fd) is None:
        return -EBADF
    return -ENOTTY  # no terminal ioctls yet: programs fall back to plain output


def sys_fstat(t: Thread, fd: int, statbuf: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    mode = (S_IFCHR | 0o620) if file.is_terminal() else 0o100644
    # struct stat (x86-64): dev, ino, nlink, mode, uid, gid, pad, rdev, size, blksize, blocks, times
    stat = struct.pack("<QQQIIIiQqqq", 0, fd + 1, 1, mode, 0, 0, 0, 0, 0, 4096, 0) + bytes(48)
    t.process.aspace.write(statbuf, stat)
    return 0
