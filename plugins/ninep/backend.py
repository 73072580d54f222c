"""What the 9P server serves: a tree of nodes behind a small protocol.

The server keeps fids, open state, directory offsets, ``..`` and permissions; a backend only
answers questions about one node at a time. A backend never sees ``..`` (the server keeps the
path from the attach point, so a walk cannot climb out of it) nor an empty name.

Errors are :class:`NinepError` with a Linux errno; the server turns them into Rerror (with the
errno's text) or Rlerror.
"""

from __future__ import annotations

import errno as errnos
import os
import stat as statmod
from typing import Protocol

import attrs

from kernkit.plugins.ninep.proto import Qid

S_IFMT, S_IFDIR, S_IFREG, S_IFLNK = 0o170000, statmod.S_IFDIR, statmod.S_IFREG, statmod.S_IFLNK
# Linux open flags as 9P2000.L carries them
O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR = 3, 0, 1, 2
O_CREAT, O_EXCL, O_TRUNC, O_APPEND = 0o100, 0o200, 0o1000, 0o2000


class NinepError(Exception):
    """A failed operation: ``errno`` (Linux numbering) and an optional text for 9P2000 peers."""

    def __init__(self, errno: int, text: str | None = None) -> None:
        self.errno = errno
        self.text = text or os.strerror(errno)
        super().__init__(self.text)


def fail(errno: int, text: str | None = None) -> NinepError:
    return NinepError(errno, text)


ENOENT, EIO, EBADF, EACCES, EEXIST = (errnos.ENOENT, errnos.EIO, errnos.EBADF, errnos.EACCES,
                                      errnos.EEXIST)
ENOTDIR, EISDIR, EINVAL, ENOSPC, EROFS = (errnos.ENOTDIR, errnos.EISDIR, errnos.EINVAL, errnos.ENOSPC,
                                          errnos.EROFS)
ENOTEMPTY, EPERM, EOPNOTSUPP, ENAMETOOLONG = (errnos.ENOTEMPTY, errnos.EPERM, errnos.EOPNOTSUPP,
                                              errnos.ENAMETOOLONG)
EPROTO, EXDEV, EMSGSIZE = errnos.EPROTO, errnos.EXDEV, errnos.EMSGSIZE


@attrs.frozen
class Attr:
    """What a node looks like: Unix mode (type and permission bits), size, times, owner."""

    qid: Qid
    mode: int
    size: int = 0
    mtime_ns: int = 0
    atime_ns: int = 0
    ctime_ns: int = 0
    uid: int = 0
    gid: int = 0
    nlink: int = 1
    user: str = "kernkit"
    group: str = "kernkit"

    @property
    def is_dir(self) -> bool:
        return self.mode & S_IFMT == S_IFDIR


@attrs.frozen
class SetAttr:
    """Changes asked for by Twstat or Tsetattr; None leaves a field as it is."""

    mode: int | None = None  # permission bits only
    size: int | None = None
    mtime_ns: int | None = None
    atime_ns: int | None = None


class Handle(Protocol):
    """An open node."""

    def read(self, offset: int, count: int) -> bytes: ...
    def write(self, offset: int, data: bytes) -> int: ...
    def close(self) -> None: ...


class Node(Protocol):
    """One file or directory of a backend."""

    def attr(self) -> Attr: ...
    def qid(self) -> Qid:
        """``attr().qid``, which the server asks for far more often than the rest (every walk
        step, open and attach): a backend answers it without gathering the other attributes."""
        ...

    def walk(self, name: str) -> Node: ...
    def open(self, flags: int) -> Handle:
        """Open with Linux ``flags`` (access mode, O_TRUNC, O_APPEND)."""
        ...

    def listdir(self) -> list[tuple[str, Node]]: ...
    def listqids(self) -> list[tuple[str, Qid]]:
        """The names of a directory with their qids: all Treaddir sends, without a node each."""
        ...

    def create(self, name: str, mode: int) -> Node:
        """A new file (``mode`` has S_IFREG) or directory (S_IFDIR); EEXIST if the name is taken."""
        ...

    def unlink(self, name: str, is_dir: bool) -> None:
        """Remove the entry ``name`` (a directory only when empty)."""
        ...

    def rename(self, name: str, target: Node, new_name: str) -> None:
        """Move entry ``name`` of this directory to ``new_name`` in directory ``target``."""
        ...

    def setattr(self, changes: SetAttr) -> None: ...


class Root(Protocol):
    """The attach point(s) of a backend: ``aname`` as the client sent it."""

    def attach(self, aname: str, uname: str) -> Node: ...
