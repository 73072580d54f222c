"""A 9P2000 / 9P2000.L server session over a backend (bytes in, bytes out, no sockets here).

One :class:`Session` per connection. :meth:`Session.receive` takes whatever bytes arrived and
returns the replies to send; after a message that breaks framing (a size below the header or
above msize) it sets ``closed`` and the transport drops the connection. Everything else that is
wrong with a request -- a malformed body, an unknown type, a bad fid, a backend error, even a
bug in a backend -- is answered with Rerror (9P2000) or Rlerror (9P2000.L).
"""

from __future__ import annotations

import os
import stat as statmod
import struct
from collections.abc import Callable
from typing import Any

import attrs

from kernkit.plugins.ninep import fastpath, proto
from kernkit.plugins.ninep.backend import (
    EBADF,
    EEXIST,
    EINVAL,
    EIO,
    EISDIR,
    EMSGSIZE,
    ENOENT,
    ENOTDIR,
    EOPNOTSUPP,
    EPERM,
    EPROTO,
    EROFS,
    O_ACCMODE,
    O_APPEND,
    O_CREAT,
    O_EXCL,
    O_RDONLY,
    O_RDWR,
    O_TRUNC,
    O_WRONLY,
    S_IFDIR,
    S_IFMT,
    S_IFREG,
    Attr,
    Handle,
    NinepError,
    Node,
    Root,
    SetAttr,
    fail,
)
from kernkit.plugins.ninep.proto import (
    DMDIR,
    IOHDRSZ,
    NOFID,
    NOTAG,
    QTDIR,
    VERSION_9P,
    VERSION_9PL,
    Message,
    ProtocolError,
    Qid,
    Stat,
)

#: The largest msize the server offers, and the smallest it accepts.
MAX_MSIZE = 1 << 20
MIN_MSIZE = 512
_SIZE = struct.Struct("<I")
#: Linux's AT_REMOVEDIR, as Tunlinkat carries it.
AT_REMOVEDIR = 0x200
# Tsetattr valid bits
SETATTR_MODE, SETATTR_SIZE, SETATTR_ATIME, SETATTR_MTIME = 0x1, 0x8, 0x10, 0x20
SETATTR_ATIME_SET, SETATTR_MTIME_SET = 0x80, 0x100
# Dirent types
DT_DIR, DT_REG = 4, 8
V9FS_MAGIC = 0x01021997

#: Requests that change the tree: refused with EROFS on a read-only export.
WRITING = frozenset({
    "Tcreate", "Tremove", "Twstat", "Tlcreate", "Tsymlink", "Tmknod", "Trename", "Tsetattr",
    "Txattrcreate", "Tlink", "Tmkdir", "Trenameat", "Tunlinkat",
})
#: The 9P2000 open mode bits: the access (0-3), OTRUNC, ORCLOSE, and OCEXEC (0x20) and ODIRECT
#: (0x80), which are the client's business.
OPEN_MODE_BITS = 3 | proto.OTRUNC | proto.ORCLOSE | 0x20 | 0x80


@attrs.define(eq=False)
class Fid:
    """A client's handle on a node: the path from the attach point (for ``..``) and open state."""

    path: list[tuple[str, Node]]
    handle: Handle | None = None
    flags: int = 0  # Linux open flags once open
    is_dir: bool = False  # known once open: reads need not stat the node each time
    remove_on_clunk: bool = False
    #: A directory read in progress: the entries, encoded, and where the next read must start.
    listing: list[bytes] | None = None
    listing_offset: int = 0
    listing_index: int = 0

    @property
    def node(self) -> Node:
        return self.path[-1][1]

    @property
    def name(self) -> str:
        return self.path[-1][0]


def settled(part: bytes | memoryview) -> bytes | memoryview:
    """A piece of a reply that may wait: a view of something that can change (a file's frames
    lent by a read) becomes a copy; bytes, and views of bytes, stay as they are."""
    if type(part) is memoryview and type(part.obj) is not bytes:
        return part.tobytes()
    return part


class Session:
    """One client connection's protocol state."""

    def __init__(
        self,
        root: Root,
        *,
        writable: bool = False,
        max_msize: int = MAX_MSIZE,
        dialects: tuple[str, ...] = (VERSION_9P, VERSION_9PL),
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.root = root
        self.writable = writable
        self.max_msize = max_msize
        self.dialects = dialects
        self.msize = max_msize
        self.dialect: str | None = None
        self.fids: dict[int, Fid] = {}
        self.closed = False
        self.on_error = on_error
        self._buffer = bytearray()
        self._handlers: dict[str, Callable[[Message], Message]] = {
            name: getattr(self, "_" + name[1:].lower()) for name in proto.LAYOUTS if name[0] == "T"
        }
        #: message number -> a handler of the frame in place (see fastpath.py)
        self._fast: dict[int, Callable[[bytearray, int], list[bytes] | None]] = fastpath.handlers(self)

    # --- framing ----------------------------------------------------------------------------

    def receive(self, data: bytes) -> bytes:
        """Bytes from the client in, replies out (possibly nothing until a message is whole)."""
        self.feed(data)
        return self.replies()

    def feed(self, data: bytes) -> None:
        """Bytes from the client, kept until :meth:`replies` handles them."""
        if not self.closed:
            self._buffer += data

    @property
    def buffered(self) -> int:
        """Bytes of requests received and not yet handled."""
        return len(self._buffer)

    def replies(self, budget: int | None = None) -> bytes:
        """Handle the whole requests received so far, in order, and return their replies; with a
        ``budget``, stop once the replies reach that many bytes (the rest wait, unparsed)."""
        return b"".join(self.reply_parts(budget)[0])

    def reply_parts(self, budget: int | None = None) -> tuple[list[bytes | memoryview], int]:
        """:meth:`replies` as (the pieces of the replies, in order, their total size), for a
        transport that sends pieces as they are (a read's data is not copied into a frame)."""
        out: list[bytes | memoryview] = []
        produced = 0
        buffer = self._buffer
        viewed = False  # out holds a view of a file's memory (fastpath's read)
        while not self.closed and (budget is None or produced < budget):
            if len(buffer) < 4:
                break
            if viewed:  # the next request may change what it shows: hold a copy instead
                out = [settled(part) for part in out]
                viewed = False
            try:
                size = proto.frame_size(buffer, self.msize)
            except ProtocolError as error:
                self._close(error.message)
                break
            if len(buffer) < size:  # type: ignore[operator]
                break
            reply = self._one(buffer, size)  # type: ignore[arg-type]
            del buffer[:size]
            if reply is not None:
                out += reply
                produced += sum(map(len, reply))
                viewed = type(reply[-1]) is memoryview
        return out, produced

    def receive_parts(self, data: bytes, budget: int) -> tuple[list[bytes | memoryview], int]:
        """:meth:`feed` then :meth:`reply_parts`; ``data`` that is one whole request, with
        nothing before it, is handled where it lies (a client that waits for each reply sends
        them so) instead of going through the buffer."""
        if not self._buffer and len(data) >= proto.HEADER_SIZE and budget > 0 and not self.closed:
            (size,) = _SIZE.unpack_from(data)
            if size == len(data) and proto.HEADER_SIZE <= size <= self.msize:
                reply = self._one(data, size)
                return (reply, sum(map(len, reply))) if reply is not None else ([], 0)
        self.feed(data)
        return self.reply_parts(budget)

    def _one(self, buffer: bytes | bytearray, size: int) -> list[bytes | memoryview] | None:
        """The reply to the whole request at the start of ``buffer`` (None: the connection must
        close); in place when the fast path takes it."""
        fast = self._fast.get(buffer[4]) if self.dialect is not None else None
        reply = fast(buffer, size) if fast is not None else None
        if reply is None:
            return self.handle_frame(bytes(buffer[:size]))
        return reply

    def handle_frame(self, frame: bytes) -> list[bytes] | None:
        """One whole message in, the pieces of its encoded reply out (None: the connection
        must close)."""
        dialect = self.dialect or VERSION_9P
        try:
            message = proto.decode(frame, self.msize, dialect)
        except ProtocolError as error:
            if error.fatal or error.tag is None:
                self._close(error.message)
                return None
            if error.tag == NOTAG:
                self._close(f"tag NOTAG on a request other than Tversion ({error.message})")
                return None
            return self._encode(self._error(error.tag, NinepError(error.errno, error.message)))
        if message.tag == NOTAG and message.type != "Tversion":
            # NOTAG belongs to Tversion alone: a reply to it could not be told from another
            self._close(f"tag NOTAG on {message.type}: only Tversion may use it")
            return None
        return self._encode(self.handle(message))

    def _encode(self, reply: Message) -> list[bytes]:
        dialect = self.dialect or VERSION_9P
        try:
            parts = proto.encode_parts(reply, dialect)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # a backend's bad value
            self._report(f"cannot encode {reply.type}: {exc}")
            parts = proto.encode_parts(self._error(reply.tag, NinepError(EIO)), dialect)
        if sum(map(len, parts)) > self.msize:  # never send more than the client can take
            parts = proto.encode_parts(self._error(reply.tag, NinepError(EMSGSIZE)), dialect)
        return parts

    def _close(self, why: str) -> None:
        self._report(f"closing connection: {why}")
        self.closed = True
        self.clunk_all()

    def _report(self, text: str) -> None:
        if self.on_error is not None:
            self.on_error(text)

    # --- dispatch ---------------------------------------------------------------------------

    def handle(self, message: Message) -> Message:
        """A decoded request in, its reply out: never raises."""
        name = message.type
        try:
            if name[0] != "T":
                raise fail(EPROTO, f"{name} is a reply, not a request")
            if self.dialect is None and name != "Tversion":
                raise fail(EPROTO, "Tversion must come first")
            if name in WRITING and not self.writable:
                if name == "Tremove":  # a remove clunks its fid even when it fails
                    self._release(self.fids.pop(message.fid, Fid([])))
                raise fail(EROFS)
            return self._handlers[name](message)
        except NinepError as error:
            return self._error(message.tag, error)
        except Exception as exc:  # a bug in a backend: the client gets EIO, the server goes on
            self._report(f"{name}: {type(exc).__name__}: {exc}")
            return self._error(message.tag, NinepError(EIO))

    def _error(self, tag: int, error: NinepError) -> Message:
        if self.dialect == VERSION_9PL:
            return Message("Rlerror", tag, ecode=error.errno)
        # the errno's own text, not the detail: Linux's v9fs maps error strings back to errnos
        # by exact match, and so does our client
        return Message("Rerror", tag, ename=os.strerror(error.errno))

    def _fid(self, number: int) -> Fid:
        fid = self.fids.get(number)
        if fid is None:
            raise fail(EBADF, "unknown fid")
        return fid

    def _new_fid(self, number: int) -> None:
        if number == NOFID:
            raise fail(EBADF, "NOFID cannot name a file")
        if number in self.fids:
            raise fail(EBADF, "fid already in use")

    def clunk_all(self) -> None:
        for fid in list(self.fids.values()):
            self._release(fid)
        self.fids.clear()

    def _release(self, fid: Fid) -> None:
        if fid.handle is not None:
            handle, fid.handle = fid.handle, None
            try:
                handle.close()
            except Exception as exc:  # noqa: BLE001 - closing must not fail the session
                self._report(f"close: {exc}")

    @property
    def iounit(self) -> int:
        return self.msize - IOHDRSZ

    # --- session ----------------------------------------------------------------------------

    def _version(self, m: Message) -> Message:
        self.clunk_all()
        self.dialect = None
        if m.msize < MIN_MSIZE:
            self.dialect = VERSION_9P
            raise fail(EINVAL, f"msize {m.msize} is below the minimum {MIN_MSIZE}")
        self.msize = min(m.msize, self.max_msize)
        if m.version == VERSION_9PL and VERSION_9PL in self.dialects:
            version = VERSION_9PL
        elif m.version.startswith(VERSION_9P) and VERSION_9P in self.dialects:
            version = VERSION_9P
        else:
            return Message("Rversion", m.tag, msize=self.msize, version="unknown")
        self.dialect = version
        return Message("Rversion", m.tag, msize=self.msize, version=version)

    def _auth(self, m: Message) -> Message:
        raise fail(ENOENT, "authentication not required")  # what diod and its clients expect

    def _attach(self, m: Message) -> Message:
        if m.afid != NOFID:
            raise fail(EINVAL, "authentication not required: afid must be NOFID")
        self._new_fid(m.fid)
        node = self.root.attach(m.aname, m.uname)
        self.fids[m.fid] = Fid([("/", node)])
        return Message("Rattach", m.tag, qid=node.qid())

    def _flush(self, m: Message) -> Message:
        return Message("Rflush", m.tag)  # requests are answered in order, at once: nothing to cancel

    # --- walking ----------------------------------------------------------------------------

    def _walk(self, m: Message) -> Message:
        return Message("Rwalk", m.tag, qids=self.walk_fid(m.fid, m.newfid, m.wnames))

    def walk_fid(self, number: int, newfid: int, wnames: tuple[str, ...] | list[str]) -> tuple[Qid, ...]:
        """Twalk: the qids of the names walked (fewer than asked: a partial walk, newfid not
        made); NinepError when the first name fails."""
        fid = self._fid(number)
        if fid.handle is not None and newfid == number:  # walking from an open fid to a new one is
            raise fail(EBADF, "cannot walk an open fid")  # what diodls does; Plan 9 forbids it
        if newfid != number:
            self._new_fid(newfid)
        path = list(fid.path)
        qids: list[Qid] = []
        qid = path[-1][1].qid() if wnames else None
        for index, name in enumerate(wnames):
            try:
                if not qid.type & QTDIR:
                    raise fail(ENOTDIR)
                if name == "..":
                    if len(path) > 1:
                        path.pop()
                elif name == "." or name and not name.strip("/"):
                    pass  # not special in 9P, but Linux-minded clients walk "." (and p9fs "/")
                elif not name or "/" in name:
                    raise fail(ENOENT, f"bad name {name!r} in walk")
                else:
                    path.append((name, path[-1][1].walk(name)))
                qid = path[-1][1].qid()
            except NinepError:
                if index == 0:
                    raise
                return tuple(qids)  # a partial walk: newfid not made
            qids.append(qid)
        if newfid == number:
            fid.path = path
        else:
            self.fids[newfid] = Fid(path)
        return tuple(qids)

    # --- opening and creating ----------------------------------------------------------------

    def open_fid(self, fid: Fid, flags: int) -> tuple[Qid, int]:
        if fid.handle is not None:
            raise fail(EBADF, "fid already open")
        writes = flags & O_ACCMODE != O_RDONLY or flags & O_TRUNC
        if writes and not self.writable:
            raise fail(EROFS)
        is_dir = bool(fid.node.qid().type & QTDIR)
        if is_dir and writes:
            raise fail(EISDIR)
        fid.handle = fid.node.open(flags & (O_ACCMODE | O_TRUNC | O_APPEND))
        fid.flags = flags
        fid.is_dir = is_dir
        return fid.node.qid(), self.iounit

    def _open(self, m: Message) -> Message:
        fid = self._fid(m.fid)
        mode = m.mode
        if mode & ~OPEN_MODE_BITS:
            raise fail(EINVAL, f"bad open mode {mode:#x}")
        flags = _plan9_to_linux(mode)
        if mode & proto.ORCLOSE:
            if not self.writable:
                raise fail(EROFS)
            if len(fid.path) < 2:
                raise fail(EPERM, "cannot remove the attach point")
        qid, iounit = self.open_fid(fid, flags)
        fid.remove_on_clunk = bool(mode & proto.ORCLOSE)
        return Message("Ropen", m.tag, qid=qid, iounit=iounit)

    def _lopen(self, m: Message) -> Message:
        fid = self._fid(m.fid)
        qid, iounit = self.open_fid(fid, m.flags)
        return Message("Rlopen", m.tag, qid=qid, iounit=iounit)

    def _new_child(self, fid: Fid, name: str, mode: int) -> Node:
        if fid.handle is not None:
            raise fail(EBADF, "fid already open")
        _check_name(name)
        directory = fid.node
        if not directory.qid().type & QTDIR:
            raise fail(ENOTDIR)
        return directory.create(name, mode)

    def _create(self, m: Message) -> Message:
        fid = self._fid(m.fid)
        if m.mode & ~OPEN_MODE_BITS:
            raise fail(EINVAL, f"bad open mode {m.mode:#x}")
        is_dir = bool(m.perm & DMDIR)
        if is_dir and m.mode & 3 != proto.OREAD:
            raise fail(EISDIR)
        node = self._new_child(fid, m.name, (S_IFDIR if is_dir else S_IFREG) | (m.perm & 0o777))
        fid.path = [*fid.path, (m.name, node)]
        qid, iounit = self.open_fid(fid, _plan9_to_linux(m.mode) & ~O_TRUNC)
        fid.remove_on_clunk = bool(m.mode & proto.ORCLOSE)
        return Message("Rcreate", m.tag, qid=qid, iounit=iounit)

    def _lcreate(self, m: Message) -> Message:
        fid = self._fid(m.fid)
        try:
            node = self._new_child(fid, m.name, S_IFREG | (m.mode & 0o7777))
        except NinepError as error:
            if error.errno != EEXIST or m.flags & O_EXCL:
                raise
            node = fid.node.walk(m.name)  # O_CREAT without O_EXCL opens what is there
            if node.qid().type & QTDIR:
                raise fail(EISDIR) from None
        fid.path = [*fid.path, (m.name, node)]
        qid, iounit = self.open_fid(fid, m.flags & ~(O_CREAT | O_EXCL))
        return Message("Rlcreate", m.tag, qid=qid, iounit=iounit)

    def _mkdir(self, m: Message) -> Message:
        fid = self._fid(m.dfid)
        node = self._new_child(fid, m.name, S_IFDIR | (m.mode & 0o7777))
        return Message("Rmkdir", m.tag, qid=node.qid())

    def _symlink(self, m: Message) -> Message:
        raise fail(EOPNOTSUPP, "symbolic links are not supported")

    def _mknod(self, m: Message) -> Message:
        raise fail(EOPNOTSUPP, "device nodes are not supported")

    def _link(self, m: Message) -> Message:
        raise fail(EOPNOTSUPP, "hard links are not supported")

    def _readlink(self, m: Message) -> Message:
        self._fid(m.fid)
        raise fail(EINVAL, "not a symbolic link")

    # --- reading and writing ----------------------------------------------------------------

    def _opened(self, number: int, writing: bool) -> Fid:
        fid = self._fid(number)
        if fid.handle is None:
            raise fail(EBADF, "fid is not open")
        access = fid.flags & O_ACCMODE
        if writing and access == O_RDONLY or not writing and access == O_WRONLY:
            raise fail(EBADF, f"fid is not open for {'writing' if writing else 'reading'}")
        return fid

    def _read(self, m: Message) -> Message:
        fid = self._opened(m.fid, writing=False)
        count = min(m.count, self.iounit)
        if fid.is_dir:
            if self.dialect == VERSION_9PL:
                raise fail(EISDIR, "use Treaddir")
            return Message("Rread", m.tag, data=self._read_dir(fid, m.offset, count))
        data = fid.handle.read(m.offset, count)  # type: ignore[union-attr]
        return Message("Rread", m.tag, data=data if len(data) <= count else data[:count])

    def _read_dir(self, fid: Fid, offset: int, count: int) -> bytes:
        if offset == 0 or fid.listing is None:
            if offset != 0:
                raise fail(EINVAL, "bad offset in directory read")
            fid.listing = [proto.encode_stat(self._stat_of(name, node)) for name, node in self._entries(fid)]
            fid.listing_offset = fid.listing_index = 0
        elif offset != fid.listing_offset:
            raise fail(EINVAL, "bad offset in directory read")
        out, used = [], 0
        while fid.listing_index < len(fid.listing):
            entry = fid.listing[fid.listing_index]
            if used + len(entry) > count:
                if not out:
                    raise fail(EINVAL, "count too small for a directory entry")
                break
            out.append(entry)
            used += len(entry)
            fid.listing_index += 1
        fid.listing_offset += used
        return b"".join(out)

    def _entries(self, fid: Fid) -> list[tuple[str, Node]]:
        return sorted(fid.node.listdir(), key=lambda item: item[0])

    def _readdir(self, m: Message) -> Message:
        fid = self._opened(m.fid, writing=False)
        if not fid.is_dir:
            raise fail(ENOTDIR)
        if m.offset == 0 or fid.listing is None:
            parent = fid.path[-2][1] if len(fid.path) > 1 else fid.node
            listed = sorted(fid.node.listqids())  # by name: a directory's names are unique
            rows = [(".", fid.node.qid()), ("..", parent.qid()), *listed]
            fid.listing = proto.pack_listing(rows, DT_DIR, DT_REG)
        count = min(m.count, self.iounit)
        out, used = [], 0
        for entry in fid.listing[min(m.offset, len(fid.listing)) :]:
            if used + len(entry) > count:
                if not out:
                    raise fail(EINVAL, "count too small for a directory entry")
                break
            out.append(entry)
            used += len(entry)
        return Message("Rreaddir", m.tag, data=b"".join(out))

    def _write(self, m: Message) -> Message:
        fid = self._opened(m.fid, writing=True)
        if not self.writable:
            raise fail(EROFS)
        if len(m.data) > self.iounit:
            raise fail(EMSGSIZE, "write larger than iounit")
        offset = fid.node.attr().size if fid.flags & O_APPEND else m.offset
        count = fid.handle.write(offset, m.data)  # type: ignore[union-attr]
        return Message("Rwrite", m.tag, count=count)

    def _clunk(self, m: Message) -> Message:
        fid = self._fid(m.fid)
        del self.fids[m.fid]
        self._release(fid)
        if fid.remove_on_clunk:
            self._unlink_path(fid)
        return Message("Rclunk", m.tag)

    def _fsync(self, m: Message) -> Message:
        self._fid(m.fid)
        return Message("Rfsync", m.tag)

    def _lock(self, m: Message) -> Message:
        self._fid(m.fid)
        return Message("Rlock", m.tag, status=0)  # one client's view: every lock is granted

    def _getlock(self, m: Message) -> Message:
        self._fid(m.fid)
        return Message("Rgetlock", m.tag, locktype=2, start=m.start, length=m.length,
                       proc_id=m.proc_id, client_id=m.client_id)  # F_UNLCK: nothing holds it

    # --- removing and renaming --------------------------------------------------------------

    def _unlink_path(self, fid: Fid) -> None:
        if len(fid.path) < 2:
            raise fail(EPERM, "cannot remove the attach point")
        parent = fid.path[-2][1]
        parent.unlink(fid.name, bool(fid.node.qid().type & QTDIR))

    def _remove(self, m: Message) -> Message:
        fid = self._fid(m.fid)
        del self.fids[m.fid]  # clunked even when the remove fails
        self._release(fid)
        self._unlink_path(fid)
        return Message("Rremove", m.tag)

    def _unlinkat(self, m: Message) -> Message:
        fid = self._fid(m.dirfid)
        _check_name(m.name)
        if m.flags & ~AT_REMOVEDIR:
            raise fail(EINVAL, f"bad unlinkat flags {m.flags:#x}")
        child = fid.node.walk(m.name).attr()
        if m.flags & AT_REMOVEDIR and not child.is_dir:
            raise fail(ENOTDIR)
        if not m.flags & AT_REMOVEDIR and child.is_dir:
            raise fail(EISDIR)
        fid.node.unlink(m.name, child.is_dir)
        return Message("Runlinkat", m.tag)

    def _rename(self, m: Message) -> Message:
        fid, target = self._fid(m.fid), self._fid(m.dfid)
        _check_name(m.name)
        if len(fid.path) < 2:
            raise fail(EPERM, "cannot rename the attach point")
        fid.path[-2][1].rename(fid.name, target.node, m.name)
        fid.path = [*target.path, (m.name, fid.node)]
        return Message("Rrename", m.tag)

    def _renameat(self, m: Message) -> Message:
        old, new = self._fid(m.olddirfid), self._fid(m.newdirfid)
        _check_name(m.oldname)
        _check_name(m.newname)
        old.node.rename(m.oldname, new.node, m.newname)
        return Message("Rrenameat", m.tag)

    # --- attributes -------------------------------------------------------------------------

    def _stat_of(self, name: str, node: Node) -> Stat:
        attr = node.attr()
        mode = (attr.mode & 0o777) | (DMDIR if attr.is_dir else 0)
        return Stat(
            qid=attr.qid,
            mode=mode,
            atime=_seconds(attr.atime_ns),
            mtime=_seconds(attr.mtime_ns),
            length=0 if attr.is_dir else attr.size,
            name=name,
            uid=attr.user,
            gid=attr.group,
            muid=attr.user,
        )

    def _stat(self, m: Message) -> Message:
        fid = self._fid(m.fid)
        return Message("Rstat", m.tag, stat=self._stat_of(fid.name, fid.node))

    def _wstat(self, m: Message) -> Message:
        fid = self._fid(m.fid)
        new: Stat = m.stat
        attr = fid.node.attr()
        dont = proto.DONT_TOUCH
        if new.type != dont["type"] or new.dev != dont["dev"]:
            raise fail(EPERM, "cannot change type or dev")
        mode = None
        if new.mode != dont["mode"]:
            if bool(new.mode & DMDIR) != attr.is_dir:
                raise fail(EPERM, "cannot change a file into a directory or back")
            mode = new.mode & 0o777
        length = None if new.length == dont["length"] else new.length
        if length is not None and attr.is_dir and length != 0:
            raise fail(EPERM, "cannot set a directory's length")
        mtime = None if new.mtime == dont["mtime"] else new.mtime * 1_000_000_000
        atime = None if new.atime == dont["atime"] else new.atime * 1_000_000_000
        if new.name and new.name != fid.name:
            _check_name(new.name)
            if len(fid.path) < 2:
                raise fail(EPERM, "cannot rename the attach point")
            parent = fid.path[-2][1]
            try:
                parent.walk(new.name)
            except NinepError:
                pass
            else:
                raise fail(EEXIST)
            parent.rename(fid.name, parent, new.name)
            fid.path = [*fid.path[:-1], (new.name, fid.node)]
        changes = SetAttr(mode=mode, size=None if attr.is_dir else length, mtime_ns=mtime, atime_ns=atime)
        if changes != SetAttr():
            fid.node.setattr(changes)
        return Message("Rwstat", m.tag)

    def _getattr(self, m: Message) -> Message:
        fid = self._fid(m.fid)
        attr: Attr = fid.node.attr()
        return Message("Rgetattr", m.tag, **_getattr_fields(attr))

    def _setattr(self, m: Message) -> Message:
        fid = self._fid(m.fid)
        valid = m.valid
        changes = SetAttr(
            mode=m.mode & 0o7777 if valid & SETATTR_MODE else None,
            size=m.size if valid & SETATTR_SIZE else None,
            atime_ns=(m.atime_sec * 1_000_000_000 + m.atime_nsec) if valid & SETATTR_ATIME_SET else None,
            mtime_ns=(m.mtime_sec * 1_000_000_000 + m.mtime_nsec) if valid & SETATTR_MTIME_SET else None,
        )
        if changes.size is not None and fid.node.qid().type & QTDIR:
            raise fail(EISDIR)
        if changes != SetAttr():
            fid.node.setattr(changes)
        return Message("Rsetattr", m.tag)

    def _statfs(self, m: Message) -> Message:
        self._fid(m.fid)
        return Message("Rstatfs", m.tag, fstype=V9FS_MAGIC, bsize=4096, blocks=1 << 20, bfree=1 << 19,
                       bavail=1 << 19, files=1 << 16, ffree=1 << 15, fsid=0, namelen=255)

    def _xattrwalk(self, m: Message) -> Message:
        self._fid(m.fid)
        raise fail(EOPNOTSUPP, "no extended attributes")

    def _xattrcreate(self, m: Message) -> Message:
        self._fid(m.fid)
        raise fail(EOPNOTSUPP, "no extended attributes")


def _plan9_to_linux(mode: int) -> int:
    access = {proto.OREAD: O_RDONLY, proto.OWRITE: O_WRONLY, proto.ORDWR: O_RDWR, proto.OEXEC: O_RDONLY}
    return access[mode & 3] | (O_TRUNC if mode & proto.OTRUNC else 0)


def _check_name(name: str) -> None:
    if name in ("", ".", "..") or "/" in name or "\0" in name:
        raise fail(EINVAL, f"bad file name {name!r}")
    if len(name.encode()) > 255:
        raise fail(36)  # ENAMETOOLONG


def _seconds(ns: int) -> int:
    return max(0, min(ns // 1_000_000_000, 0xFFFFFFFF))


def _getattr_fields(attr: Attr) -> dict[str, Any]:
    blocks = (attr.size + 511) // 512
    sec = lambda ns: ns // 1_000_000_000  # noqa: E731
    nsec = lambda ns: ns % 1_000_000_000  # noqa: E731
    return dict(
        valid=0x7FF,  # P9_GETATTR_BASIC
        qid=attr.qid,
        mode=attr.mode if attr.mode & S_IFMT else attr.mode | statmod.S_IFREG,
        uid=attr.uid,
        gid=attr.gid,
        nlink=attr.nlink,
        rdev=0,
        size=attr.size,
        blksize=4096,
        blocks=blocks,
        atime_sec=sec(attr.atime_ns),
        atime_nsec=nsec(attr.atime_ns),
        mtime_sec=sec(attr.mtime_ns),
        mtime_nsec=nsec(attr.mtime_ns),
        ctime_sec=sec(attr.ctime_ns),
        ctime_nsec=nsec(attr.ctime_ns),
        btime_sec=0,
        btime_nsec=0,
        gen=0,
        data_version=0,
    )
