"""Descriptor syscalls: read, write and their vector and positional forms, close, lseek, dup,
fcntl, ioctl, fstat, getdents64, pipe2, ftruncate, fsync.

Descriptors hold channels of the namespace (kernkit.core.devices.Chan) or, for personalities
that install their own, plain OpenFile objects; both work here.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from kernkit.arch.x86_64.api import NativeFiles, native_files
from kernkit.core.devices import DMDIR, OREAD, OWRITE, QTDIR, Chan, DeviceError, Dir, WouldBlock, Wstat
from kernkit.core.errnos import (
    EBADF,
    EFAULT,
    EINVAL,
    EISDIR,
    EMFILE,
    ENOTDIR,
    ENOTTY,
    EPIPE,
    ESPIPE,
    errno_of,
)
from kernkit.core.pagecache import PageCache
from kernkit.plugins.linux_abi import locks
from kernkit.plugins.linux_abi.capabilities import capabilities
from kernkit.plugins.linux_abi.chanio import (
    O_APPEND,
    O_CLOEXEC,
    O_NONBLOCK,
    O_RDWR,
    O_WRONLY,
    chan_read,
    chan_write,
    is_stream,
    wait_read,
)
from kernkit.plugins.linux_abi.jobs import terminal_ioctl
from kernkit.plugins.linux_abi.signals import sigpipe as sigpipe_to
from kernkit.plugins.linux_abi.statbuf import dirent_type, inode_number, pack_stat
from kernkit.plugins.ns.api import PAGE_CACHE_READERS, enter, pipe_size

if TYPE_CHECKING:
    from kernkit.core.files import OpenFile
    from kernkit.core.process import Thread

IOV_MAX = 1024
MAX_IO = 1 << 24  # one call moves at most 16 MiB, as a bound on host memory per call
S_IFCHR = 0o020000
NS = 1_000_000_000
SEEK_SET, SEEK_CUR, SEEK_END = 0, 1, 2
F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_DUPFD_CLOEXEC, F_SETPIPE_SZ, F_GETPIPE_SZ = 1030, 1031, 1032
LOCK_COMMANDS = (
    locks.F_GETLK,
    locks.F_SETLK,
    locks.F_SETLKW,
    locks.F_OFD_GETLK,
    locks.F_OFD_SETLK,
    locks.F_OFD_SETLKW,
)
FD_CLOEXEC = 1
#: CAP_SYS_RESOURCE: F_SETPIPE_SZ past fs.pipe-max-size.
CAP_SYS_RESOURCE = 1 << 24
_DIRENT_HEAD = struct.Struct("<QqHB")
PIPE_ENDS = (("data", OREAD), ("data1", OWRITE))


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def epoch_ns(t: Thread) -> int:
    return t.kernel.config["linux"].epoch * NS


# --- read and write ---------------------------------------------------------------------------


def sys_read(t: Thread, fd: int, buf: int, count: int) -> int | None:
    process = t.process
    file = process.files.get(fd)
    if file is None:
        return -EBADF
    if count > MAX_IO:
        count = MAX_IO
    aspace = process.aspace
    if not aspace.allows(buf, count, "write"):  # before any input is consumed
        return -EFAULT
    if type(file) is Chan:  # chan_read, inline: every read of a file
        if file.mode & 3 == O_WRONLY:
            return -EBADF
        if file.qid.type & QTDIR:
            return -EISDIR
        try:
            data = file.driver.read(file, count, file.offset, caller=t)
        except DeviceError as exc:
            return -errno_of(exc.code)
        except WouldBlock as blocked:

            def deliver(data: bytes) -> int:
                aspace.write(buf, data)
                return len(data)

            return wait_read(t, file, count, blocked, (deliver, (fd, buf, count)))
        file.offset += len(data)
    else:
        data = file.read(t, count)
        if data is None or type(data) is int:
            return data
    aspace.write(buf, data)
    return len(data)


def sys_write(t: Thread, fd: int, buf: int, count: int) -> int | None:
    return write_fd(t, fd, buf, count)


def write_fd(t: Thread, fd: int, buf: int, count: int, *, sigpipe: bool = True) -> int | None:
    """write(2); with ``sigpipe`` a reader that went away also means SIGPIPE, as on Linux (a
    personality without Unix signals passes False and gets just EPIPE)."""
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    data = t.process.aspace.read(buf, min(count, MAX_IO))
    if type(file) is Chan:
        return chan_write(t, file, data, sigpipe=sigpipe)
    return _deliver(t, file, data, sigpipe)


def _deliver(t: Thread, file: OpenFile, data: bytes, sigpipe: bool = True) -> int:
    """Write ``data`` to a plain OpenFile; a reader that went away means SIGPIPE, as on Linux."""
    result = file.write(t, data)
    if result == -EPIPE and sigpipe:
        sigpipe_to(t)
    return result


def _positioned(t: Thread, fd: int, offset: int) -> Chan | int:
    """The file for a pread/pwrite at ``offset``, or -errno (not open, not seekable, offset < 0)."""
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    if type(file) is not Chan or is_stream(file):
        return -ESPIPE
    return file if _signed(offset) >= 0 else -EINVAL


def sys_pread64(t: Thread, fd: int, buf: int, count: int, offset: int) -> int | None:
    file = _positioned(t, fd, offset)
    if type(file) is int:
        return file
    count = min(count, MAX_IO)
    if not t.process.aspace.allows(buf, count, "write"):
        return -EFAULT
    data = chan_read(t, file, count, offset)
    if data is None or type(data) is int:
        return data
    t.process.aspace.write(buf, data)
    return len(data)


def sys_pwrite64(t: Thread, fd: int, buf: int, count: int, offset: int) -> int | None:
    file = _positioned(t, fd, offset)
    if type(file) is int:
        return file
    return chan_write(t, file, t.process.aspace.read(buf, min(count, MAX_IO)), offset)


def _iovecs(t: Thread, iov: int, iovcnt: int) -> list[tuple[int, int]] | int:
    if iovcnt < 0 or iovcnt > IOV_MAX:
        return -EINVAL
    raw = t.process.aspace.read(iov, 16 * iovcnt)
    return [struct.unpack_from("<QQ", raw, 16 * i) for i in range(iovcnt)]


def sys_writev(t: Thread, fd: int, iov: int, iovcnt: int) -> int | None:
    """The vectors' bytes go out as one write (at most MAX_IO of them)."""
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    vectors = _iovecs(t, iov, iovcnt)
    if isinstance(vectors, int):
        return vectors
    pieces, total = [], 0
    for base, length in vectors:
        length = min(length, MAX_IO - total)
        if length:
            pieces.append(t.process.aspace.read(base, length))
            total += length
    data = b"".join(pieces)
    if not data:
        return 0
    if type(file) is Chan:
        return chan_write(t, file, data)
    return _deliver(t, file, data)


def sys_readv(t: Thread, fd: int, iov: int, iovcnt: int) -> int | None:
    """One read, into the vectors in turn."""
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    vectors = _iovecs(t, iov, iovcnt)
    if isinstance(vectors, int):
        return vectors
    aspace = t.process.aspace
    vectors = [(base, min(length, MAX_IO)) for base, length in vectors if length]
    for base, length in vectors:
        if not aspace.allows(base, length, "write"):
            return -EFAULT
    total = min(sum(length for _, length in vectors), MAX_IO)
    if not total:
        return 0
    if type(file) is not Chan:
        data = file.read(t, total)
    else:

        def deliver(data: bytes) -> int:
            scatter(aspace, vectors, data)
            return len(data)

        data = chan_read(t, file, total, finish=(deliver, (fd, iov, iovcnt)))
    if data is None or type(data) is int:
        return data
    scatter(aspace, vectors, data)
    return len(data)


# --- descriptors --------------------------------------------------------------------------------


def sys_close(t: Thread, fd: int) -> int:
    process = t.process
    files = process.files
    file = files.get(fd)
    if not files.close(fd):
        return -EBADF
    if locks.LOCKS in process.kernel.data:  # locks.closed's own first test, inline: most closes
        locks.closed(process, file)
    return 0


#: The native system call entry does a read of a cached page of a #tmpfs file and a close that
#: is only bookkeeping itself, as these do them (arch/x86_64/_native.c, fast_read and
#: fast_close: keep them in step); these run in every other case.
native_files(NativeFiles(sys_read, sys_close, Chan, PAGE_CACHE_READERS, PageCache, locks.LOCKS))


#: close_range(2)'s flags: give the caller its own descriptor table first; mark, not close.
CLOSE_RANGE_UNSHARE, CLOSE_RANGE_CLOEXEC = 1 << 1, 1 << 2


def sys_close_range(t: Thread, first: int, last: int, flags: int) -> int:
    """Close (or with CLOSE_RANGE_CLOEXEC mark close-on-exec) the open descriptors from first to
    last. A table is shared only by a process's threads and is never unshared: UNSHARE is
    honoured when the caller is the only thread, -EINVAL otherwise."""
    first, last = first & 0xFFFF_FFFF, last & 0xFFFF_FFFF
    if flags & ~(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) or first > last:
        return -EINVAL
    if flags & CLOSE_RANGE_UNSHARE and len(t.process.threads) > 1:
        return -EINVAL
    files = t.process.files
    for fd, file in list(files):
        if first <= fd <= last:
            if flags & CLOSE_RANGE_CLOEXEC:
                files.set_cloexec(fd, True)
            else:
                files.close(fd)
                locks.closed(t.process, file)
    return 0


def sys_dup(t: Thread, fd: int) -> int:
    files = t.process.files
    file = files.get(fd)
    if file is None:
        return -EBADF
    new = files.install(file)
    return new if new >= 0 else -EMFILE


def sys_dup2(t: Thread, old: int, new: int) -> int:
    files = t.process.files
    file = files.get(old)
    if file is None:
        return -EBADF
    if old == new:
        return new
    if new >= files.limit:
        return -EBADF
    return _replace(t, file, new, False)


def _replace(t: Thread, file: Any, new: int, cloexec: bool) -> int:
    """Install ``file`` at descriptor ``new``, closing (and unlocking) what was there."""
    files = t.process.files
    previous = files.get(new)
    files.install(file, new, cloexec=cloexec)
    if previous is not None and previous is not file:
        locks.closed(t.process, previous)
    return new


def sys_dup3(t: Thread, old: int, new: int, flags: int) -> int:
    if old == new or flags & ~O_CLOEXEC:
        return -EINVAL
    files = t.process.files
    file = files.get(old)
    if file is None:
        return -EBADF
    if new >= files.limit:
        return -EBADF
    return _replace(t, file, new, bool(flags & O_CLOEXEC))


def sys_fcntl(t: Thread, fd: int, cmd: int, arg: int) -> int | None:
    files = t.process.files
    file = files.get(fd)
    if file is None:
        return -EBADF
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if arg >= files.limit:
            return -EINVAL
        new = files.install(file, lowest=arg, cloexec=cmd == F_DUPFD_CLOEXEC)
        return new if new >= 0 else -EMFILE
    if cmd == F_GETFD:
        return FD_CLOEXEC if files.is_cloexec(fd) else 0
    if cmd == F_SETFD:
        files.set_cloexec(fd, bool(arg & FD_CLOEXEC))
        return 0
    if cmd == F_GETFL:
        return file.flags & 0xFFFF_FFFF & ~O_CLOEXEC if type(file) is Chan else O_RDWR
    if cmd == F_SETFL:
        if type(file) is Chan:
            changeable = O_APPEND | O_NONBLOCK
            file.flags = (file.flags & ~changeable) | (arg & changeable)
        return 0
    if cmd in LOCK_COMMANDS:
        return locks.fcntl_lock(t, file, cmd, arg) if type(file) is Chan else -EINVAL
    if cmd in (F_GETPIPE_SZ, F_SETPIPE_SZ):
        if type(file) is not Chan:
            return -EBADF
        size = None if cmd == F_GETPIPE_SZ else arg & 0xFFFF_FFFF
        try:
            return pipe_size(file, size, privileged=bool(capabilities(t.process) & CAP_SYS_RESOURCE))
        except DeviceError as exc:
            return -errno_of(exc.code)
    return -EINVAL


#: The requests Linux answers for every descriptor, before the file's own ioctl.
FIONBIO, FIONCLEX, FIOCLEX = 0x5421, 0x5450, 0x5451


def sys_ioctl(t: Thread, fd: int, request: int, arg: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    request &= 0xFFFF_FFFF
    if request == FIONBIO:  # what F_SETFL does to O_NONBLOCK (Python's socket.setblocking)
        (on,) = struct.unpack("<i", t.process.aspace.read(arg, 4))
        if type(file) is Chan:
            file.flags = file.flags | O_NONBLOCK if on else file.flags & ~O_NONBLOCK
        return 0
    if request in (FIOCLEX, FIONCLEX):
        t.process.files.set_cloexec(fd, request == FIOCLEX)
        return 0
    control = getattr(file.driver, "linux_ioctl", None) if type(file) is Chan else None
    if control is not None:  # a device's own requests (a socket's SIOCGIF*, say)
        answer = control(t, file, request, arg)
        if answer is not None:
            return answer
    answer = terminal_ioctl(t, file, request, arg)
    return -ENOTTY if answer is None else answer  # not a terminal: programs fall back to plain output


def sys_lseek(t: Thread, fd: int, offset: int, whence: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    if type(file) is not Chan or is_stream(file):
        return -ESPIPE
    offset = _signed(offset)
    if whence == SEEK_SET:
        position = offset
    elif whence == SEEK_CUR:
        position = file.offset + offset
    elif whence == SEEK_END:
        try:
            position = file.driver.stat(file, caller=t).length + offset
        except DeviceError as exc:
            return -errno_of(exc.code)
    else:
        return -EINVAL
    if position < 0:
        return -EINVAL
    if file.qid.type & QTDIR and position == 0:
        file.dirents = None  # rewinddir: list the directory afresh
    file.offset = position
    return position


def sys_fstat(t: Thread, fd: int, statbuf: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    if type(file) is Chan:
        try:
            entry = file.driver.stat(file, caller=t)
        except DeviceError as exc:
            return -errno_of(exc.code)
        t.process.aspace.write(statbuf, pack_stat(file, entry, epoch_ns(t)))
        return 0
    mode = (S_IFCHR | 0o620) if file.is_terminal() else 0o100644
    # struct stat (x86-64): dev, ino, nlink, mode, uid, gid, pad, rdev, size, blksize, blocks, times
    stat = struct.pack("<QQQIIIiQqqq", 0, fd + 1, 1, mode, 0, 0, 0, 0, 0, 4096, 0) + bytes(72)
    t.process.aspace.write(statbuf, stat)
    return 0


def sys_ftruncate(t: Thread, fd: int, length: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    length = _signed(length)
    if type(file) is not Chan or file.mode & 3 not in (O_WRONLY, O_RDWR) or length < 0:
        return -EINVAL  # Linux says EINVAL for a descriptor not open for writing, too
    try:
        file.driver.wstat(file, Wstat(length=length), caller=t)
    except DeviceError as exc:
        return -errno_of(exc.code)
    return 0


def sys_fsync(t: Thread, fd: int) -> int:
    return 0 if t.process.files.get(fd) is not None else -EBADF


#: posix_fadvise's advice: NORMAL, RANDOM, SEQUENTIAL, WILLNEED, DONTNEED, NOREUSE.
FADVISE_ADVICE = range(6)


def sys_fadvise64(t: Thread, fd: int, offset: int, length: int, advice: int) -> int:
    """Advice on how a file will be read: checked as Linux checks it, then nothing to do (files
    are read ahead as they are touched, whatever the advice; nothing is ever evicted early)."""
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    if type(file) is not Chan or is_stream(file):
        return -ESPIPE
    if advice & 0xFFFF_FFFF not in FADVISE_ADVICE:  # no backing device: the length goes unchecked
        return -EINVAL
    return 0


# --- directories ----------------------------------------------------------------------------------


def sys_getdents64(t: Thread, fd: int, dirp: int, count: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    if type(file) is not Chan or not file.qid.type & QTDIR:
        return -ENOTDIR
    entries = file.dirents
    if entries is None:
        view = enter(t.process)
        try:
            listed = view.namespace.dirread(file, caller=t)
        except DeviceError as exc:
            return -errno_of(exc.code)
        entries = file.dirents = [
            Dir(".", file.qid, DMDIR),
            Dir("..", _parent_qid(view, file, t), DMDIR),
            *listed,
        ]
    out = bytearray()
    position = file.offset
    while position < len(entries):
        entry = entries[position]
        name = entry.name.encode("utf-8", "surrogateescape")
        size = (_DIRENT_HEAD.size + len(name) + 1 + 7) & ~7
        if len(out) + size > count:
            break
        record = _DIRENT_HEAD.pack(inode_number(entry.qid), position + 1, size, dirent_type(entry))
        out += record + name + bytes(size - len(record) - len(name))
        position += 1
    if not out and position < len(entries):
        return -EINVAL  # the buffer cannot hold even one entry
    t.process.aspace.write(dirp, bytes(out))
    file.offset = position
    return len(out)


def _parent_qid(view: Any, directory: Chan, caller: Thread) -> Any:
    """The qid of the directory ``..`` names from ``directory`` (itself at a root)."""
    path = directory.path
    if path in ("/", "") or "/" not in path:
        return directory.qid
    try:
        return view.namespace.walk(path.rsplit("/", 1)[0] or "/", caller=caller).qid
    except DeviceError:
        return directory.qid


# --- pipes ----------------------------------------------------------------------------------------


def sys_sendfile(t: Thread, out_fd: int, in_fd: int, offset: int, count: int) -> int | None:
    """Copy from a file (not a stream: EINVAL, as Linux says) to any descriptor, from ``*offset``
    (which is then updated) or from the input's own offset (which advances by what was sent)."""
    source, target = t.process.files.get(in_fd), t.process.files.get(out_fd)
    if source is None or target is None:
        return -EBADF
    if type(source) is not Chan or is_stream(source) or source.qid.type & QTDIR:
        return -EINVAL
    position = source.offset if not offset else _signed(t.process.aspace.read_u64(offset))
    if position < 0:
        return -EINVAL
    data = chan_read(t, source, min(count, MAX_IO), position)
    if data is None or type(data) is int:
        return data
    if not data:
        return 0
    sent = chan_write(t, target, data) if type(target) is Chan else _deliver(t, target, data)
    if sent is None or sent < 0:
        return sent
    if offset:
        t.process.aspace.write_u64(offset, position + sent)
    else:
        source.offset = position + sent
    return sent


def sys_pipe2(t: Thread, fds: int, flags: int) -> int:
    if flags & ~(O_CLOEXEC | O_NONBLOCK):
        return -EINVAL
    aspace = t.process.aspace
    if not aspace.allows(fds, 8, "write"):
        return -EFAULT
    view = enter(t.process)
    namespace = view.namespace
    try:
        pipe = namespace.devices.attach("#pipe")
        ends = [
            namespace.open(pipe.driver.walk(pipe, name, caller=t), mode, caller=t) for name, mode in PIPE_ENDS
        ]
    except DeviceError as exc:
        return -errno_of(exc.code)
    files = t.process.files
    numbers = []
    for end, access in zip(ends, (0, O_WRONLY), strict=True):
        end.path = "#pipe/" + ("data" if access == 0 else "data1")
        end.flags = access | (flags & O_NONBLOCK)
        number = files.install(end, cloexec=bool(flags & O_CLOEXEC))
        if number < 0:
            for installed in numbers:
                files.close(installed)
            for unheld in ends[len(numbers) :]:
                unheld.close()
            return -EMFILE
        numbers.append(number)
    aspace.write(fds, struct.pack("<ii", *numbers))
    return 0


def sys_pipe(t: Thread, fds: int) -> int:
    return sys_pipe2(t, fds, 0)


def scatter(aspace: Any, vectors: list[tuple[int, int]], data: bytes) -> None:
    """Spread ``data`` over the (address, length) buffers of an iovec array, in order."""
    done = 0
    for base, length in vectors:
        if done >= len(data):
            break
        piece = data[done : done + length]
        aspace.write(base, piece)
        done += len(piece)
