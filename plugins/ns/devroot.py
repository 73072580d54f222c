"""#root: the read-only tree ``/`` starts from, built from ``[namespace] root``.

Each entry of ``root`` puts a host file or directory at a path (``"/bin" = "@programs"``, the
programs packaged with kernkit); directories on the way, and the mount points the boot binds
need, are made up. Host directories show their regular files, subdirectories and symbolic
links (whose targets are then followed in the namespace, not on the host), read only: modes are
the host's less the write bits; times show as 0 and owners as the superuser, so that listings do
not depend on the host. Nothing can be written, created or removed: those fail with EROFS.

Host files can be mapped (read-only: a shared writable mapping is EACCES, as for any file
opened read-only). Their pages are read from the host when first touched into a page cache
that stays after the last mapping goes, so the next program mapping the same file (a shared
library) finds its pages, and the code translated from them, in place; a changed host file
(size or time) gets a fresh cache. Clean cached pages nobody maps are freed when memory runs
short.
"""

from __future__ import annotations

import os
import stat as st
from pathlib import Path
from typing import TYPE_CHECKING

from kernkit.core.devices import (
    DMDIR,
    DMSPECIAL,
    DMSYMLINK,
    OEXEC,
    OREAD,
    OTRUNC,
    QTDIR,
    QTFILE,
    QTSYMLINK,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    Qid,
)
from kernkit.core.pagecache import PageCache

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

#: Qid paths of host files have this bit set; made-up directories count from 1.
HOST = 1 << 62
_IFMT = 0o170000
#: The kinds of host file shown: regular files, directories and symbolic links.
_SHOWN = frozenset((st.S_IFREG, st.S_IFDIR, st.S_IFLNK))


class RootDir:
    """A made-up directory: its own entries, over a host directory's if it has one."""

    __slots__ = ("name", "qid", "children", "host")

    def __init__(self, name: str, path: int) -> None:
        self.name = name
        self.qid = Qid(path, 0, QTDIR)
        self.children: dict[str, RootDir | HostFile] = {}
        self.host: str | None = None


class HostFile:
    """A host file, directory or symbolic link, by its host path."""

    __slots__ = ("name", "qid", "host", "size", "perm", "links", "dir")

    def __init__(self, name: str, host: str, info: os.stat_result) -> None:
        self.name = name
        self.host = host
        kind = info.st_mode & _IFMT
        is_dir, is_link = kind == st.S_IFDIR, kind == st.S_IFLNK
        identity = ((info.st_dev << 40) ^ info.st_ino) & (HOST - 1)
        self.qid = Qid(HOST | identity, 0, QTDIR if is_dir else QTSYMLINK if is_link else QTFILE)
        self.size = 0 if is_dir else info.st_size
        kind = DMDIR if is_dir else DMSYMLINK if is_link else 0
        self.perm = kind | (info.st_mode & (0o777 | DMSPECIAL) & ~0o222)
        self.links = info.st_nlink
        self.dir: Dir | None = None  # its stat, made once (a Dir costs more than the lstat)


def _join(directory: str, name: str) -> str:
    """``os.path.join`` for a name without '/' (a walk's step: a third of the cost of join)."""
    return directory + name if directory[-1] == "/" else directory + "/" + name


def host_entry(name: str, host: str, *, follow: bool = True) -> HostFile | None:
    """The host file at ``host`` if it is a regular file or a directory (following links), or
    without ``follow`` a symbolic link itself."""
    try:
        info = os.stat(host) if follow else os.lstat(host)
    except OSError:
        return None
    if info.st_mode & _IFMT not in _SHOWN:
        return None
    # the same file unchanged (as far as a stat shows) is the same entry: its stat is made once
    key = (host, follow, name, info.st_dev, info.st_ino, info.st_mode, info.st_size, info.st_nlink)
    known = _KNOWN.get(host)
    if known is not None and known[0] == key:
        return known[1]
    entry = HostFile(name, host, info)
    if len(_KNOWN) >= _KNOWN_MAX:
        _KNOWN.clear()
    _KNOWN[host] = (key, entry)
    return entry


#: The last entry made for each host path, with the stat fields it was made from.
_KNOWN: dict[str, tuple[tuple, HostFile]] = {}
_KNOWN_MAX = 4096


class HostSource:
    """A host file as a page cache's source (read only): opened when a page is needed, closed
    when the cache has no mapping left."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._file = None

    def read_at(self, offset: int, length: int) -> bytes:
        try:
            if self._file is None:
                self._file = open(self.path, "rb")  # noqa: SIM115 - kept open across pages
            self._file.seek(offset)
            return self._file.read(length)
        except OSError as exc:
            raise DeviceError("EIO", f"{self.path}: {exc.strerror}") from None

    def write_at(self, offset: int, data: bytes) -> None:
        raise DeviceError("EROFS")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class RootDevice(DeviceDriver):
    read_only = True

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.next_path = 1
        self.root = RootDir("/", 0)
        #: Host path -> (what identified the file's version, its page cache).
        self.caches: dict[str, tuple[tuple[int, ...], PageCache]] = {}
        self._reclaiming = False

    # --- building ---------------------------------------------------------------------------

    def make_dir(self, path: str) -> RootDir:
        """The made-up directory at ``path`` (absolute, clean), making it and its parents."""
        node = self.root
        for name in [n for n in path.split("/") if n]:
            child = node.children.get(name)
            if child is None:
                child = node.children[name] = RootDir(name, self.next_path)
                self.next_path += 1
            elif isinstance(child, HostFile):
                if child.qid.type & QTDIR:  # a host directory gains made-up entries: wrap it
                    wrapper = RootDir(name, self.next_path)
                    self.next_path += 1
                    wrapper.host = child.host
                    child = node.children[name] = wrapper
                else:
                    raise ValueError(f"{path}: {child.host} is a file, not a directory")
            node = child
        return node

    def add(self, path: str, host: Path) -> None:
        """Put the host file or directory ``host`` at ``path``; ValueError saying why not."""
        entry = host_entry(path.rsplit("/", 1)[-1] or "/", str(host))
        if entry is None:
            raise ValueError(f"{host}: no such host file or directory")
        if path == "/":
            if not entry.qid.type & QTDIR:
                raise ValueError(f"{host} is a file; / must be a directory")
            self.root.host = entry.host
            return
        parent_path, _, name = path.rpartition("/")
        parent = self.make_dir(parent_path or "/")
        if entry.qid.type & QTDIR:
            self.make_dir(path).host = entry.host
        else:
            parent.children[name] = entry

    def add_host(self, path: str) -> None:
        """Show the host file, directory or symbolic link ``path`` at the same path (a directory
        keeps the made-up entries already there, over the host's); ValueError saying why not."""
        entry = host_entry(path.rsplit("/", 1)[-1], path, follow=False)
        if entry is None:
            raise ValueError(f"{path}: no such host file or directory")
        parent_path, _, name = path.rpartition("/")
        parent = self.make_dir(parent_path or "/")
        node = parent.children.get(name)
        if not entry.qid.type & QTDIR:
            parent.children[name] = entry
            return
        if not isinstance(node, RootDir):
            node = parent.children[name] = RootDir(name, self.next_path)
            self.next_path += 1
        node.host = entry.host

    def find(self, host: str) -> str | None:
        """Where the host file ``host`` is in this tree (its first path found), or None."""
        wanted = os.path.realpath(host)

        def search(node: RootDir, path: str) -> str | None:
            if node.host is not None:
                base = os.path.realpath(node.host)
                if wanted.startswith(base.rstrip("/") + "/"):
                    return (path.rstrip("/") + "/" + wanted[len(base) :].lstrip("/")) or "/"
            for name, child in sorted(node.children.items()):
                where = path.rstrip("/") + "/" + name
                if isinstance(child, RootDir):
                    found = search(child, where)
                    if found is not None:
                        return found
                elif os.path.realpath(child.host) == wanted:
                    return where
            return None

        return search(self.root, "/")

    def host_chan(self, host: str) -> Chan | None:
        """A channel on the host file ``host`` itself, found or not in the tree (for a program
        the kernel was given on the host: /proc/PID/exe leads to it), or None if it is gone."""
        entry = host_entry(os.path.basename(host), host)
        return None if entry is None else Chan(self, entry.qid, 0, entry, host)

    # --- the device -------------------------------------------------------------------------

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#root takes no spec (got {spec!r})")
        return Chan(self, self.root.qid, 0, self.root)

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        node = chan.aux
        if type(node) is RootDir:
            child = node.children.get(name)
            if child is None and node.host is not None:
                child = host_entry(name, _join(node.host, name), follow=False)
        else:
            child = host_entry(name, _join(node.host, name), follow=False)
        return None if child is None else Chan(self, child.qid, 0, child)

    def readlink(self, chan: Chan, *, caller: Thread | None = None) -> str:
        node = chan.aux
        if not node.qid.type & QTSYMLINK:
            raise DeviceError("EINVAL", "not a symbolic link")
        try:
            return os.readlink(node.host)
        except OSError as exc:
            raise DeviceError("EIO", f"{node.host}: {exc.strerror}") from None

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        return _stat(chan.aux)

    def dirgen(self, chan: Chan) -> int | None:
        """Made-up directories never change; host ones may, behind the kernel's back."""
        node = chan.aux
        return 0 if isinstance(node, RootDir) and node.host is None else None

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        node = chan.aux
        entries = {}
        if isinstance(node, RootDir):
            entries = {name: _stat(child) for name, child in node.children.items()}
        host = node.host
        if host is not None:
            try:
                names = sorted(os.listdir(host))
            except OSError:
                names = []
            for name in names:
                if name not in entries:
                    child = host_entry(name, os.path.join(host, name), follow=False)
                    if child is not None:
                        entries[name] = _stat(child)
        return list(entries.values())

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        if mode & 3 not in (OREAD, OEXEC) or mode & OTRUNC:
            raise DeviceError("EROFS")
        if chan.qid.type & QTSYMLINK:
            raise DeviceError("ELOOP", "a symbolic link")
        chan.mode = mode
        chan.offset = 0
        return chan

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        node = chan.aux
        if node.qid.type & QTDIR:
            raise DeviceError("EISDIR")
        try:  # no Python file object: a web server's read of a small file is mostly this call
            fd = os.open(node.host, os.O_RDONLY | os.O_CLOEXEC)
            try:
                return os.pread(fd, count, offset)
            finally:
                os.close(fd)
        except OSError as exc:
            raise DeviceError("EIO", f"{node.host}: {exc.strerror}") from None

    def mmap(self, chan: Chan) -> PageCache:
        node = chan.aux
        if not isinstance(node, HostFile) or node.qid.type & (QTDIR | QTSYMLINK):
            raise DeviceError("ENODEV")
        try:
            info = os.stat(node.host)
        except OSError as exc:
            raise DeviceError("EIO", f"{node.host}: {exc.strerror}") from None
        version = (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        known = self.caches.get(node.host)
        if known is not None and known[0] == version:
            return known[1]
        if known is not None:  # the host file changed: start again, the old cache goes with
            known[1].transient = True  # its last mapping (now, if it has none)
            known[1].unmapped()
        memory = self.kernel.machine.memory
        if not self._reclaiming:
            memory.reclaimers.append(self._reclaim)
            self._reclaiming = True
        cache = PageCache(memory, info.st_size, HostSource(node.host))
        self.caches[node.host] = (version, cache)
        return cache

    def _reclaim(self) -> int:
        """Memory is short: free the cached pages of host files that nobody maps."""
        return sum(cache.evict() for _, cache in self.caches.values())

    def create(self, chan: Chan, name: str, mode: int, perm: int, *, caller: Thread | None = None) -> Chan:
        raise DeviceError("EROFS")

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        raise DeviceError("EROFS")

    def remove(self, chan: Chan, *, caller: Thread | None = None) -> None:
        raise DeviceError("EROFS")

    def wstat(self, chan: Chan, changes: object, *, caller: Thread | None = None) -> None:
        raise DeviceError("EROFS")

    def rename(self, chan: Chan, newdir: Chan, name: str, *, caller: Thread | None = None) -> None:
        raise DeviceError("EROFS")


def _stat(node: RootDir | HostFile) -> Dir:
    if isinstance(node, RootDir):
        return Dir(node.name, node.qid, DMDIR | 0o555)
    entry = node.dir
    if entry is None:
        entry = node.dir = Dir(node.name, node.qid, node.perm, node.size, links=node.links)
    return entry
