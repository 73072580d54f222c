"""#tmpfs: an in-memory file system, writable; ``#tmpfs.NAME`` attaches the instance NAME (the
same name gives the same files, kernel-wide), bounded by ``[namespace] tmpfs_size`` in all and,
with the rest of the kernel's buffers, by the machine's memory (``kernel.kmem``)."""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from kernkit.core.devices import (
    CLOSED,
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
from kernkit.plugins.ns.synthetic import check_mode

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

#: A file may not grow past this (like a file size limit); the instance limit applies too.
MAX_FILE = 1 << 32
#: What a name costs besides its data (the node, its entry in the directory), charged to the
#: kernel's memory so that a million empty files fill it too.
NODE_COST = 256


class Node:
    __slots__ = ("name", "qid", "perm", "data", "children", "parent", "mtime", "opens", "charged")

    def __init__(self, name: str, qid: Qid, perm: int, parent: Node | None, mtime: int) -> None:
        self.name = name
        self.qid = qid
        self.perm = perm
        self.data = bytearray()
        self.children: dict[str, Node] | None = {} if qid.type & QTDIR else None
        self.parent = parent
        self.mtime = mtime
        #: Open channels on it: an unlinked node's memory is given back when the last closes.
        self.opens = 0
        #: Bytes of kernel memory charged for it (its cost and its data).
        self.charged = 0


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
        self.limit = kernel.config["namespace"].tmpfs_size
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
        node.opens += 1
        if mode & OTRUNC and node.data:
            self._resize(node, 0)
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
        node = Node(name, Qid(next(fs.paths), 0, kind), perm, directory, self.kernel.now())
        self._charge(node, NODE_COST, data=False)
        node.opens = 1
        directory.children[name] = node
        self.generation += 1
        self._touch(directory)
        created = Chan(self, node.qid, chan.devno, node)
        created.mode = mode & ~OTRUNC
        return created

    def read(self, chan: Chan, count: int, offset: int) -> bytes:
        return bytes(chan.aux.data[offset : offset + count])

    def write(self, chan: Chan, data: bytes, offset: int) -> int:
        node = chan.aux
        end = offset + len(data)
        if end > MAX_FILE:
            raise DeviceError("EFBIG")
        size = len(node.data)
        if end > size:
            self._charge(node, end - size)
            if offset > size:
                node.data.extend(bytes(offset - size))
        node.data[offset:end] = data
        self._touch(node)
        return len(data)

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
        elif node.parent is None and node.opens <= 0 and node is not self._instance(chan).root:
            self._forget(node)
        chan.mode = CLOSED

    # --- bookkeeping -----------------------------------------------------------------------

    def _instance(self, chan: Chan) -> Tmpfs:
        return self.by_devno[chan.devno]

    def _touch(self, node: Node) -> None:
        node.mtime = self.kernel.now()
        node.qid = Qid(node.qid.path, node.qid.vers + 1, node.qid.type)

    # where a node's memory grows and shrinks: the only places that count it

    def _charge(self, node: Node, grow: int, data: bool = True) -> None:
        """``grow`` more bytes for ``node``: its data (against tmpfs_size too) or its cost."""
        if data and self.used + grow > self.limit:
            raise DeviceError("ENOSPC", f"#tmpfs is full ([namespace] tmpfs_size = {self.limit})")
        if not self.kernel.kmem.charge("tmpfs", grow):
            raise DeviceError("ENOSPC", "#tmpfs: the machine's memory is full")
        node.charged += grow
        if data:
            self.used += grow

    def _release(self, node: Node, size: int, data: bool = True) -> None:
        size = min(size, node.charged)
        node.charged -= size
        if data:
            self.used -= size
        self.kernel.kmem.release("tmpfs", size)

    def _forget(self, node: Node) -> None:
        """An unlinked node nobody has open: everything it was charged is given back."""
        self._release(node, len(node.data))
        self._release(node, node.charged, data=False)

    def _resize(self, node: Node, length: int) -> None:
        size = len(node.data)
        if length > size:
            self._charge(node, length - size)
            node.data.extend(bytes(length - size))
        else:
            del node.data[length:]
            self._release(node, size - length)
        self._touch(node)

    def _unlink(self, node: Node) -> None:
        self.generation += 1
        del node.parent.children[node.name]
        self._touch(node.parent)
        node.parent = None
        if node.opens <= 0:  # else open channels go on using it: given back at the last close
            self._forget(node)

    def _move(self, node: Node, target: Node, name: str) -> None:
        self.generation += 1
        del node.parent.children[node.name]
        self._touch(node.parent)
        node.name = name
        node.parent = target
        target.children[name] = node
        self._touch(target)


def _stat(node: Node) -> Dir:
    return Dir(node.name, node.qid, node.perm, len(node.data), node.mtime, node.mtime)
