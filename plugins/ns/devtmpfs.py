"""#tmpfs: an in-memory file system, writable; ``#tmpfs.NAME`` attaches the instance NAME (the
same name gives the same files, kernel-wide), bounded by ``[namespace] tmpfs_size`` in all.

A file's contents live in a page cache (frames of the machine's memory, as Linux's tmpfs keeps
its files in RAM), which is also what mappings of the file show: read(), write() and every
mapping agree. A removed file's frames are freed when it is neither named nor open (a mapping
keeps the file open)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from kernkit.core.devices import (
    DMDIR,
    ORCLOSE,
    ORDWR,
    OTRUNC,
    OWRITE,
    QTDIR,
    QTFILE,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    Qid,
    Wstat,
)
from kernkit.core.errors import OutOfMemory
from kernkit.core.pagecache import PageCache
from kernkit.plugins.ns.synthetic import check_mode

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

#: A file may not grow past this (like a file size limit); the instance limit applies too.
MAX_FILE = 1 << 32


class Node:
    __slots__ = ("name", "qid", "perm", "data", "children", "parent", "mtime", "opens")

    def __init__(
        self, name: str, qid: Qid, perm: int, parent: Node | None, mtime: int, data: PageCache | None = None
    ) -> None:
        self.name = name
        self.qid = qid
        self.perm = perm
        #: A file's contents (None for a directory).
        self.data = data
        self.children: dict[str, Node] | None = {} if qid.type & QTDIR else None
        self.parent = parent
        self.mtime = mtime
        #: Open channels on the file (a removed file's frames go with the last).
        self.opens = 0


class Tmpfs:
    """One instance: a tree of nodes."""

    def __init__(self, devno: int, now: int) -> None:
        self.devno = devno
        self.paths = itertools.count(1)
        self.root = Node("/", Qid(0, 0, QTDIR), DMDIR | 0o777, None, now)


class TmpfsDevice(DeviceDriver):
    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.instances: dict[str, Tmpfs] = {}
        self.by_devno: dict[int, Tmpfs] = {}
        #: Where anonymous files (memfd) live: an instance no name attaches.
        self._hidden = self.by_devno[-1] = Tmpfs(-1, 0)
        self.limit = kernel.config["namespace"].tmpfs_size
        self.memory = kernel.machine.memory
        self.used = 0
        #: Changes whenever a name appears, goes or moves in any instance (see dirgen).
        self.generation = 0

    def attach(self, spec: str) -> Chan:
        fs = self.instances.get(spec)
        if fs is None:
            fs = self.instances[spec] = Tmpfs(len(self.instances), self.kernel.now())
            self.by_devno[fs.devno] = fs
        return Chan(self, fs.root.qid, fs.devno, fs.root)

    def walk(self, chan: Chan, name: str) -> Chan | None:
        child = chan.aux.children.get(name)
        return None if child is None else Chan(self, child.qid, chan.devno, child)

    def stat(self, chan: Chan) -> Dir:
        return _stat(chan.aux)

    def dirgen(self, chan: Chan) -> int:
        return self.generation

    def dirread(self, chan: Chan) -> list[Dir]:
        return [_stat(child) for child in chan.aux.children.values()]

    def open(self, chan: Chan, mode: int) -> Chan:
        node = chan.aux
        if node.children is not None and mode & 3 in (OWRITE, ORDWR):
            raise DeviceError("EISDIR")
        check_mode(mode, node.perm)
        if mode & OTRUNC and node.data is not None and node.data.size:
            self._resize(node, 0)
        node.opens += 1
        chan.mode = mode
        chan.offset = 0
        return chan

    def create(self, chan: Chan, name: str, mode: int, perm: int) -> Chan:
        directory = chan.aux
        if directory.children is None:
            raise DeviceError("ENOTDIR")
        if directory.parent is None and directory is not self._instance(chan).root:
            raise DeviceError("ENOENT", "directory was removed")
        if name in directory.children:
            raise DeviceError("EEXIST")
        fs = self._instance(chan)
        kind = QTDIR if perm & DMDIR else QTFILE
        data = None if kind == QTDIR else PageCache(self.memory)
        node = Node(name, Qid(next(fs.paths), 0, kind), perm, directory, self.kernel.now(), data)
        directory.children[name] = node
        self.generation += 1
        self._touch(directory)
        created = Chan(self, node.qid, chan.devno, node)
        created.mode = mode & ~OTRUNC
        node.opens += 1
        return created

    def anonymous(self, name: str, perm: int = 0o600) -> Chan:
        """An open (read-write) file in no directory, gone with its last holder: Linux's
        memfd_create."""
        node = Node(
            name,
            Qid(next(self._hidden.paths), 0, QTFILE),
            perm,
            None,
            self.kernel.now(),
            PageCache(self.memory),
        )
        chan = Chan(self, node.qid, self._hidden.devno, node)
        chan.mode = ORDWR
        node.opens += 1
        return chan

    def read(self, chan: Chan, count: int, offset: int) -> bytes:
        return chan.aux.data.read(offset, count)

    def write(self, chan: Chan, data: bytes, offset: int) -> int:
        node = chan.aux
        end = offset + len(data)
        if end > MAX_FILE:
            raise DeviceError("EFBIG")
        size = node.data.size
        grow = max(end - size, 0)
        if grow:
            self._charge(grow)
        try:
            node.data.write(offset, data)
        except OutOfMemory:
            self.used -= grow - max(node.data.size - size, 0)
            raise DeviceError("ENOSPC", "no memory left for #tmpfs") from None
        self._touch(node)
        return len(data)

    def mmap(self, chan: Chan) -> PageCache:
        if chan.aux.data is None:
            raise DeviceError("ENODEV")
        return chan.aux.data

    def remove(self, chan: Chan) -> None:
        node = chan.aux
        if node.parent is None:
            raise DeviceError("EBUSY" if node is self._instance(chan).root else "ENOENT")
        if node.children:
            raise DeviceError("ENOTEMPTY")
        self._unlink(node)

    def wstat(self, chan: Chan, changes: Wstat) -> None:
        node = chan.aux
        if changes.length is not None:
            if node.children is not None:
                raise DeviceError("EISDIR")
            if not 0 <= changes.length <= MAX_FILE:
                raise DeviceError("EINVAL" if changes.length < 0 else "EFBIG")
            self._resize(node, changes.length)
        if changes.mode is not None:
            node.perm = (node.perm & DMDIR) | (changes.mode & 0o7777)
        if changes.mtime is not None:
            node.mtime = changes.mtime
        if changes.name is not None and changes.name != node.name:
            if node.parent is None:
                raise DeviceError("EINVAL")
            if changes.name in node.parent.children:
                raise DeviceError("EEXIST")
            self._move(node, node.parent, changes.name)

    def rename(self, chan: Chan, newdir: Chan, name: str) -> None:
        node, target = chan.aux, newdir.aux
        if node.parent is None or target.children is None:
            raise DeviceError("EINVAL" if node.parent is None else "ENOTDIR")
        ancestor = target
        while ancestor is not None:  # a directory cannot move into itself
            if ancestor is node:
                raise DeviceError("EINVAL")
            ancestor = ancestor.parent
        victim = target.children.get(name)
        if victim is node:
            return
        if victim is not None:
            if node.children is not None and victim.children is None:
                raise DeviceError("ENOTDIR")
            if node.children is None and victim.children is not None:
                raise DeviceError("EISDIR")
            if victim.children:
                raise DeviceError("ENOTEMPTY")
            self._unlink(victim)
        self._move(node, target, name)

    def close(self, chan: Chan) -> None:
        node = chan.aux
        node.opens -= 1
        if chan.mode & ORCLOSE and node.parent is not None:
            self._unlink(node)
        self._forget(node)

    # --- bookkeeping -----------------------------------------------------------------------

    def _instance(self, chan: Chan) -> Tmpfs:
        return self.by_devno[chan.devno]

    def _touch(self, node: Node) -> None:
        node.mtime = self.kernel.now()
        node.qid = Qid(node.qid.path, node.qid.vers + 1, node.qid.type)

    def _charge(self, grow: int) -> None:
        if self.used + grow > self.limit:
            raise DeviceError("ENOSPC", f"#tmpfs is full ([namespace] tmpfs_size = {self.limit})")
        self.used += grow

    def _resize(self, node: Node, length: int) -> None:
        size = node.data.size
        if length > size:
            self._charge(length - size)
        else:
            self.used -= size - length
        node.data.resize(length)
        self._touch(node)

    def _unlink(self, node: Node) -> None:
        self.generation += 1
        del node.parent.children[node.name]
        self._touch(node.parent)
        node.parent = None
        # open channels may go on using the node; its bytes no longer count against the limit
        if node.data is not None:
            self.used -= node.data.size
        self._forget(node)

    def _forget(self, node: Node) -> None:
        """A file neither named nor open is gone: its frames are free again."""
        if node.parent is None and node.opens <= 0 and node.data is not None and node.children is None:
            node.data.drop()

    def _move(self, node: Node, target: Node, name: str) -> None:
        self.generation += 1
        del node.parent.children[node.name]
        self._touch(node.parent)
        node.name = name
        node.parent = target
        target.children[name] = node
        self._touch(target)


def _stat(node: Node) -> Dir:
    length = node.data.size if node.data is not None else 0
    return Dir(node.name, node.qid, node.perm, length, node.mtime, node.mtime)
