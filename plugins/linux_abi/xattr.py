"""Extended attributes: no file keeps any, as on a file system without them.

``listxattr`` gives an empty list; getting, setting and removing one is EOPNOTSUPP, which is
what programs that copy or show attributes and ACLs (``ls -l``, ``cp -a``, Python's
``shutil.copystat``) take for "none here". The path or descriptor is checked first (ENOENT,
EBADF, ...).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errnos import EOPNOTSUPP
from kernkit.plugins.linux_abi.fs import AT_FDCWD, descriptor_chan, resolve, signed32, syscall
from kernkit.plugins.ns.api import enter

if TYPE_CHECKING:
    from kernkit.core.process import Thread


def _on_path(follow: bool, result: int):  # noqa: ANN202 - makes a handler
    @syscall
    def handler(t: Thread, pathname: int, *_: int) -> int:
        resolve(t, AT_FDCWD, pathname, follow=follow)
        return result

    return handler


def _on_descriptor(result: int):  # noqa: ANN202 - makes a handler
    @syscall
    def handler(t: Thread, fd: int, *_: int) -> int:
        if signed32(fd) == AT_FDCWD:
            fd = -1  # not a descriptor here
        descriptor_chan(t, enter(t.process), fd)
        return result

    return handler


SYSCALLS = (
    (188, "setxattr", _on_path(True, -EOPNOTSUPP), 5),
    (189, "lsetxattr", _on_path(False, -EOPNOTSUPP), 5),
    (190, "fsetxattr", _on_descriptor(-EOPNOTSUPP), 5),
    (191, "getxattr", _on_path(True, -EOPNOTSUPP), 4),
    (192, "lgetxattr", _on_path(False, -EOPNOTSUPP), 4),
    (193, "fgetxattr", _on_descriptor(-EOPNOTSUPP), 4),
    (194, "listxattr", _on_path(True, 0), 3),
    (195, "llistxattr", _on_path(False, 0), 3),
    (196, "flistxattr", _on_descriptor(0), 3),
    (197, "removexattr", _on_path(True, -EOPNOTSUPP), 2),
    (198, "lremovexattr", _on_path(False, -EOPNOTSUPP), 2),
    (199, "fremovexattr", _on_descriptor(-EOPNOTSUPP), 2),
)
