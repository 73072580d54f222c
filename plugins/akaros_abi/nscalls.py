"""Akaros's namespace calls over the ns plugin: nbind, nmount, nunmount and fd2path.

Paths come as (pointer, length), as Akaros passes them; results are 0 or -errno (Linux values,
which Akaros shares for these).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.devices import Chan, DeviceError
from kernkit.core.errnos import EBADF, EINVAL, ENAMETOOLONG, ERANGE, errno_of
from kernkit.plugins.ns.api import enter

if TYPE_CHECKING:
    from kernkit.core.process import Thread

PATH_MAX = 4096
#: bind and mount flags Akaros takes (MREPL 0, MBEFORE 1, MAFTER 2, MCREATE 4; MCACHE 0x10 is
#: accepted and means nothing here: there is no mount cache).
FLAGS = 0x1F


def _path(t: Thread, address: int, length: int) -> str:
    if length > PATH_MAX:
        raise DeviceError("ENAMETOOLONG")
    return t.process.aspace.read(address, length).split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _walk(t: Thread, address: int, length: int) -> Chan:
    view = enter(t.process)
    return view.namespace.walk(_path(t, address, length), view.cwd, caller=t)


def sys_nbind(t: Thread, src: int, src_len: int, onto: int, onto_len: int, flag: int) -> int:
    if flag & ~FLAGS:
        return -EINVAL
    try:
        new, old = _walk(t, src, src_len), _walk(t, onto, onto_len)
        enter(t.process).namespace.bind(new, old, flag & 7)
    except DeviceError as exc:
        return -errno_of(exc.code)
    return 0


def sys_nmount(t: Thread, fd: int, onto: int, onto_len: int, flag: int) -> int:
    """Mount the 9P server spoken to over descriptor ``fd`` through #mnt."""
    if flag & ~FLAGS:
        return -EINVAL
    chan = t.process.files.get(fd)
    if type(chan) is not Chan:
        return -EBADF
    try:
        enter(t.process).namespace.mount(chan, _walk(t, onto, onto_len), flag & 7)
    except DeviceError as exc:
        return -errno_of(exc.code)
    return 0


def sys_nunmount(t: Thread, src: int, src_len: int, onto: int, onto_len: int) -> int:
    """Undo the bind of ``src`` on ``onto`` (every bind there when ``src_len`` is 0)."""
    try:
        old = _walk(t, onto, onto_len)
        new = _walk(t, src, src_len) if src_len else None
        enter(t.process).namespace.unmount(old, new)
    except DeviceError as exc:
        return -errno_of(exc.code)
    return 0


def sys_fd2path(t: Thread, fd: int, buf: int, length: int) -> int:
    """The name descriptor ``fd`` was opened by, NUL-terminated, into ``buf``."""
    chan = t.process.files.get(fd)
    if chan is None:
        return -EBADF
    name = getattr(chan, "path", "") or getattr(chan, "name", "")
    data = name.encode("utf-8", "surrogateescape") + b"\0"
    if len(data) > PATH_MAX:
        return -ENAMETOOLONG
    if length < len(data):
        return -ERANGE
    t.process.aspace.write(buf, data)
    return 0
