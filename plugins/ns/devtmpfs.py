"""#tmpfs: an in-memory file system, writable; ``#tmpfs.NAME`` attaches the instance NAME (the
same name gives the same files, kernel-wide), bounded by ``[namespace] tmpfs_size`` in all and
by the machine's memory (file contents in its frames; inodes and link targets, with the rest of
the kernel's buffers, in ``kernel.kmem``).

Files, directories, symbolic links and named pipes (FIFOs), with hard links, owners, modes and
three times each, as a Linux tmpfs keeps them. A name is a :class:`Node` in its directory; what
the name stands for is an :class:`Inode`, which several names share after a hard link.

A file's contents live in a page cache (frames of the machine's memory, as Linux's tmpfs keeps
its files in RAM), which is also what mappings of the file show: read(), write() and every
mapping agree. A file's frames are freed when it has no name left and nobody has it open (a
mapping keeps the file open). :meth:`TmpfsDevice.anonymous` makes files with no name at all
(memfd_create).
"""

from __future__ import annotations

import itertools
from typing import TYPE_CHECKING

from kernkit.core.devices import (
    CLOSED,
    DMDIR,
    DMNAMEDPIPE,
    DMSOCKET,
    DMSPECIAL,
    DMSYMLINK,
    ORCLOSE,
    ORDWR,
    OREAD,
    OTRUNC,
    OWRITE,
    POLLIN,
    POLLOUT,
    QTDIR,
    QTFILE,
    QTSYMLINK,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    FsStat,
    Qid,
    Wstat,
    owner_of,
    superuser,
)
from kernkit.core.errors import OutOfMemory
from kernkit.core.pagecache import PageCache
from kernkit.plugins.ns.devpipe import Fifo
from kernkit.plugins.ns.pageview import view_of
from kernkit.plugins.ns.synthetic import check_mode

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

#: A file may not grow past this: Linux's MAX_LFS_FILESIZE. A hole costs nothing; the pages a
#: file holds count against the instance limit, as on Linux's tmpfs.
MAX_FILE = (1 << 63) - 1
BLOCK = 4096
#: What a directory's size counts per name, as Linux's tmpfs does.
DIRENT_SIZE = 20
#: The files all instances may hold: one per block of ``tmpfs_size``, and at least this many.
MIN_INODES = 1024
#: The kernel memory account's name for #tmpfs (core/kmem.py), and what a file costs there
#: besides its contents, so that a million empty files fill the machine too.
KMEM_OWNER = "tmpfs"
INODE_COST = 256


class Inode:
    """A file: its identity, kind, permissions, owners, times and contents."""

    __slots__ = (
        "qid",
        "perm",
        "data",
        "children",
        "target",
        "fifo",
        "uid",
        "gid",
        "atime",
        "mtime",
        "ctime",
        "links",
        "opens",
        "charged",
    )

    def __init__(
        self, qid: Qid, perm: int, now: int, uid: str, gid: str, data: PageCache | None = None
    ) -> None:
        self.qid = qid
        self.perm = perm
        #: A regular file's contents (None for a directory or a symbolic link).
        self.data = data
        self.children: dict[str, Node] | None = {} if qid.type & QTDIR else None
        self.target = ""  # a symbolic link's
        self.fifo: Fifo | None = None
        self.uid, self.gid = uid, gid
        self.atime = self.mtime = self.ctime = now
        self.links = 1
        self.opens = 0
        #: Bytes of its pages counted against the instance limit (pages held, times BLOCK).
        self.charged = 0


class Node:
    """A name in a directory for an inode."""

    __slots__ = ("name", "parent", "inode", "stat_cache")

    def __init__(self, name: str, parent: Node | None, inode: Inode) -> None:
        self.name = name
        self.parent = parent
        self.inode = inode
        #: (what the last stat was made of, that Dir): a listing or a stat of an unchanged
        #: file answers with the same (immutable) Dir instead of building one
        self.stat_cache: tuple[tuple, Dir] | None = None


class Tmpfs:
    """One instance: a tree of nodes."""

    def __init__(self, devno: int, now: int) -> None:
        self.devno = devno
        self.paths = itertools.count(1)
        self.root = Node("/", None, Inode(Qid(0, 0, QTDIR), DMDIR | 0o1777, now, "kernkit", "kernkit"))
        self.root.inode.links = 2


class TmpfsDevice(DeviceDriver):
    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.instances: dict[str, Tmpfs] = {}
        self.by_devno: dict[int, Tmpfs] = {}
        self.limit = kernel.config["namespace"].tmpfs_size
        self.memory = kernel.machine.memory
        self.used = 0
        self.inodes = 0
        self.max_inodes = max(self.limit // BLOCK, MIN_INODES)
        #: Changes whenever a name appears, goes or moves in any instance (see dirgen).
        self.generation = 0
        #: Where files with no name (memfd) live: an instance no name attaches.
        self._hidden = self.by_devno[-1] = Tmpfs(-1, 0)

    def attach(self, spec: str) -> Chan:
        fs = self.instances.get(spec)
        if fs is None:
            fs = self.instances[spec] = Tmpfs(len(self.instances), self._now())
            self.by_devno[fs.devno] = fs
        return Chan(self, fs.root.inode.qid, fs.devno, fs.root)

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        children = chan.aux.inode.children
        child = children.get(name) if children is not None else None
        return None if child is None else Chan(self, child.inode.qid, chan.devno, child)

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        return _stat(chan.aux)

    def dirgen(self, chan: Chan) -> int:
        return self.generation

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        children = chan.aux.inode.children
        if children is None:
            raise DeviceError("ENOTDIR")
        return [_stat(child) for child in children.values()]

    def statfs(self, chan: Chan) -> FsStat:
        blocks = self.limit // BLOCK
        free = max(blocks - -(-self.used // BLOCK), 0)
        return FsStat(BLOCK, blocks, free, self.max_inodes, self.max_inodes - self.inodes)

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        inode = chan.aux.inode
        perm = inode.perm
        # a read-only open of a readable plain file or directory: every test below passes
        plain = not perm & DMSOCKET and not inode.qid.type & QTSYMLINK and inode.fifo is None
        if mode == OREAD and perm & 0o444 and plain:
            inode.opens += 1
            chan.mode = mode
            chan.offset = 0
            return chan
        if inode.children is not None and mode & 3 in (OWRITE, ORDWR):
            raise DeviceError("EISDIR")
        if inode.qid.type & QTSYMLINK:
            raise DeviceError("ELOOP", "a symbolic link")
        if inode.perm & DMSOCKET:  # a bound socket's name: connect to it, never open it (Linux)
            raise DeviceError("ENXIO", "a socket file")
        want, perm = mode & 3, inode.perm  # check_mode's test first, inline: most opens pass it
        refused = (want != OWRITE and not perm & 0o444) or (want in (OWRITE, ORDWR) and not perm & 0o222)
        if refused and not superuser(caller):  # the superuser may open anything, as on Linux
            check_mode(mode, perm)
        if inode.fifo is not None:
            inode.fifo.open(mode, caller.process.pid if caller is not None else 0)
        elif mode & OTRUNC and inode.children is None:
            self._resize(inode, 0)
        inode.opens += 1
        chan.mode = mode
        chan.offset = 0
        return chan

    def create(self, chan: Chan, name: str, mode: int, perm: int, *, caller: Thread | None = None) -> Chan:
        """A file, a directory (DMDIR) or a named pipe (DMNAMEDPIPE: made, not opened)."""
        node = self._new(chan, name, QTDIR if perm & DMDIR else QTFILE, perm, caller)
        created = Chan(self, node.inode.qid, chan.devno, node)
        if perm & DMNAMEDPIPE:
            node.inode.fifo = Fifo(self.kernel)
            return created
        node.inode.opens += 1
        created.mode = mode & ~OTRUNC
        return created

    def symlink(self, chan: Chan, name: str, target: str, *, caller: Thread | None = None) -> None:
        node = self._new(chan, name, QTSYMLINK, DMSYMLINK | 0o777, caller)
        node.inode.target = target
        self._charge(len(target), in_kernel=True)

    def readlink(self, chan: Chan, *, caller: Thread | None = None) -> str:
        inode = chan.aux.inode
        if not inode.qid.type & QTSYMLINK:
            raise DeviceError("EINVAL", "not a symbolic link")
        inode.atime = self._now()
        return inode.target

    def link(self, chan: Chan, newdir: Chan, name: str, *, caller: Thread | None = None) -> None:
        inode, directory = chan.aux.inode, newdir.aux
        if inode.children is not None:
            raise DeviceError("EPERM", "a directory cannot have another name")
        if inode.links == 0:
            raise DeviceError("ENOENT", "the file was removed")
        self._check_new(newdir, name)
        directory.inode.children[name] = Node(name, directory, inode)
        inode.links += 1
        now = self._now()
        inode.ctime = now
        self._changed_dir(directory.inode, now)

    def anonymous(self, name: str, perm: int = 0o600, *, caller: Thread | None = None) -> Chan:
        """An open (read-write) file in no directory, gone with its last holder: Linux's
        memfd_create."""
        if not self.kernel.kmem.charge(KMEM_OWNER, INODE_COST):
            raise DeviceError("ENOMEM", "#tmpfs: the machine's memory is full")
        fs, now = self._hidden, self._now()
        uid, gid = owner_of(caller)
        inode = Inode(Qid(next(fs.paths), 0, QTFILE), perm, now, uid, gid, PageCache(self.memory))
        inode.links = 0
        inode.opens = 1
        self.inodes += 1
        chan = Chan(self, inode.qid, fs.devno, Node(name, None, inode))
        chan.mode = ORDWR
        return chan

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        # the native system call entry does this read itself for a cached page (ns.api's
        # PAGE_CACHE_READERS, arch/x86_64/_native.c's fast_read): keep the two in step
        inode = chan.aux.inode
        if inode.fifo is not None:
            return inode.fifo.read(count)
        if inode.atime <= inode.mtime or inode.atime <= inode.ctime:  # Linux's relatime
            inode.atime = self._now()
        return inode.data.read(offset, count)

    def read_view(self, chan: Chan, count: int, offset: int) -> bytes | memoryview:
        """:meth:`read` for a reader that sends the bytes before anything else runs (the 9P
        export): a view of the file's frames where they allow it, not a copy (pageview.py)."""
        inode = chan.aux.inode
        if inode.fifo is None:
            view = view_of(inode.data, offset, count)
            if view is not None:
                if inode.atime <= inode.mtime or inode.atime <= inode.ctime:
                    inode.atime = self._now()
                return view
        return self.read(chan, count, offset)

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        inode = chan.aux.inode
        if inode.fifo is not None:
            return inode.fifo.write(data)
        end = offset + len(data)
        if end > MAX_FILE:
            raise DeviceError("EFBIG")
        pages = inode.data.pages
        new = sum(1 for index in range(offset // BLOCK, -(-end // BLOCK)) if index not in pages)
        if new:
            self._charge(new * BLOCK)
            inode.charged += new * BLOCK
        try:
            inode.data.write(offset, data)
        except OutOfMemory:
            raise DeviceError("ENOSPC", "no memory left for #tmpfs") from None
        finally:
            self._settle(inode)
        self._touch(inode)
        return len(data)

    def mmap(self, chan: Chan) -> PageCache:
        inode = chan.aux.inode
        if inode.data is None or inode.fifo is not None:
            raise DeviceError("ENODEV")
        return inode.data

    def poll(self, chan: Chan) -> int:
        fifo = chan.aux.inode.fifo
        return POLLIN | POLLOUT if fifo is None else fifo.poll(chan.mode)

    def remove(self, chan: Chan, *, caller: Thread | None = None) -> None:
        node = chan.aux
        if node.parent is None:
            raise DeviceError("EBUSY" if node is self._instance(chan).root else "ENOENT")
        if node.inode.children:
            raise DeviceError("ENOTEMPTY")
        self._unlink(node)

    def wstat(self, chan: Chan, changes: Wstat, *, caller: Thread | None = None) -> None:
        node = chan.aux
        inode = node.inode
        now = self._now()
        if changes.length is not None:
            if inode.children is not None:
                raise DeviceError("EISDIR")
            if inode.qid.type & QTSYMLINK or inode.fifo is not None:
                raise DeviceError("EINVAL")
            if not 0 <= changes.length <= MAX_FILE:
                raise DeviceError("EINVAL" if changes.length < 0 else "EFBIG")
            self._resize(inode, changes.length)
        if changes.mode is not None:
            inode.perm = (inode.perm & ~(0o777 | DMSPECIAL)) | (changes.mode & (0o777 | DMSPECIAL))
            inode.ctime = now
        if changes.uid is not None or changes.gid is not None:
            inode.uid = inode.uid if changes.uid is None else changes.uid
            inode.gid = inode.gid if changes.gid is None else changes.gid
            inode.ctime = now
        if changes.mtime is not None or changes.atime is not None:
            inode.mtime = inode.mtime if changes.mtime is None else changes.mtime
            inode.atime = inode.atime if changes.atime is None else changes.atime
            inode.ctime = now
        if changes.name is not None and changes.name != node.name:
            if node.parent is None:
                raise DeviceError("EINVAL")
            if changes.name in node.parent.inode.children:
                raise DeviceError("EEXIST")
            self._move(node, node.parent, changes.name)

    def rename(self, chan: Chan, newdir: Chan, name: str, *, caller: Thread | None = None) -> None:
        node, target = chan.aux, newdir.aux
        if node.parent is None or target.inode.children is None:
            raise DeviceError("EINVAL" if node.parent is None else "ENOTDIR")
        ancestor = target
        while ancestor is not None:  # a directory cannot move into itself
            if ancestor.inode is node.inode:
                raise DeviceError("EINVAL")
            ancestor = ancestor.parent
        victim = target.inode.children.get(name)
        if victim is node:
            return
        if victim is not None:
            if victim.inode is node.inode:  # two names of one file: POSIX says do nothing
                return
            if node.inode.children is not None and victim.inode.children is None:
                raise DeviceError("ENOTDIR")
            if node.inode.children is None and victim.inode.children is not None:
                raise DeviceError("EISDIR")
            if victim.inode.children:
                raise DeviceError("ENOTEMPTY")
            self._unlink(victim)
        self._move(node, target, name)

    def close(self, chan: Chan) -> None:
        # the native system call entry does this close itself when it only counts the opens down
        # (ns.api's PAGE_CACHE_READERS, arch/x86_64/_native.c's fast_close): keep the two in step
        node = chan.aux
        inode = node.inode
        if chan.mode == CLOSED:
            return
        if inode.fifo is not None:
            inode.fifo.close(chan.mode)
        inode.opens -= 1
        if chan.mode & ORCLOSE and node.parent is not None:
            self._unlink(node)
        chan.mode = CLOSED
        if inode.links == 0 and inode.opens <= 0:  # _release_if_gone's test: most closes keep it
            self._release_if_gone(inode)

    # --- bookkeeping -----------------------------------------------------------------------

    def _now(self) -> int:
        return self.kernel.now(self.kernel.active_core)

    def _instance(self, chan: Chan) -> Tmpfs:
        return self.by_devno[chan.devno]

    def _check_new(self, chan: Chan, name: str) -> None:
        directory = chan.aux
        if directory.inode.children is None:
            raise DeviceError("ENOTDIR")
        if directory.parent is None and directory is not self._instance(chan).root:
            raise DeviceError("ENOENT", "directory was removed")
        if name in directory.inode.children:
            raise DeviceError("EEXIST")

    def _new(self, chan: Chan, name: str, kind: int, perm: int, caller: Thread | None) -> Node:
        self._check_new(chan, name)
        directory = chan.aux
        if self.inodes >= self.max_inodes:
            raise DeviceError("ENOSPC", f"#tmpfs holds {self.inodes} files, its most")
        if not self.kernel.kmem.charge(KMEM_OWNER, INODE_COST):
            raise DeviceError("ENOSPC", "#tmpfs: the machine's memory is full")
        fs = self._instance(chan)
        now = self._now()
        uid, gid = owner_of(caller)
        if directory.inode.perm & 0o2000:  # a set-group-id directory gives its group
            gid = directory.inode.gid
        data = PageCache(self.memory) if kind == QTFILE else None
        inode = Inode(Qid(next(fs.paths), 0, kind), perm, now, uid, gid, data)
        if kind & QTDIR:
            inode.links = 2
            directory.inode.links += 1
            if directory.inode.perm & 0o2000:
                inode.perm |= 0o2000
        node = Node(name, directory, inode)
        directory.inode.children[name] = node
        self.inodes += 1
        self.generation += 1
        self._changed_dir(directory.inode, now)
        return node

    def _changed_dir(self, inode: Inode, now: int) -> None:
        inode.mtime = inode.ctime = now
        inode.qid = Qid(inode.qid.path, inode.qid.vers + 1, inode.qid.type)

    def _touch(self, inode: Inode) -> None:
        self._changed_dir(inode, self._now())

    # where the contents grow and shrink: the only places that count them

    def _charge(self, grow: int, in_kernel: bool = False) -> None:
        """Count ``grow`` more bytes against ``[namespace] tmpfs_size``. File contents live in
        page frames, which the machine's memory bounds already; bytes the kernel itself holds
        (``in_kernel``: a link's target) are charged to the kernel memory account too."""
        if self.used + grow > self.limit:
            raise DeviceError("ENOSPC", f"#tmpfs is full ([namespace] tmpfs_size = {self.limit})")
        if in_kernel and not self.kernel.kmem.charge(KMEM_OWNER, grow):
            raise DeviceError("ENOSPC", "#tmpfs: the machine's memory is full")
        self.used += grow

    def _uncharge(self, size: int, in_kernel: bool = False) -> None:
        self.used -= size
        if in_kernel:
            self.kernel.kmem.release(KMEM_OWNER, size)

    def _settle(self, inode: Inode) -> None:
        """Count the pages the file holds now (those written through a mapping too)."""
        held = len(inode.data.pages) * BLOCK
        self.used += held - inode.charged
        inode.charged = held

    def _resize(self, inode: Inode, length: int) -> None:
        inode.data.resize(length)  # pages past the new end leave every mapping too; growth is a hole
        self._settle(inode)
        self._touch(inode)

    def _unlink(self, node: Node) -> None:
        self.generation += 1
        parent = node.parent
        del parent.inode.children[node.name]
        now = self._now()
        self._changed_dir(parent.inode, now)
        node.parent = None
        inode = node.inode
        inode.links -= 1
        if inode.children is not None:
            parent.inode.links -= 1
            inode.links = 0
        inode.ctime = now
        self._release_if_gone(inode)

    def _release_if_gone(self, inode: Inode) -> None:
        """A file with no name left and no opener gives back its space, as on Linux."""
        if inode.links == 0 and inode.opens <= 0:
            self._uncharge(inode.charged)
            inode.charged = 0
            self._uncharge(len(inode.target), in_kernel=True)
            self.kernel.kmem.release(KMEM_OWNER, INODE_COST)
            self.inodes -= 1
            if inode.data is not None:  # its frames are free again
                inode.data.drop()
                inode.data = PageCache(self.memory)
            inode.links = -1  # given back once

    def _move(self, node: Node, target: Node, name: str) -> None:
        self.generation += 1
        now = self._now()
        source = node.parent
        del source.inode.children[node.name]
        self._changed_dir(source.inode, now)
        if node.inode.children is not None and source is not target:
            source.inode.links -= 1
            target.inode.links += 1
        node.name = name
        node.parent = target
        target.inode.children[name] = node
        self._changed_dir(target.inode, now)
        node.inode.ctime = now


def _stat(node: Node) -> Dir:
    inode = node.inode
    mode = inode.perm | (DMNAMEDPIPE if inode.fifo is not None else 0)
    if inode.children is not None:  # Linux's tmpfs: 20 bytes a name, '.' and '..' included
        length = DIRENT_SIZE * (2 + len(inode.children))
    else:
        length = inode.data.size if inode.data is not None else len(inode.target)
    # Linux's tmpfs counts the pages a file holds (none for a hole, a directory or a link)
    pages = len(inode.data.pages) if inode.data is not None else 0
    made_of = (
        node.name, inode.qid, mode, length, inode.mtime, inode.atime, inode.uid, inode.gid,
        inode.ctime, inode.links, pages,
    )  # fmt: skip
    cached = node.stat_cache
    if cached is not None and cached[0] == made_of:
        return cached[1]
    d = Dir(*made_of[:8], ctime=inode.ctime, links=inode.links, blocks=pages * (BLOCK // 512))
    node.stat_cache = (made_of, d)
    return d
