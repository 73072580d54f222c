"""Path syscalls over the process's namespace: open, stat, mkdir, unlink, rename, access,
readlink, getcwd, chdir, truncate, umask, mount (bind), umount2 and unshare.

Paths resolve in the caller's namespace (kernkit.plugins.ns): absolute from its root, ``#dev``
names from a device, relative ones from the current directory or a directory descriptor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.devices import (
    DMDIR,
    ONONBLOCK,
    OTRUNC,
    QTDIR,
    QTSYMLINK,
    Chan,
    DeviceError,
    WouldBlock,
    Wstat,
)
from kernkit.core.errnos import (
    EAGAIN,
    EBADF,
    EBUSY,
    EEXIST,
    EINVAL,
    EISDIR,
    ELOOP,
    EMFILE,
    ENAMETOOLONG,
    ENOENT,
    ENOTDIR,
    EOPNOTSUPP,
    ERANGE,
    EROFS,
    errno_of,
)
from kernkit.plugins.linux_abi.access import OPEN_NEEDS, R_OK, W_OK, X_OK, check_access, privileged
from kernkit.plugins.linux_abi.chanio import (
    O_ACCMODE,
    O_APPEND,
    O_CLOEXEC,
    O_CREAT,
    O_DIRECTORY,
    O_EXCL,
    O_NOFOLLOW,
    O_NONBLOCK,
    O_RDONLY,
    O_RDWR,
    O_TMPFILE,
    O_TRUNC,
    O_WRONLY,
)
from kernkit.plugins.linux_abi.creds import CREDS, ROOT
from kernkit.plugins.linux_abi.failure import Failed
from kernkit.plugins.linux_abi.fileio import epoch_ns
from kernkit.plugins.linux_abi.statbuf import pack_stat, pack_statx
from kernkit.plugins.ns.api import MAFTER, MAXSYMLINKS, MBEFORE, MCREATE, MREPL, enter, proc_ns

if TYPE_CHECKING:
    from kernkit.core.process import Thread
    from kernkit.plugins.ns.api import ProcNs

AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW, AT_REMOVEDIR, AT_EACCESS, AT_SYMLINK_FOLLOW = 0x100, 0x200, 0x200, 0x400
AT_NO_AUTOMOUNT, AT_EMPTY_PATH = 0x800, 0x1000
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384
CLONE_FS, CLONE_FILES, CLONE_NEWNS = 0x200, 0x400, 0x20000
PATH_MAX = 4096
DEFAULT_UMASK = 0o022


def read_path(t: Thread, address: int) -> str:
    """A NUL-terminated path from guest memory; Failed(ENAMETOOLONG) past PATH_MAX bytes,
    Failed(ENOENT) when empty (BadAddress, which becomes EFAULT, for a bad pointer)."""
    data = t.process.aspace.read_cstring(address, PATH_MAX)
    if not data:
        raise Failed(ENOENT if data is not None else ENAMETOOLONG)
    return data.decode("utf-8", "surrogateescape")


def _dirfd(t: Thread, view: ProcNs, dirfd: int, path: str) -> Chan | None:
    """The directory a relative ``path`` starts from: the current one, or ``dirfd``'s."""
    if path[:1] in ("/", "#"):
        return None
    dirfd = signed32(dirfd)
    if dirfd == AT_FDCWD:
        return view.cwd
    file = t.process.files.get(dirfd)
    if type(file) is not Chan:
        raise Failed(EBADF)
    if not file.qid.type & QTDIR:
        raise Failed(ENOTDIR)
    return file


def resolve(
    t: Thread, dirfd: int, address: int, *, empty_ok: bool = False, follow: bool = True
) -> tuple[ProcNs, Chan]:
    """(the caller's view, a walked channel) for a path argument; a symbolic link at the end
    is followed only with ``follow``; with ``empty_ok`` an empty path means ``dirfd`` itself."""
    view = enter(t.process)
    if empty_ok:
        first = t.process.aspace.read(address, 1)
        if first == b"\0":
            return view, descriptor_chan(t, view, dirfd)
    path = read_path(t, address)
    try:
        return view, view.namespace.walk(path, _dirfd(t, view, dirfd, path), follow=follow, caller=t)
    except DeviceError as exc:
        raise Failed(errno_of(exc.code)) from None


def descriptor_chan(t: Thread, view: ProcNs, fd: int) -> Chan:
    """The channel of descriptor ``fd`` (AT_FDCWD: the current directory); EBADF for anything
    else, including a descriptor that holds no channel."""
    if signed32(fd) == AT_FDCWD:
        return view.cwd
    file = t.process.files.get(signed32(fd))
    if type(file) is not Chan:
        raise Failed(EBADF)
    return file


def parent_of(t: Thread, dirfd: int, address: int) -> tuple[ProcNs, Chan, str]:
    view = enter(t.process)
    path = read_path(t, address)
    try:
        directory, name = view.namespace.walk_parent(path, _dirfd(t, view, dirfd, path), caller=t)
    except DeviceError as exc:
        raise Failed(errno_of(exc.code)) from None
    return view, directory, name


def umask_of(t: Thread) -> int:
    return t.process.data.get("umask", DEFAULT_UMASK)


def syscall(function):  # noqa: ANN001, ANN202 - a decorator for handlers
    """Failed and DeviceError raised inside a handler become its negative errno."""

    def handler(t: Thread, *args: int) -> int:
        try:
            return function(t, *args)
        except Failed as exc:
            return -exc.errno
        except DeviceError as exc:
            return -errno_of(exc.code)

    handler.__name__ = function.__name__
    handler.__doc__ = function.__doc__
    return handler


# --- open -----------------------------------------------------------------------------------------


#: Open flags that take sys_openat off its direct path (a read-only open of an existing file).
_NOT_PLAIN = O_ACCMODE | O_TMPFILE | O_TRUNC | O_NONBLOCK | O_CREAT | O_DIRECTORY | O_NOFOLLOW | O_APPEND


def sys_openat(t: Thread, dirfd: int, pathname: int, flags: int, mode: int) -> int | None:
    if not flags & _NOT_PLAIN:  # the common open, with _open inline: most of what an open costs
        process = t.process
        try:
            data = process.aspace.read_cstring(pathname, PATH_MAX)  # read_path, inline
            if not data:
                raise Failed(ENOENT if data is not None else ENAMETOOLONG)
            path = data.decode("utf-8", "surrogateescape")
            view = proc_ns(process)
            namespace = view.namespace
            if path[0] == "/":
                walked = namespace.walk(path, caller=t)
            else:
                walked = namespace.walk(path, _dirfd(t, view, dirfd, path), caller=t)
            if (process.data.get(CREDS) or ROOT).fsuid:  # not privileged(t): ask the permissions
                check_access(t, walked.driver.stat(walked, caller=t), R_OK)
            chan = walked.driver.open(walked, O_RDONLY, caller=t)  # namespace.open, inline
            if not chan.path:
                chan.path = walked.path
            chan.flags = O_RDONLY  # as the general path sets it (a device may hand out a shared channel)
        except Failed as exc:
            return -exc.errno
        except DeviceError as exc:
            return -errno_of(exc.code)
        except WouldBlock as blocked:  # a device whose open waits (/net/tcp/N/listen, a FIFO)
            blocked.queue.sleep(t, restart=True)
            return None
        number = process.files.install(chan, cloexec=bool(flags & O_CLOEXEC))
        if number < 0:
            if chan.refs == 0:
                chan.close()
            return -EMFILE
        return number
    access = flags & O_ACCMODE
    if access == O_ACCMODE or flags & O_TMPFILE == O_TMPFILE:
        return -EINVAL if access == O_ACCMODE else -EOPNOTSUPP
    plan9 = access | (OTRUNC if flags & O_TRUNC and access != O_RDONLY else 0)
    if flags & O_NONBLOCK:
        plan9 |= ONONBLOCK
    process = t.process
    try:
        if flags & O_CREAT:
            chan = _open_creating(t, dirfd, pathname, flags, mode, plan9)
        else:  # the common case, inline: this is most of what open costs
            path = read_path(t, pathname)
            view = proc_ns(process)
            namespace = view.namespace
            follow = not flags & O_NOFOLLOW
            if path[0] == "/":
                walked = namespace.walk(path, follow=follow, caller=t)
            else:
                walked = namespace.walk(path, _dirfd(t, view, dirfd, path), follow=follow, caller=t)
            chan = _open(t, namespace, walked, flags, plan9)
    except Failed as exc:
        return -exc.errno
    except DeviceError as exc:
        return -errno_of(exc.code)
    except WouldBlock as blocked:  # a device whose open waits (/net/tcp/N/listen, a FIFO)
        if flags & O_NONBLOCK:
            return -EAGAIN
        blocked.queue.sleep(t, restart=True)
        return None
    chan.flags = access | (flags & (O_APPEND | O_NONBLOCK))
    number = process.files.install(chan, cloexec=bool(flags & O_CLOEXEC))
    if number < 0:
        if chan.refs == 0:
            chan.close()
        return -EMFILE
    return number


def _open_creating(t: Thread, dirfd: int, pathname: int, flags: int, mode: int, plan9: int) -> Chan:
    view, directory, name = parent_of(t, dirfd, pathname)
    namespace = view.namespace
    for _ in range(MAXSYMLINKS):
        if not name:
            raise Failed(EISDIR)
        existing = namespace.walk1(directory, name)
        if existing is None:
            check_access(t, directory.driver.stat(directory, caller=t), W_OK | X_OK)
            return namespace.create(directory, name, plan9 & ~OTRUNC, mode & 0o7777 & ~umask_of(t), caller=t)
        if flags & O_EXCL:
            raise Failed(EEXIST)
        existing.path = directory.path.rstrip("/") + "/" + name
        if not existing.qid.type & QTSYMLINK or flags & O_NOFOLLOW:
            return _open(t, namespace, existing, flags, plan9)
        try:  # a link: open what it names, creating it there if it is missing
            return _open(t, namespace, namespace.walk(existing.path, caller=t), flags, plan9)
        except DeviceError as exc:
            if exc.code != "ENOENT":
                raise
        target = existing.driver.readlink(existing, caller=t)
        base = namespace.walk(directory.path, caller=t) if target[:1] not in ("/", "#") else None
        directory, name = namespace.walk_parent(target, base, caller=t)
    raise Failed(ELOOP)


def _open(t: Thread, namespace, chan: Chan, flags: int, plan9: int) -> Chan:  # noqa: ANN001
    if chan.qid.type & QTDIR:
        if flags & O_ACCMODE != O_RDONLY:
            raise Failed(EISDIR)
    elif flags & O_DIRECTORY:
        raise Failed(ENOTDIR)
    elif chan.qid.type & QTSYMLINK:
        raise Failed(ELOOP)  # O_NOFOLLOW on a link
    if not privileged(t):
        needs = OPEN_NEEDS[flags & O_ACCMODE] | (W_OK if flags & O_TRUNC else 0)
        check_access(t, chan.driver.stat(chan, caller=t), needs)
    return namespace.open(chan, plan9, caller=t)


def sys_open(t: Thread, pathname: int, flags: int, mode: int) -> int:
    return sys_openat(t, AT_FDCWD, pathname, flags, mode)


def sys_creat(t: Thread, pathname: int, mode: int) -> int:
    return sys_openat(t, AT_FDCWD, pathname, O_CREAT | O_WRONLY | O_TRUNC, mode)


# --- stat -----------------------------------------------------------------------------------------


@syscall
def sys_newfstatat(t: Thread, dirfd: int, pathname: int, statbuf: int, flags: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT):
        return -EINVAL
    follow = not flags & AT_SYMLINK_NOFOLLOW
    _, chan = resolve(t, dirfd, pathname, empty_ok=bool(flags & AT_EMPTY_PATH), follow=follow)
    t.process.aspace.write(statbuf, pack_stat(chan, chan.driver.stat(chan, caller=t), epoch_ns(t)))
    return 0


def sys_stat(t: Thread, pathname: int, statbuf: int) -> int:
    return sys_newfstatat(t, AT_FDCWD, pathname, statbuf, 0)


def sys_lstat(t: Thread, pathname: int, statbuf: int) -> int:
    return sys_newfstatat(t, AT_FDCWD, pathname, statbuf, AT_SYMLINK_NOFOLLOW)


@syscall
def sys_statx(t: Thread, dirfd: int, pathname: int, flags: int, mask: int, buf: int) -> int:
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | 0x6000):
        return -EINVAL
    follow = not flags & AT_SYMLINK_NOFOLLOW
    _, chan = resolve(t, dirfd, pathname, empty_ok=bool(flags & AT_EMPTY_PATH), follow=follow)
    t.process.aspace.write(buf, pack_statx(chan, chan.driver.stat(chan, caller=t), epoch_ns(t)))
    return 0


@syscall
def sys_faccessat2(t: Thread, dirfd: int, pathname: int, mode: int, flags: int) -> int:
    if mode & ~(R_OK | W_OK | X_OK) or flags & ~(AT_SYMLINK_NOFOLLOW | AT_EACCESS | AT_EMPTY_PATH):
        return -EINVAL
    follow = not flags & AT_SYMLINK_NOFOLLOW
    _, chan = resolve(t, dirfd, pathname, empty_ok=bool(flags & AT_EMPTY_PATH), follow=follow)
    entry = chan.driver.stat(chan, caller=t)
    if mode & W_OK and getattr(chan.driver, "read_only", False):
        return -EROFS
    check_access(t, entry, mode, real=not flags & AT_EACCESS)
    return 0


def sys_faccessat(t: Thread, dirfd: int, pathname: int, mode: int) -> int:
    return sys_faccessat2(t, dirfd, pathname, mode, 0)


def sys_access(t: Thread, pathname: int, mode: int) -> int:
    return sys_faccessat2(t, AT_FDCWD, pathname, mode, 0)


@syscall
def sys_readlinkat(t: Thread, dirfd: int, pathname: int, buf: int, size: int) -> int:
    if signed32(size) <= 0:
        return -EINVAL
    _, chan = resolve(t, dirfd, pathname, empty_ok=True, follow=False)
    if not chan.qid.type & QTSYMLINK:
        return -EINVAL
    target = chan.driver.readlink(chan, caller=t).encode("utf-8", "surrogateescape")[: signed32(size)]
    t.process.aspace.write(buf, target)
    return len(target)


def sys_readlink(t: Thread, pathname: int, buf: int, size: int) -> int:
    return sys_readlinkat(t, AT_FDCWD, pathname, buf, size)


def signed32(value: int) -> int:
    value &= 0xFFFF_FFFF
    return value - (1 << 32) if value >= 1 << 31 else value


# --- making and removing ----------------------------------------------------------------------------


@syscall
def sys_mkdirat(t: Thread, dirfd: int, pathname: int, mode: int) -> int:
    view, directory, name = parent_of(t, dirfd, pathname)
    if not name or view.namespace.walk1(directory, name) is not None:
        return -EEXIST
    check_access(t, directory.driver.stat(directory, caller=t), W_OK | X_OK)
    created = view.namespace.create(
        directory, name, O_RDONLY, DMDIR | (mode & 0o1777 & ~umask_of(t)), caller=t
    )
    created.close()
    return 0


def sys_mkdir(t: Thread, pathname: int, mode: int) -> int:
    return sys_mkdirat(t, AT_FDCWD, pathname, mode)


@syscall
def sys_unlinkat(t: Thread, dirfd: int, pathname: int, flags: int) -> int:
    if flags & ~AT_REMOVEDIR:
        return -EINVAL
    view, chan = resolve(t, dirfd, pathname, follow=False)
    is_dir = bool(chan.qid.type & QTDIR)
    if flags & AT_REMOVEDIR and not is_dir:
        return -ENOTDIR
    if not flags & AT_REMOVEDIR and is_dir:
        return -EISDIR
    if chan.path in ("/", "") or chan.path.count("/") == 0:
        return -EBUSY  # a root: / or a #device
    _may_change_names(t, view, chan.path)
    view.namespace.remove(chan, caller=t)
    return 0


def _may_change_names(t: Thread, view: ProcNs, path: str) -> None:
    """EACCES unless the caller may remove or rename names in the directory holding ``path``."""
    if not privileged(t):
        directory = view.namespace.walk(path.rsplit("/", 1)[0] or "/", caller=t)
        check_access(t, directory.driver.stat(directory, caller=t), W_OK | X_OK)


def sys_unlink(t: Thread, pathname: int) -> int:
    return sys_unlinkat(t, AT_FDCWD, pathname, 0)


def sys_rmdir(t: Thread, pathname: int) -> int:
    return sys_unlinkat(t, AT_FDCWD, pathname, AT_REMOVEDIR)


@syscall
def sys_renameat2(t: Thread, olddirfd: int, oldpath: int, newdirfd: int, newpath: int, flags: int) -> int:
    if flags & ~RENAME_NOREPLACE:
        return -EINVAL  # RENAME_EXCHANGE and RENAME_WHITEOUT are not supported
    view, chan = resolve(t, olddirfd, oldpath, follow=False)
    _, directory, name = parent_of(t, newdirfd, newpath)
    if not name or chan.path.count("/") == 0 or chan.path == "/":
        return -EBUSY
    if flags & RENAME_NOREPLACE and view.namespace.walk1(directory, name) is not None:
        return -EEXIST
    _may_change_names(t, view, chan.path)
    if not privileged(t):
        check_access(t, directory.driver.stat(directory, caller=t), W_OK | X_OK)
    view.namespace.rename(chan, directory, name, caller=t)
    return 0


def sys_renameat(t: Thread, olddirfd: int, oldpath: int, newdirfd: int, newpath: int) -> int:
    return sys_renameat2(t, olddirfd, oldpath, newdirfd, newpath, 0)


def sys_rename(t: Thread, oldpath: int, newpath: int) -> int:
    return sys_renameat2(t, AT_FDCWD, oldpath, AT_FDCWD, newpath, 0)


@syscall
def sys_truncate(t: Thread, pathname: int, length: int) -> int:
    length = length - (1 << 64) if length >= 1 << 63 else length
    if length < 0:
        return -EINVAL
    _, chan = resolve(t, AT_FDCWD, pathname)
    if chan.qid.type & QTDIR:
        return -EISDIR
    chan.driver.wstat(chan, Wstat(length=length), caller=t)
    return 0


@syscall
def sys_fchmodat(t: Thread, dirfd: int, pathname: int, mode: int) -> int:
    _, chan = resolve(t, dirfd, pathname)
    chan.driver.wstat(chan, Wstat(mode=mode & 0o7777), caller=t)
    return 0


def sys_chmod(t: Thread, pathname: int, mode: int) -> int:
    return sys_fchmodat(t, AT_FDCWD, pathname, mode)


def sys_fchmod(t: Thread, fd: int, mode: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    if type(file) is not Chan:
        return -EINVAL
    try:
        file.driver.wstat(file, Wstat(mode=mode & 0o7777), caller=t)
    except DeviceError as exc:
        return -errno_of(exc.code)
    return 0


def sys_umask(t: Thread, mask: int) -> int:
    old = umask_of(t)
    t.process.data["umask"] = mask & 0o777
    return old


# --- the current directory ----------------------------------------------------------------------


def sys_getcwd(t: Thread, buf: int, size: int) -> int:
    path = enter(t.process).cwd.path.encode("utf-8", "surrogateescape") + b"\0"
    if size < len(path):
        return -ERANGE
    t.process.aspace.write(buf, path)
    return len(path)


@syscall
def sys_chdir(t: Thread, pathname: int) -> int:
    view, chan = resolve(t, AT_FDCWD, pathname)
    if not chan.qid.type & QTDIR:
        return -ENOTDIR
    view.cwd = chan
    return 0


def sys_fchdir(t: Thread, fd: int) -> int:
    file = t.process.files.get(fd)
    if file is None:
        return -EBADF
    if type(file) is not Chan or not file.qid.type & QTDIR:
        return -ENOTDIR
    enter(t.process).cwd = file.clone()
    return 0


# --- namespaces -----------------------------------------------------------------------------------


def _union_flags(text: str) -> int:
    flags = MREPL
    for letter in text.strip().lstrip("-"):
        if letter == "a":
            flags |= MAFTER
        elif letter == "b":
            flags |= MBEFORE
        elif letter == "c":
            flags |= MCREATE
        else:
            raise Failed(EINVAL)
    if flags & 3 == 3:
        raise Failed(EINVAL)
    return flags


@syscall
def sys_mount(t: Thread, source: int, target: int, fstype: int, flags: int, data: int) -> int:
    """``MS_BIND`` binds ``source`` on ``target``; ``data``, if given, holds union flags as the
    bind command takes them ("-a", "-b", "-c", "-ac", ...). A file system type of "9p" mounts
    the file server spoken to over ``source`` (a file such as /srv/NAME) through #mnt, ``data``
    being the attach spec."""
    view = enter(t.process)
    namespace = view.namespace
    kind, extra = _optional_string(t, fstype), _optional_string(t, data)
    _, old = resolve(t, AT_FDCWD, target)
    if flags & MS_BIND:
        _, new = resolve(t, AT_FDCWD, source)
        namespace.bind(new, old, _union_flags(extra))
        return 0
    if kind == "9p":
        _, server = resolve(t, AT_FDCWD, source)
        namespace.mount(namespace.open(server, O_RDWR, caller=t), old, MREPL, extra)
        return 0
    return -errno_of("ENODEV")


def _optional_string(t: Thread, address: int) -> str:
    """A short C string argument that may be NULL or empty ("")."""
    if not address:
        return ""
    text = t.process.aspace.read_cstring(address, 256)
    if text is None:
        raise Failed(EINVAL)
    return text.decode("utf-8", "surrogateescape")


@syscall
def sys_umount2(t: Thread, target: int, flags: int) -> int:
    view, chan = resolve(t, AT_FDCWD, target)
    view.namespace.unmount(chan)
    return 0


def sys_unshare(t: Thread, flags: int) -> int:
    if flags & ~(CLONE_NEWNS | CLONE_FS | CLONE_FILES):
        return -EINVAL
    if flags & CLONE_NEWNS:
        enter(t.process).unshare()
    return 0
