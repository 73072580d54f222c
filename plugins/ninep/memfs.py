"""An in-memory file tree implementing the backend protocol (for tests and as an example)."""

from __future__ import annotations

import itertools

from kernkit.plugins.ninep.backend import (
    EEXIST,
    EINVAL,
    EISDIR,
    ENOENT,
    ENOSPC,
    ENOTDIR,
    ENOTEMPTY,
    O_ACCMODE,
    O_RDONLY,
    O_TRUNC,
    S_IFDIR,
    S_IFMT,
    S_IFREG,
    Attr,
    SetAttr,
    fail,
)
from kernkit.plugins.ninep.proto import QTDIR, QTFILE, Qid

_paths = itertools.count(1)


class MemNode:
    """A file (``data``) or a directory (``children``) held in memory."""

    def __init__(self, mode: int, fs: MemFS) -> None:
        self.fs = fs
        self.mode = mode
        self.path = next(_paths)
        self.version = 0
        self.mtime_ns = fs.clock()
        self.atime_ns = self.mtime_ns
        self.data = bytearray()
        self.children: dict[str, MemNode] | None = {} if mode & S_IFMT == S_IFDIR else None

    # --- the backend protocol ---------------------------------------------------------------

    def attr(self) -> Attr:
        size = 0 if self.children is not None else len(self.data)
        return Attr(
            self.qid(),
            self.mode,
            size,
            mtime_ns=self.mtime_ns,
            atime_ns=self.atime_ns,
            ctime_ns=self.mtime_ns,
            nlink=2 if self.children is not None else 1,
        )

    def qid(self) -> Qid:
        return Qid(QTDIR if self.children is not None else QTFILE, self.version, self.path)

    def walk(self, name: str) -> MemNode:
        if self.children is None:
            raise fail(ENOTDIR)
        child = self.children.get(name)
        if child is None:
            raise fail(ENOENT)
        return child

    def open(self, flags: int) -> MemHandle:
        if self.children is not None and flags & O_ACCMODE != O_RDONLY:
            raise fail(EISDIR)
        if flags & O_TRUNC and self.children is None:
            self._resize(0)
        return MemHandle(self)

    def listdir(self) -> list[tuple[str, MemNode]]:
        if self.children is None:
            raise fail(ENOTDIR)
        return list(self.children.items())

    def listqids(self) -> list[tuple[str, Qid]]:
        return [(name, node.qid()) for name, node in self.listdir()]

    def create(self, name: str, mode: int) -> MemNode:
        if self.children is None:
            raise fail(ENOTDIR)
        if name in self.children:
            raise fail(EEXIST)
        node = MemNode(mode, self.fs)
        self.children[name] = node
        self._touch()
        return node

    def unlink(self, name: str, is_dir: bool) -> None:
        child = self.walk(name)
        if child.children is not None and child.children:
            raise fail(ENOTEMPTY)
        del self.children[name]  # type: ignore[union-attr]
        self._touch()

    def rename(self, name: str, target: MemNode, new_name: str) -> None:  # type: ignore[override]
        child = self.walk(name)
        if target.children is None:
            raise fail(ENOTDIR)
        existing = target.children.get(new_name)
        if existing is child:
            return
        if existing is not None:
            if (existing.children is None) != (child.children is None):
                raise fail(EISDIR if existing.children is not None else ENOTDIR)
            if existing.children:
                raise fail(ENOTEMPTY)
        del self.children[name]  # type: ignore[union-attr]
        target.children[new_name] = child
        self._touch()
        target._touch()

    def setattr(self, changes: SetAttr) -> None:
        if changes.size is not None:
            if self.children is not None:
                raise fail(EISDIR)
            self._resize(changes.size)
        if changes.mode is not None:
            self.mode = (self.mode & S_IFMT) | (changes.mode & 0o7777)
        if changes.mtime_ns is not None:
            self.mtime_ns = changes.mtime_ns
        if changes.atime_ns is not None:
            self.atime_ns = changes.atime_ns

    # --- helpers ----------------------------------------------------------------------------

    def _touch(self) -> None:
        self.version = (self.version + 1) & 0xFFFFFFFF
        self.mtime_ns = self.fs.clock()

    def _resize(self, size: int) -> None:
        if size > self.fs.max_file:
            raise fail(ENOSPC)
        if size < len(self.data):
            del self.data[size:]
        else:
            self.data.extend(bytes(size - len(self.data)))
        self._touch()


class MemHandle:
    def __init__(self, node: MemNode) -> None:
        self.node = node

    def read(self, offset: int, count: int) -> bytes:
        if self.node.children is not None:
            raise fail(EISDIR)
        return bytes(self.node.data[offset : offset + count])

    def write(self, offset: int, data: bytes) -> int:
        node = self.node
        if node.children is not None:
            raise fail(EISDIR)
        end = offset + len(data)
        if end > node.fs.max_file:
            raise fail(ENOSPC if offset < node.fs.max_file else EINVAL)
        if offset > len(node.data):
            node.data.extend(bytes(offset - len(node.data)))
        node.data[offset:end] = data
        node._touch()
        return len(data)

    def close(self) -> None:
        pass


class MemFS:
    """A tree rooted at ``root``; ``attach`` accepts the empty aname or "/" (or any path in it)."""

    def __init__(self, max_file: int = 1 << 30, clock=lambda: 0) -> None:  # noqa: ANN001
        self.max_file = max_file
        self.clock = clock
        self.root = MemNode(S_IFDIR | 0o755, self)

    def attach(self, aname: str, uname: str) -> MemNode:
        node = self.root
        for name in (part for part in aname.split("/") if part):
            node = node.walk(name)
        return node

    def add(self, path: str, data: bytes | None = None, mode: int | None = None) -> MemNode:
        """Make ``path`` (parents included): a file with ``data``, or a directory when None."""
        *parents, last = [p for p in path.split("/") if p]
        node = self.root
        for name in parents:
            node = node.children.get(name) or node.create(name, S_IFDIR | 0o755)  # type: ignore[union-attr]
        if data is None:
            return node.create(last, mode or S_IFDIR | 0o755)
        child = node.create(last, mode or S_IFREG | 0o644)
        child.data[:] = data
        return child
