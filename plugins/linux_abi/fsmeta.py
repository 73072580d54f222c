"""File metadata and the rest of the path calls: owners (chown), times (utimensat), hard and
symbolic links, mknod (FIFOs), fallocate, statfs, sync and chroot.

Owners and times go to the device as a Wstat (``uid``/``gid`` as decimal names, times in virtual
nanoseconds since boot); a device that keeps no owners refuses with EPERM, a read-only one with
EROFS.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.devices import DMNAMEDPIPE, OWRITE, QTDIR, Chan, Wstat
from kernkit.core.errnos import (
    EBADF,
    EEXIST,
    EFAULT,
    EFBIG,
    EINVAL,
    EISDIR,
    ENOTDIR,
    EOPNOTSUPP,
    EPERM,
    ESPIPE,
)
from kernkit.plugins.linux_abi.access import W_OK, X_OK, check_access, privileged
from kernkit.plugins.linux_abi.chanio import is_stream
from kernkit.plugins.linux_abi.creds import creds_of
from kernkit.plugins.linux_abi.failure import Failed
from kernkit.plugins.linux_abi.fileio import epoch_ns
from kernkit.plugins.linux_abi.filesystems import filesystem
from kernkit.plugins.linux_abi.fs import (
    AT_EMPTY_PATH,
    AT_FDCWD,
    AT_SYMLINK_FOLLOW,
    AT_SYMLINK_NOFOLLOW,
    parent_of,
    read_path,
    resolve,
    signed32,
    syscall,
    umask_of,
)
from kernkit.plugins.linux_abi.statbuf import device_number, numeric_id
from kernkit.plugins.ns.api import MREPL

if TYPE_CHECKING:
    from kernkit.core.process import Thread

NS = 1_000_000_000
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2
UNCHANGED = 0xFFFF_FFFF
S_IFMT, S_IFREG, S_IFIFO = 0o170000, 0o100000, 0o010000
S_IFCHR, S_IFBLK, S_IFSOCK = 0o020000, 0o060000, 0o140000
S_ISUID, S_ISGID, S_IXGRP = 0o4000, 0o2000, 0o010
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, FALLOC_FL_ZERO_RANGE = 0x01, 0x02, 0x10
MAX_FILE = 1 << 63
ST_RDONLY, ST_VALID = 0x1, 0x20
_STATFS = struct.Struct("<qqQQQQQiiqqq32x")


# --- owners -------------------------------------------------------------------------------------


def _chown(t: Thread, chan: Chan, uid: int, gid: int) -> int:
    uid, gid = uid & 0xFFFF_FFFF, gid & 0xFFFF_FFFF
    entry = chan.driver.stat(chan, caller=t)
    creds = creds_of(t.process)
    if creds.euid != 0:
        owner = numeric_id(entry.uid)
        if (uid != UNCHANGED and uid != owner) or creds.fsuid != owner:
            return -EPERM
        if gid != UNCHANGED and gid != numeric_id(entry.gid) and not creds.in_group(gid):
            return -EPERM
    mode = None
    if not entry.is_dir and entry.mode & (S_ISUID | S_ISGID):  # a new owner drops set-id bits
        mode = entry.mode & 0o7777 & ~S_ISUID
        if entry.mode & S_IXGRP:
            mode &= ~S_ISGID
        mode = None if mode == entry.mode & 0o7777 else mode
    chan.driver.wstat(
        chan,
        Wstat(
            uid=None if uid == UNCHANGED else str(uid),
            gid=None if gid == UNCHANGED else str(gid),
            mode=mode,
        ),
        caller=t,
    )
    return 0


@syscall
def sys_fchownat(t: Thread, dirfd: int, pathname: int, uid: int, gid: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -EINVAL
    follow = not flags & AT_SYMLINK_NOFOLLOW
    _, chan = resolve(t, dirfd, pathname, empty_ok=bool(flags & AT_EMPTY_PATH), follow=follow)
    return _chown(t, chan, uid, gid)


def sys_chown(t: Thread, pathname: int, uid: int, gid: int) -> int:
    return sys_fchownat(t, AT_FDCWD, pathname, uid, gid, 0)


def sys_lchown(t: Thread, pathname: int, uid: int, gid: int) -> int:
    return sys_fchownat(t, AT_FDCWD, pathname, uid, gid, AT_SYMLINK_NOFOLLOW)


@syscall
def sys_fchown(t: Thread, fd: int, uid: int, gid: int) -> int:
    return _chown(t, _file(t, fd), uid, gid)


def _file(t: Thread, fd: int) -> Chan:
    """The channel descriptor ``fd`` holds (EBADF for none, or for a file that is not a channel)."""
    file = t.process.files.get(signed32(fd))
    if type(file) is not Chan:
        raise Failed(EBADF)
    return file


# --- times --------------------------------------------------------------------------------------


def _set_times(t: Thread, chan: Chan, times: list[int | None] | None) -> int:
    """Set access and modification times (absolute ns since 1970, None: leave it; ``times``
    None: both to now). Setting them to other than now needs ownership; to now, write access."""
    now = t.kernel.thread_now(t)
    entry = chan.driver.stat(chan, caller=t)
    creds = creds_of(t.process)
    if creds.fsuid != 0 and creds.fsuid != numeric_id(entry.uid):
        if times is not None and any(v is not None and v != "now" for v in times):
            return -EPERM
        check_access(t, entry, W_OK)
    epoch = epoch_ns(t)
    if times is None:
        atime = mtime = now
    else:
        atime, mtime = (None if v is None else now if v == "now" else v - epoch for v in times)
    if atime is None and mtime is None:
        return 0
    chan.driver.wstat(chan, Wstat(atime=atime, mtime=mtime), caller=t)
    return 0


def _timespecs(t: Thread, address: int) -> list | None:
    """utimensat's two timespecs as absolute ns, "now" or None (omit); None for a NULL pointer."""
    if not address:
        return None
    values: list = []
    for seconds, nanos in struct.iter_unpack("<qq", t.process.aspace.read(address, 32)):
        if nanos == UTIME_NOW:
            values.append("now")
        elif nanos == UTIME_OMIT:
            values.append(None)
        elif not 0 <= nanos < NS:
            raise Failed(EINVAL)
        else:
            values.append(seconds * NS + nanos)
    return values


def _timevals(t: Thread, address: int) -> list | None:
    if not address:
        return None
    values = []
    for seconds, micros in struct.iter_unpack("<qq", t.process.aspace.read(address, 32)):
        if not 0 <= micros < 1_000_000:
            raise Failed(EINVAL)
        values.append(seconds * NS + micros * 1000)
    return values


@syscall
def sys_utimensat(t: Thread, dirfd: int, pathname: int, times: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH):
        return -EINVAL
    values = _timespecs(t, times)
    if not pathname:  # Linux's own extension, what futimens uses: dirfd itself
        if signed32(dirfd) == AT_FDCWD:
            return -EFAULT
        return _set_times(t, _file(t, dirfd), values)
    follow = not flags & AT_SYMLINK_NOFOLLOW
    _, chan = resolve(t, dirfd, pathname, empty_ok=bool(flags & AT_EMPTY_PATH), follow=follow)
    return _set_times(t, chan, values)


@syscall
def sys_futimesat(t: Thread, dirfd: int, pathname: int, times: int) -> int:
    values = _timevals(t, times)
    if not pathname:
        return _set_times(t, _file(t, dirfd), values)
    _, chan = resolve(t, dirfd, pathname)
    return _set_times(t, chan, values)


def sys_utimes(t: Thread, pathname: int, times: int) -> int:
    return sys_futimesat(t, AT_FDCWD, pathname, times)


@syscall
def sys_utime(t: Thread, pathname: int, times: int) -> int:
    values = None
    if times:
        actime, modtime = struct.unpack("<qq", t.process.aspace.read(times, 16))
        values = [actime * NS, modtime * NS]
    _, chan = resolve(t, AT_FDCWD, pathname)
    return _set_times(t, chan, values)


# --- links --------------------------------------------------------------------------------------


def _new_name(t: Thread, dirfd: int, pathname: int) -> tuple:
    """(view, directory, name) for a name to make; EEXIST if it is there (links included)."""
    view, directory, name = parent_of(t, dirfd, pathname)
    if not name or view.namespace.walk1(directory, name) is not None:
        raise Failed(EEXIST)
    if not privileged(t):
        check_access(t, directory.driver.stat(directory, caller=t), W_OK | X_OK)
    return view, directory, name


@syscall
def sys_linkat(t: Thread, olddirfd: int, oldpath: int, newdirfd: int, newpath: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH):
        return -EINVAL
    follow = bool(flags & AT_SYMLINK_FOLLOW)
    _, chan = resolve(t, olddirfd, oldpath, empty_ok=bool(flags & AT_EMPTY_PATH), follow=follow)
    if chan.qid.type & QTDIR:
        return -EPERM
    view, directory, name = _new_name(t, newdirfd, newpath)
    view.namespace.link(chan, directory, name, caller=t)
    return 0


def sys_link(t: Thread, oldpath: int, newpath: int) -> int:
    return sys_linkat(t, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0)


@syscall
def sys_symlinkat(t: Thread, target: int, newdirfd: int, linkpath: int) -> int:
    text = read_path(t, target)
    view, directory, name = _new_name(t, newdirfd, linkpath)
    view.namespace.symlink(directory, name, text, caller=t)
    return 0


def sys_symlink(t: Thread, target: int, linkpath: int) -> int:
    return sys_symlinkat(t, target, AT_FDCWD, linkpath)


@syscall
def sys_mknodat(t: Thread, dirfd: int, pathname: int, mode: int, dev: int) -> int:
    """Regular files and FIFOs; device nodes and sockets are not modelled (EPERM)."""
    kind = mode & S_IFMT
    if kind not in (0, S_IFREG, S_IFIFO):
        return -EPERM if kind in (S_IFCHR, S_IFBLK, S_IFSOCK) else -EINVAL
    view, directory, name = _new_name(t, dirfd, pathname)
    perm = mode & 0o7777 & ~umask_of(t)
    created = view.namespace.create(
        directory, name, OWRITE, perm | (DMNAMEDPIPE if kind == S_IFIFO else 0), caller=t
    )
    created.close()
    return 0


def sys_mknod(t: Thread, pathname: int, mode: int, dev: int) -> int:
    return sys_mknodat(t, AT_FDCWD, pathname, mode, dev)


# --- space, file systems ------------------------------------------------------------------------


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


@syscall
def sys_fallocate(t: Thread, fd: int, mode: int, offset: int, length: int) -> int:
    """Mode 0 makes the file at least offset + length long; KEEP_SIZE alone changes nothing
    (files have no blocks to reserve); PUNCH_HOLE (with KEEP_SIZE) and ZERO_RANGE zero a range."""
    chan = _file(t, fd)
    offset, length = _signed(offset), _signed(length)
    if offset < 0 or length <= 0:
        return -EINVAL
    if mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE):
        return -EOPNOTSUPP
    if mode & FALLOC_FL_PUNCH_HOLE and (not mode & FALLOC_FL_KEEP_SIZE or mode & FALLOC_FL_ZERO_RANGE):
        return -EOPNOTSUPP
    if chan.mode & 3 not in (1, 2):
        return -EBADF
    if chan.qid.type & QTDIR:
        return -EISDIR
    if is_stream(chan):
        return -ESPIPE
    if offset + length > MAX_FILE:
        return -EFBIG
    entry = chan.driver.stat(chan, caller=t)
    size, end = entry.length, offset + length
    if mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE) and offset < size:
        chan.driver.write(chan, bytes(min(end, size) - offset), offset, caller=t)
    if end > size and not mode & FALLOC_FL_KEEP_SIZE:
        chan.driver.wstat(chan, Wstat(length=end), caller=t)
    return 0


def _statfs(t: Thread, chan: Chan, buf: int) -> int:
    usage = chan.driver.statfs(chan)
    name = getattr(chan.driver, "name", "")
    read_only = getattr(chan.driver, "read_only", False)
    dev = device_number(chan)
    fields = (
        filesystem(name)[1],
        usage.block_size if usage else 4096,
        usage.blocks if usage else 0,
        usage.blocks_free if usage else 0,
        usage.blocks_free if usage else 0,
        usage.files if usage else 0,
        usage.files_free if usage else 0,
        dev & 0x7FFF_FFFF,
        0,
        255,
        usage.block_size if usage else 4096,
        ST_VALID | (ST_RDONLY if read_only else 0),
    )
    t.process.aspace.write(buf, _STATFS.pack(*fields))
    return 0


@syscall
def sys_statfs(t: Thread, pathname: int, buf: int) -> int:
    _, chan = resolve(t, AT_FDCWD, pathname)
    return _statfs(t, chan, buf)


@syscall
def sys_fstatfs(t: Thread, fd: int, buf: int) -> int:
    return _statfs(t, _file(t, fd), buf)


def sys_sync(t: Thread) -> int:
    return 0  # every device writes through


def sys_syncfs(t: Thread, fd: int) -> int:
    return 0 if t.process.files.get(signed32(fd)) is not None else -EBADF


@syscall
def sys_chroot(t: Thread, pathname: int) -> int:
    """The directory becomes the process's / in a private copy of its namespace (the Plan 9
    way: a bind on /), which its children then share; the current directory stays."""
    view, chan = resolve(t, AT_FDCWD, pathname)
    if not chan.qid.type & QTDIR:
        return -ENOTDIR
    if creds_of(t.process).euid != 0:
        return -EPERM
    if not privileged(t):
        check_access(t, chan.driver.stat(chan, caller=t), X_OK)
    view.unshare()
    view.namespace.bind(chan, view.namespace.walk("/", caller=t), MREPL)
    return 0


SYSCALLS = (
    (86, "link", sys_link, 2),
    (88, "symlink", sys_symlink, 2),
    (92, "chown", sys_chown, 3),
    (93, "fchown", sys_fchown, 3),
    (94, "lchown", sys_lchown, 3),
    (132, "utime", sys_utime, 2),
    (133, "mknod", sys_mknod, 3),
    (137, "statfs", sys_statfs, 2),
    (138, "fstatfs", sys_fstatfs, 2),
    (161, "chroot", sys_chroot, 1),
    (162, "sync", sys_sync, 0),
    (235, "utimes", sys_utimes, 2),
    (259, "mknodat", sys_mknodat, 4),
    (260, "fchownat", sys_fchownat, 5),
    (261, "futimesat", sys_futimesat, 3),
    (265, "linkat", sys_linkat, 5),
    (266, "symlinkat", sys_symlinkat, 3),
    (280, "utimensat", sys_utimensat, 4),
    (285, "fallocate", sys_fallocate, 4),
    (306, "syncfs", sys_syncfs, 1),
)
