"""Moving bytes between descriptors inside the kernel: splice(2) (one end a pipe) and
copy_file_range(2) (regular file to regular file). sendfile(2) is in fileio.

No page is shared: the bytes are read from one file and written to the other, with Linux's
argument checks and its rules for offsets. A source that consumes what is read (a pipe, a
socket) is only read once the target can take it, so nothing read is lost to a target that
waits: a stream target must poll writable first, and takes at most PIPE_BUF bytes a call,
which a writable pipe always has room for whole.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.core.devices import (
    DMDEVICE,
    DMDIR,
    DMNAMEDPIPE,
    DMSOCKET,
    DMSYMLINK,
    ORDWR,
    POLLIN,
    POLLOUT,
    Chan,
    DeviceError,
)
from kernkit.core.errnos import EAGAIN, EBADF, EINVAL, EISDIR, ESPIPE, EXDEV, errno_of
from kernkit.core.wait import pollers
from kernkit.plugins.linux_abi.chanio import (
    O_APPEND,
    O_NONBLOCK,
    O_RDWR,
    O_WRONLY,
    chan_read,
    chan_write,
    is_stream,
)

if TYPE_CHECKING:
    from kernkit.core.devices import Dir
    from kernkit.core.process import Thread

#: splice(2)'s flags: MOVE, NONBLOCK, MORE, GIFT; only NONBLOCK changes anything here.
SPLICE_F_NONBLOCK = 0x2
SPLICE_F_ALL = 0xF
#: Bytes a pipe takes whole once it polls writable (devpipe's PIPE_BUF).
PIPE_BUF = 4096
#: One call moves at most this much, as Linux's MAX_RW_COUNT (INT_MAX rounded down to a page).
MAX_RW_COUNT = 0x7FFF_F000
#: Linux's read/write limit on a loff_t: offsets past it are EINVAL.
LOFF_MAX = (1 << 63) - 1


def _stat(t: Thread, file: Chan) -> Dir | int:
    try:
        return file.driver.stat(file, caller=t)
    except DeviceError as exc:
        return -errno_of(exc.code)


def is_pipe(t: Thread, file: Any) -> bool:
    """Whether an open file is a pipe or a FIFO (a socketpair end, open both ways, is not)."""
    if type(file) is not Chan or (getattr(file.driver, "name", "") == "pipe" and file.mode & 3 == ORDWR):
        return False
    entry = _stat(t, file)
    return not isinstance(entry, int) and bool(entry.mode & DMNAMEDPIPE)


def _same_pipe(one: Chan, other: Chan) -> bool:
    """Whether two pipe files are ends of one pipe (or opens of one FIFO)."""
    if one.key == other.key:
        return True
    pipe = getattr(one.driver, "name", "") == "pipe" and one.driver is other.driver
    return pipe and one.aux[0] is other.aux[0]


def _readable(file: Chan) -> bool:
    return file.mode & 3 in (0, O_RDWR)


def _writable(file: Chan) -> bool:
    return file.mode & 3 in (O_WRONLY, O_RDWR)


def _offset(t: Thread, pointer: int) -> int | None:
    """The loff_t at ``pointer`` (None: the pointer is NULL); BadAddress propagates (EFAULT)."""
    if not pointer:
        return None
    value = t.process.aspace.read_u64(pointer)
    return value - (1 << 64) if value >= 1 << 63 else value


def _ready(t: Thread, file: Chan, event: int, nonblock: bool) -> int | None:
    """0 when ``file`` polls ``event`` (or is no stream, which never waits); else -EAGAIN when
    the call must not wait, or the thread sleeps until some file becomes ready (None)."""
    if not is_stream(file) or file.driver.poll(file) & (event | 0x18):  # POLLERR | POLLHUP
        return 0
    if nonblock or file.flags & O_NONBLOCK:
        return -EAGAIN
    pollers(t.kernel).sleep(t, restart=True)
    return None


def move(t: Thread, source: Chan, target: Chan, count: int, at: int | None, to: int | None) -> int | None:
    """Read up to ``count`` bytes of ``source`` (at ``at``, or at its offset, which advances by
    what the target took) and write them to ``target`` (at ``to``, or at its offset):
    bytes moved, or -errno, or None (the thread waits; the call runs again)."""
    consuming = is_stream(source)
    if consuming and is_stream(target):
        count = min(count, PIPE_BUF)
    advance = at is None and not consuming  # the source's own offset, moved by what was taken
    if advance:
        at = source.offset
    data = chan_read(t, source, count, at)
    if data is None or type(data) is int or not data:
        return data if data is None or type(data) is int else 0
    written = chan_write(t, target, data, to)
    if advance and written is not None and written > 0:
        source.offset += written
    return written


def sys_splice(
    t: Thread, fd_in: int, off_in: int, fd_out: int, off_out: int, length: int, flags: int
) -> int | None:
    files = t.process.files
    source, target = files.get(fd_in), files.get(fd_out)
    if source is None or target is None:
        return -EBADF
    if type(source) is not Chan or type(target) is not Chan:
        return -EINVAL
    if not _readable(source) or not _writable(target):
        return -EBADF
    if flags & ~SPLICE_F_ALL & 0xFFFF_FFFF:
        return -EINVAL
    source_pipe, target_pipe = is_pipe(t, source), is_pipe(t, target)
    if not (source_pipe or target_pipe):
        return -EINVAL
    if source_pipe and target_pipe and _same_pipe(source, target):
        return -EINVAL
    if (source_pipe and off_in) or (target_pipe and off_out):
        return -ESPIPE
    if target.flags & O_APPEND:
        return -EINVAL
    at, to = _offset(t, off_in), _offset(t, off_out)
    if (at is not None and at < 0) or (to is not None and to < 0):
        return -EINVAL
    if (at is not None and is_stream(source)) or (to is not None and is_stream(target)):
        return -ESPIPE
    count = min(length, MAX_RW_COUNT)
    if not count:
        return 0
    nonblock = bool(flags & SPLICE_F_NONBLOCK)
    waiting = _ready(t, target, POLLOUT, nonblock) if nonblock or is_stream(source) else 0
    if not waiting and nonblock:
        waiting = _ready(t, source, POLLIN, nonblock)
    if waiting != 0:
        return waiting
    moved = move(t, source, target, count, at, to)
    if moved is not None and moved > 0:
        if at is not None:
            t.process.aspace.write_u64(off_in, at + moved)
        if to is not None:
            t.process.aspace.write_u64(off_out, to + moved)
    return moved


def _regular(entry: Dir) -> int:
    """0 for a regular file; EISDIR for a directory, EINVAL for anything else."""
    if entry.mode & DMDIR:
        return EISDIR
    return EINVAL if entry.mode & (DMDEVICE | DMNAMEDPIPE | DMSOCKET | DMSYMLINK) else 0


def sys_copy_file_range(
    t: Thread, fd_in: int, off_in: int, fd_out: int, off_out: int, length: int, flags: int
) -> int | None:
    """Copy bytes between two regular files of one file system (device instance; another:
    EXDEV, as Linux 5.19 and later say when the file system cannot copy across)."""
    files = t.process.files
    source, target = files.get(fd_in), files.get(fd_out)
    if flags & 0xFFFF_FFFF:
        return -EINVAL
    if source is None or target is None:
        return -EBADF
    if type(source) is not Chan or type(target) is not Chan:
        return -EINVAL
    if not _readable(source) or not _writable(target) or target.flags & O_APPEND:
        return -EBADF
    entries = [_stat(t, source), _stat(t, target)]
    for entry in entries:
        if isinstance(entry, int):
            return entry
        problem = _regular(entry)
        if problem:
            return -problem
    at, to = _offset(t, off_in), _offset(t, off_out)
    start = source.offset if at is None else at
    end = target.offset if to is None else to
    if start < 0 or end < 0:
        return -EINVAL
    count = min(length, MAX_RW_COUNT)
    if start + count > LOFF_MAX or end + count > LOFF_MAX:
        return -EINVAL
    if source.key == target.key and start < end + count and end < start + count:
        return -EINVAL  # overlapping ranges of one file
    if (source.driver, source.devno) != (target.driver, target.devno):
        return -EXDEV
    if not count:
        return 0
    copied = move(t, source, target, count, start, end)
    if copied is None or copied <= 0:
        return copied
    if at is None:
        source.offset = start + copied
    else:
        t.process.aspace.write_u64(off_in, start + copied)
    if to is None:
        target.offset = end + copied
    else:
        t.process.aspace.write_u64(off_out, end + copied)
    return copied


SYSCALLS = (
    (275, "splice", sys_splice, 6),
    (326, "copy_file_range", sys_copy_file_range, 6),
)
