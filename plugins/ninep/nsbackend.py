"""The export's backend: files of a kernel namespace (the one processes boot with) as 9P nodes.

Walks go through the namespace (mount points and union directories included), so a 9P client
sees what a process sees at the same paths. Devices report errors as errno names; they become
Linux errno numbers here. A device that would block (an empty pipe) answers EAGAIN: the export
runs between rounds on the kernel's thread and never waits.
"""

from __future__ import annotations

import contextlib
import errno as errnos
import functools
import posixpath
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from kernkit.core.devices import (
    DMDIR,
    ORDWR,
    OREAD,
    OTRUNC,
    OWRITE,
    QTDIR,
    DeviceError,
    WouldBlock,
    Wstat,
    owner_id,
)
from kernkit.core.files import hold, release
from kernkit.plugins.ninep.backend import (
    ENOENT,
    EPERM,
    O_ACCMODE,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    S_IFDIR,
    S_IFREG,
    Attr,
    NinepError,
    SetAttr,
)
from kernkit.plugins.ninep.proto import Qid

if TYPE_CHECKING:
    from kernkit.core.devices import Chan, Dir
    from kernkit.core.kernel import Kernel
    from kernkit.plugins.ns.api import Namespace

T = TypeVar("T")
#: The qid path of the export's own root directory (when several paths are exported).
ROOT_PATH = 1
#: Attributes kept for the files last asked about (forgotten all at once past this many).
ATTRS_KEPT = 4096


def _translate(function: Callable[..., T]) -> Callable[..., T]:
    """Device errors as NinepError; a device that would block as EAGAIN."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        try:
            return function(*args, **kwargs)
        except DeviceError as exc:
            raise NinepError(getattr(errnos, exc.code, errnos.EIO), exc.message or None) from None
        except WouldBlock:
            raise NinepError(errnos.EAGAIN) from None

    return wrapper


class NsExport:
    """The attach points of an export: ``paths`` of a namespace."""

    def __init__(self, kernel: Kernel, namespace: Namespace, paths: list[str], epoch_ns: int) -> None:
        self.kernel = kernel
        self.namespace = namespace
        self.paths = list(paths)
        self.epoch_ns = epoch_ns
        self._qids: dict[tuple[Any, int, int], int] = {}
        #: qid path -> (the Dir, the Attr made of it), for the files last asked about
        self._attrs: dict[int, tuple[Dir, Attr]] = {}

    def qid_path(self, key: tuple[Any, int, int]) -> int:
        """A path number unique in the whole export for a device file (driver, devno, qid)."""
        number = self._qids.get(key)
        if number is None:
            number = self._qids[key] = len(self._qids) + ROOT_PATH + 1
        return number

    @_translate
    def attach(self, aname: str, uname: str) -> Any:
        aname = confine(aname, self.paths)
        if aname == "/" and self.paths != ["/"]:
            return ExportRoot(self)
        return NsNode(self, self.namespace.walk(aname))

    def listed_qid(self, d: Dir, driver: Any, devno: int) -> Qid:
        """The qid of an entry of a listing of a directory of ``driver``'s instance ``devno``."""
        return self.listed_qids([d], driver, devno)[0][1]

    def listed_qids(self, entries: list[Dir], driver: Any, devno: int) -> list[tuple[str, Qid]]:
        """(name, qid) of each entry of a listing (what Treaddir sends for a whole directory:
        one pass, no call per entry)."""
        numbers, number_of, make = self._qids, self.qid_path, tuple.__new__
        rows = []
        for d in entries:
            qid = d.qid
            key = (driver, devno, qid.path)
            number = numbers.get(key) or number_of(key)
            kind = QTDIR if d.mode & DMDIR or qid.type & QTDIR else 0
            rows.append((d.name, make(Qid, (kind, qid.vers & 0xFFFFFFFF, number))))
        return rows

    def attr_of(self, d: Dir, path: int) -> Attr:
        """The 9P attributes of a stat (the same Attr again for the same, unchanged, Dir: a
        device that keeps a file's Dir while the file is unchanged, as #tmpfs does, is asked for
        it each time and the Attr is not built again)."""
        cached = self._attrs.get(path)
        if cached is not None and cached[0] is d:  # Dirs are frozen: the same one, the same file
            return cached[1]
        if len(self._attrs) >= ATTRS_KEPT:
            self._attrs.clear()
        attr = self._attr_of(d, path)
        self._attrs[path] = (d, attr)
        return attr

    def _attr_of(self, d: Dir, path: int) -> Attr:
        is_dir = bool(d.mode & DMDIR) or bool(d.qid.type & QTDIR)
        mtime = self.epoch_ns + d.mtime
        return Attr(
            Qid(QTDIR if is_dir else 0, d.qid.vers & 0xFFFFFFFF, path),
            # devices, pipes and the like are plain files to a 9P client: it must not treat
            # them as its own host's device nodes
            (S_IFDIR if is_dir else S_IFREG) | (d.mode & 0o777),
            0 if is_dir else d.length,
            mtime_ns=mtime,
            atime_ns=self.epoch_ns + (d.atime or d.mtime),
            ctime_ns=mtime,
            nlink=2 if is_dir else 1,
            uid=owner_id(d.uid),
            gid=owner_id(d.gid),
            user=d.uid or "kernkit",
            group=d.gid or "kernkit",
        )


def confine(aname: str, paths: list[str]) -> str:
    """What a client may attach to: ``aname`` made clean, when it is the export's root or lies
    inside an exported path; NinepError(ENOENT) otherwise."""
    aname = aname or "/"
    if not aname.startswith("/"):
        raise NinepError(ENOENT, f"aname {aname!r}: expected an absolute path")
    aname = posixpath.normpath(aname)
    if aname == "/" or any(path == "/" or aname == path or aname.startswith(path + "/") for path in paths):
        return aname
    raise NinepError(ENOENT, f"{aname} is not exported (exported: {', '.join(paths)})")


class ExportRoot:
    """The directory an export of several paths starts at: one entry per exported path."""

    def __init__(self, export: NsExport) -> None:
        self.export = export

    def attr(self) -> Attr:
        epoch = self.export.epoch_ns
        return Attr(self.qid(), S_IFDIR | 0o555, 0, nlink=2, mtime_ns=epoch, atime_ns=epoch, ctime_ns=epoch)

    def qid(self) -> Qid:
        return Qid(QTDIR, 0, ROOT_PATH)

    def _paths(self) -> dict[str, str]:
        return {posixpath.basename(path): path for path in self.export.paths}

    @_translate
    def walk(self, name: str) -> NsNode:
        path = self._paths().get(name)
        if path is None:
            raise NinepError(ENOENT)
        return NsNode(self.export, self.export.namespace.walk(path))

    def listdir(self) -> list[tuple[str, Any]]:
        entries = []
        for name in self._paths():
            try:
                entries.append((name, self.walk(name)))
            except NinepError:  # an exported path that does not exist (yet) is left out
                continue
        return entries

    def listqids(self) -> list[tuple[str, Qid]]:
        return [(name, node.qid()) for name, node in self.listdir()]

    def open(self, flags: int) -> Any:
        if flags & O_ACCMODE:
            raise NinepError(errnos.EISDIR)
        return _Empty()

    def create(self, name: str, mode: int) -> Any:
        raise NinepError(EPERM, "the export's root holds only the exported paths")

    def unlink(self, name: str, is_dir: bool) -> None:
        raise NinepError(EPERM, "the export's root holds only the exported paths")

    def rename(self, name: str, target: Any, new_name: str) -> None:
        raise NinepError(EPERM, "the export's root holds only the exported paths")

    def setattr(self, changes: SetAttr) -> None:
        raise NinepError(EPERM)


class _Empty:
    def read(self, offset: int, count: int) -> bytes:
        return b""

    def write(self, offset: int, data: bytes) -> int:
        raise NinepError(errnos.EISDIR)

    def close(self) -> None:
        pass


class NsNode:
    """A file of the namespace: a walked (unopened) channel on it, or, for an entry of a
    directory listing, its parent and name (walked when first needed) and the listing's stat."""

    __slots__ = ("export", "_chan", "parent", "name", "_dir", "_qid_of", "_qid")

    def __init__(self, export: NsExport, chan: Chan | None, parent: NsNode | None = None,
                 name: str = "", listed: Dir | None = None) -> None:
        self.export = export
        self._chan = chan
        self.parent = parent
        self.name = name
        self._dir = listed
        self._qid_of: Any = None  # the channel qid that _qid was made from
        self._qid: Qid | None = None

    @property
    def chan(self) -> Chan:
        if self._chan is None:
            assert self.parent is not None
            found = self.export.namespace.walk1(self.parent.chan, self.name)
            if found is None:
                raise NinepError(ENOENT)
            self._chan = found
        return self._chan

    @_translate
    def attr(self) -> Attr:
        if self._dir is not None:  # fresh from a listing: answer from it once
            d, self._dir = self._dir, None
            parent = self.parent.chan  # type: ignore[union-attr]
            key = (parent.driver, parent.devno, d.qid.path)  # the entry is in its parent's device
            return self.export.attr_of(d, self.export.qid_path(key))
        chan = self.chan
        # the path number of the qid the walk to this node made (no key to look up again)
        qid = self._qid if chan.qid is self._qid_of else self._new_qid()
        return self.export.attr_of(chan.driver.stat(chan), qid[2])  # type: ignore[index]

    def qid(self) -> Qid:
        """From the channel's qid (or the listing's), without asking the device for a stat."""
        chan = self._chan
        if chan is not None and chan.qid is self._qid_of:  # a walk from here asks again and again
            return self._qid  # type: ignore[return-value]
        return self._new_qid()

    @_translate
    def _new_qid(self) -> Qid:
        if self._dir is not None:
            parent = self.parent.chan  # type: ignore[union-attr]
            return self.export.listed_qid(self._dir, parent.driver, parent.devno)
        chan = self.chan
        qid = chan.qid
        path = self.export.qid_path((chan.driver, chan.devno, qid.path))
        self._qid_of, self._qid = qid, Qid(qid.type & QTDIR, qid.vers & 0xFFFFFFFF, path)
        return self._qid

    @_translate
    def walk(self, name: str) -> NsNode:
        chan = self.chan
        found = self.export.namespace.walk1(chan, name)
        if found is None:
            raise NinepError(ENOENT)
        base = chan.path
        found.path = (base.rstrip("/") + "/" + name) if base else name
        return NsNode(self.export, found)

    @_translate
    def listdir(self) -> list[tuple[str, NsNode]]:
        entries = self.export.namespace.dirread(self.chan)
        return [(d.name, NsNode(self.export, None, self, d.name, d)) for d in entries]

    @_translate
    def listqids(self) -> list[tuple[str, Qid]]:
        chan = self.chan
        export = self.export  # the entries are in the directory's device
        return export.listed_qids(export.namespace.dirread(chan), chan.driver, chan.devno)

    @_translate
    def open(self, flags: int) -> NsHandle:
        access = flags & O_ACCMODE
        mode = ORDWR if access == O_RDWR else OWRITE if access == O_WRONLY else OREAD
        if flags & O_TRUNC:
            mode |= OTRUNC
        opened = self.export.namespace.open(self.chan.clone(), mode)
        hold(opened)
        return NsHandle(opened)

    @_translate
    def create(self, name: str, mode: int) -> NsNode:
        is_dir = mode & 0o170000 == S_IFDIR
        perm = (mode & 0o777) | (DMDIR if is_dir else 0)
        created = self.export.namespace.create(self.chan, name, OREAD if is_dir else OWRITE, perm)
        hold(created)
        release(created)  # the server opens the new file again, as its client asked
        return self.walk(name)

    @_translate
    def unlink(self, name: str, is_dir: bool) -> None:
        child = self.export.namespace.walk1(self.chan, name)
        if child is None:
            raise NinepError(ENOENT)
        self.export.namespace.remove(child)

    @_translate
    def rename(self, name: str, target: Any, new_name: str) -> None:
        if not isinstance(target, NsNode):
            raise NinepError(errnos.EXDEV)
        child = self.export.namespace.walk1(self.chan, name)
        if child is None:
            raise NinepError(ENOENT)
        self.export.namespace.rename(child, target.chan, new_name)

    @_translate
    def setattr(self, changes: SetAttr) -> None:
        chan = self.chan
        mode = None
        if changes.mode is not None:
            mode = (changes.mode & 0o777) | (DMDIR if chan.qid.type & QTDIR else 0)
        mtime = None if changes.mtime_ns is None else max(0, changes.mtime_ns - self.export.epoch_ns)
        if changes.size is None and mode is None and mtime is None:
            return
        chan.driver.wstat(chan, Wstat(length=changes.size, mode=mode, mtime=mtime))


class NsHandle:
    """An open channel; reads and writes go to its device at the offsets the client gives."""

    __slots__ = ("chan",)

    def __init__(self, chan: Chan) -> None:
        self.chan = chan

    @_translate
    def read(self, offset: int, count: int) -> bytes:
        data = self.chan.driver.read(self.chan, count, offset)
        return data.encode() if isinstance(data, str) else data  # the device's copy, not another

    @_translate
    def read_view(self, offset: int, count: int) -> bytes | memoryview:
        """:meth:`read`, possibly as a view of the device's memory that is valid only until
        anything else runs (a driver's ``read_view``, as #tmpfs has): for a reply sent at once."""
        chan = self.chan
        view = getattr(chan.driver, "read_view", None)
        if view is None:
            return self.read(offset, count)
        data = view(chan, count, offset)
        return data.encode() if isinstance(data, str) else data

    @_translate
    def write(self, offset: int, data: bytes) -> int:
        return self.chan.driver.write(self.chan, data, offset)

    def close(self) -> None:
        with contextlib.suppress(DeviceError, WouldBlock):
            release(self.chan)
