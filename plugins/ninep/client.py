"""A synchronous 9P2000 / 9P2000.L client: one request in flight, answered before the next.

Used by ``[[mount9p]]`` and by the tests. Replies are decoded with the same strict codec as the
server uses; a reply that is malformed, oversized, of the wrong type or for the wrong tag ends
the connection (:class:`ClientError`), and an error reply raises :class:`RemoteError` with its
errno (9P2000 error strings are mapped back to an errno where they are recognisable).
"""

from __future__ import annotations

import errno as errnos
import os
import socket
from collections.abc import Callable, Iterator

from kernkit.plugins.ninep import proto
from kernkit.plugins.ninep.proto import (
    IOHDRSZ,
    NOFID,
    NOTAG,
    VERSION_9P,
    VERSION_9PL,
    Message,
    ProtocolError,
    Qid,
)

#: 9P2000 servers answer with strings; these are the ones that map to an errno.
_ERROR_TEXTS = {os.strerror(n).lower(): n for n in range(1, 134)}
_ERROR_TEXTS.update({
    "file not found": errnos.ENOENT, "file does not exist": errnos.ENOENT,
    "permission denied": errnos.EACCES, "file exists": errnos.EEXIST,
    "is a directory": errnos.EISDIR, "not a directory": errnos.ENOTDIR,
    "directory not empty": errnos.ENOTEMPTY, "read-only file system": errnos.EROFS,
    "create prohibited": errnos.EACCES, "remove prohibited": errnos.EACCES,
    "walk in non-directory": errnos.ENOTDIR, "create in non-directory": errnos.ENOTDIR,
    "file already exists": errnos.EEXIST, "unknown fid": errnos.EBADF,
})


class ClientError(Exception):
    """The connection failed or the server broke the protocol; the client is unusable."""


class RemoteError(Exception):
    """The server refused a request: ``errno`` and its text."""

    def __init__(self, errno: int, text: str) -> None:
        super().__init__(text)
        self.errno = errno
        self.text = text


def errno_of(text: str) -> int:
    lowered = text.lower().strip()
    if lowered in _ERROR_TEXTS:
        return _ERROR_TEXTS[lowered]
    for known, number in _ERROR_TEXTS.items():
        if known in lowered:
            return number
    return errnos.EIO


class Client:
    """A 9P session over ``send``/``recv`` callables (a socket's, or a test's)."""

    def __init__(
        self,
        send: Callable[[bytes], None],
        recv: Callable[[int], bytes],
        *,
        version: str = VERSION_9PL,
        msize: int = 1 << 20,
        close: Callable[[], None] | None = None,
    ) -> None:
        self._send = send
        self._recv = recv
        self._close = close
        self.msize = msize
        self.dialect = VERSION_9P
        self.broken: str | None = None
        self._next_fid = 1
        self._free_fids: list[int] = []
        reply = self.rpc(Message("Tversion", NOTAG, msize=msize, version=version), "Rversion")
        if reply.version != version:
            self.close()
            raise ClientError(f"server speaks {reply.version!r}, not {version!r}")
        if reply.msize < 512 or reply.msize > msize:
            self.close()
            raise ClientError(f"server chose msize {reply.msize} (asked {msize})")
        self.msize = reply.msize
        self.dialect = version

    @classmethod
    def connect(cls, host: str, port: int, *, timeout: float = 10.0, **kwargs) -> Client:  # noqa: ANN003
        """Connect over TCP; ``timeout`` bounds the connection and every reply."""
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise ClientError(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            return cls(sock.sendall, sock.recv, close=sock.close, **kwargs)
        except (ClientError, RemoteError):
            sock.close()
            raise

    @property
    def iounit(self) -> int:
        return self.msize - IOHDRSZ

    @property
    def linux(self) -> bool:
        return self.dialect == VERSION_9PL

    def close(self) -> None:
        if self._close is not None:
            close, self._close = self._close, None
            close()

    # --- the wire ---------------------------------------------------------------------------

    def _fail(self, why: str) -> ClientError:
        self.broken = why
        self.close()
        return ClientError(why)

    def _read_exactly(self, n: int) -> bytes:
        chunks, got = [], 0
        while got < n:
            try:
                chunk = self._recv(min(n - got, 1 << 20))
            except TimeoutError:
                raise self._fail("the server did not answer in time") from None
            except OSError as exc:
                raise self._fail(f"connection lost: {exc.strerror or exc}") from None
            if not chunk:
                raise self._fail("the server closed the connection")
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def rpc(self, request: Message, expect: str) -> Message:
        """Send ``request``; its reply of type ``expect`` (RemoteError for an error reply)."""
        if self.broken:
            raise ClientError(self.broken)
        if request.type != "Tversion":
            request.tag = 1
        try:
            data = proto.encode(request, self.dialect)
        except (ValueError, KeyError) as exc:
            raise RemoteError(errnos.EINVAL, f"cannot encode {request.type}: {exc}") from None
        if len(data) > self.msize:
            raise RemoteError(errnos.EMSGSIZE, f"{request.type} of {len(data)} bytes exceeds msize")
        try:
            self._send(data)
        except OSError as exc:
            raise self._fail(f"connection lost: {exc.strerror or exc}") from None
        head = self._read_exactly(4)
        try:
            size = proto.frame_size(head, self.msize)
            assert size is not None
            reply = proto.decode(head + self._read_exactly(size - 4), self.msize, self.dialect)
        except ProtocolError as error:
            raise self._fail(f"bad reply to {request.type}: {error.message}") from None
        if reply.tag != request.tag:
            raise self._fail(f"reply tag {reply.tag} for request tag {request.tag}")
        if reply.type == "Rlerror":
            raise RemoteError(reply.ecode, os.strerror(reply.ecode))
        if reply.type == "Rerror":
            raise RemoteError(errno_of(reply.ename), reply.ename)
        if reply.type != expect:
            raise self._fail(f"{reply.type} in answer to {request.type}")
        return reply

    # --- fids -------------------------------------------------------------------------------

    def new_fid(self) -> int:
        if self._free_fids:
            return self._free_fids.pop()
        self._next_fid += 1
        return self._next_fid - 1

    def _forget(self, fid: int) -> None:
        self._free_fids.append(fid)

    # --- operations -------------------------------------------------------------------------

    def attach(self, aname: str = "", uname: str = "nobody", uid: int = 0) -> tuple[int, Qid]:
        fid = self.new_fid()
        fields = {"fid": fid, "afid": NOFID, "uname": uname, "aname": aname}
        if self.linux:
            fields["n_uname"] = uid
        try:
            reply = self.rpc(Message("Tattach", **fields), "Rattach")
        except RemoteError:
            self._forget(fid)
            raise
        return fid, reply.qid

    def walk(self, fid: int, names: tuple[str, ...] | list[str]) -> tuple[int, list[Qid]]:
        """A new fid for ``fid``/names (ENOENT unless every name was found)."""
        newfid = self.new_fid()
        qids: list[Qid] = []
        names = tuple(names)
        start = fid
        try:
            for i in range(0, max(len(names), 1), proto.MAXWELEM):
                part = names[i : i + proto.MAXWELEM]
                reply = self.rpc(Message("Twalk", fid=start, newfid=newfid, wnames=part), "Rwalk")
                if len(reply.qids) != len(part):  # a partial walk made no new fid
                    raise RemoteError(errnos.ENOENT, "file not found")
                qids.extend(reply.qids)
                start = newfid
        except RemoteError:
            if start == newfid:  # an earlier part made it: it must go
                self.clunk(newfid)
            else:
                self._forget(newfid)
            raise
        return newfid, qids

    def open(self, fid: int, flags: int) -> tuple[Qid, int]:
        """Open with Linux ``flags`` (translated for 9P2000); (qid, iounit)."""
        if self.linux:
            reply = self.rpc(Message("Tlopen", fid=fid, flags=flags), "Rlopen")
        else:
            reply = self.rpc(Message("Topen", fid=fid, mode=_linux_to_plan9(flags)), "Ropen")
        return reply.qid, reply.iounit or self.iounit

    def create(self, fid: int, name: str, mode: int, flags: int) -> tuple[Qid, int]:
        """Create file ``name`` in directory ``fid`` and open it; ``fid`` becomes the new file."""
        if self.linux:
            reply = self.rpc(
                Message("Tlcreate", fid=fid, name=name, flags=flags, mode=mode & 0o7777, gid=0), "Rlcreate"
            )
        else:
            reply = self.rpc(
                Message("Tcreate", fid=fid, name=name, perm=mode & 0o777, mode=_linux_to_plan9(flags)),
                "Rcreate",
            )
        return reply.qid, reply.iounit or self.iounit

    def mkdir(self, fid: int, name: str, mode: int) -> Qid:
        if self.linux:
            return self.rpc(Message("Tmkdir", dfid=fid, name=name, mode=mode & 0o7777, gid=0), "Rmkdir").qid
        newfid, _ = self.walk(fid, ())
        try:
            reply = self.rpc(
                Message("Tcreate", fid=newfid, name=name, perm=proto.DMDIR | (mode & 0o777), mode=0),
                "Rcreate",
            )
        finally:
            self.clunk(newfid)
        return reply.qid

    def read(self, fid: int, offset: int, count: int) -> bytes:
        count = min(count, self.iounit)
        return self.rpc(Message("Tread", fid=fid, offset=offset, count=count), "Rread").data

    def write(self, fid: int, offset: int, data: bytes) -> int:
        written = 0
        while written < len(data):
            chunk = data[written : written + self.iounit]
            count = self.rpc(Message("Twrite", fid=fid, offset=offset + written, data=chunk), "Rwrite").count
            if count <= 0 or count > len(chunk):
                break
            written += count
            if count < len(chunk):
                break
        return written

    def clunk(self, fid: int) -> None:
        try:
            self.rpc(Message("Tclunk", fid=fid), "Rclunk")
        finally:
            self._forget(fid)

    def remove(self, fid: int) -> None:
        try:
            self.rpc(Message("Tremove", fid=fid), "Rremove")
        finally:
            self._forget(fid)

    def unlink(self, dirfid: int, name: str, is_dir: bool) -> None:
        if self.linux:
            flags = 0x200 if is_dir else 0
            try:
                self.rpc(Message("Tunlinkat", dirfid=dirfid, name=name, flags=flags), "Runlinkat")
                return
            except RemoteError as error:
                if error.errno not in (errnos.EOPNOTSUPP, errnos.ENOSYS):
                    raise
        fid, _ = self.walk(dirfid, (name,))
        self.remove(fid)

    def stat(self, fid: int) -> dict:
        """Attributes in one shape for both dialects: qid, mode (Unix), size, mtime (s), name."""
        if self.linux:
            r = self.rpc(Message("Tgetattr", fid=fid, request_mask=0x3FFF), "Rgetattr")
            return {"qid": r.qid, "mode": r.mode, "size": r.size, "mtime": r.mtime_sec, "nlink": r.nlink,
                    "mtime_nsec": r.mtime_nsec, "atime": r.atime_sec, "ctime": r.ctime_sec}
        stat = self.rpc(Message("Tstat", fid=fid), "Rstat").stat
        return _stat_dict(stat)

    def truncate(self, fid: int, size: int) -> None:
        if self.linux:
            self.rpc(Message("Tsetattr", fid=fid, valid=0x8, mode=0, uid=0, gid=0, size=size,
                             atime_sec=0, atime_nsec=0, mtime_sec=0, mtime_nsec=0), "Rsetattr")
        else:
            self._wstat(fid, length=size)

    def rename(self, olddir: int, oldname: str, newdir: int, newname: str) -> None:
        if self.linux:
            try:
                self.rpc(Message("Trenameat", olddirfid=olddir, oldname=oldname, newdirfid=newdir,
                                 newname=newname), "Rrenameat")
                return
            except RemoteError as error:  # diod has only the older Trename
                if error.errno not in (errnos.EOPNOTSUPP, errnos.ENOSYS):
                    raise
            fid, _ = self.walk(olddir, (oldname,))
            try:
                self.rpc(Message("Trename", fid=fid, dfid=newdir, name=newname), "Rrename")
            finally:
                self.clunk(fid)
            return
        if olddir != newdir:
            raise RemoteError(errnos.EXDEV, "9P2000 renames only within a directory")
        fid, _ = self.walk(olddir, (oldname,))
        try:
            self._wstat(fid, name=newname)
        finally:
            self.clunk(fid)

    def _wstat(self, fid: int, **changes) -> None:  # noqa: ANN003
        dont = proto.DONT_TOUCH
        stat = proto.Stat(
            type=dont["type"], dev=dont["dev"], qid=Qid(0xFF, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF),
            mode=dont["mode"], atime=dont["atime"], mtime=dont["mtime"],
            length=changes.get("length", dont["length"]), name=changes.get("name", ""),
        )
        self.rpc(Message("Twstat", fid=fid, stat=stat), "Rwstat")

    def readdir(self, fid: int) -> Iterator[tuple[str, Qid]]:
        """Entries of the open directory ``fid`` (without . and ..)."""
        offset = 0
        while True:
            if self.linux:
                request = Message("Treaddir", fid=fid, offset=offset, count=self.iounit)
                data = self.rpc(request, "Rreaddir").data
                if not data:
                    return
                try:
                    entries = proto.decode_dirents(data)
                except ProtocolError as error:
                    raise self._fail(f"bad directory data: {error.message}") from None
                for entry in entries:
                    if entry.name not in (".", ".."):
                        yield entry.name, entry.qid
                offset = entries[-1].offset
            else:
                data = self.read(fid, offset, self.iounit)
                if not data:
                    return
                try:
                    stats = proto.decode_stats(data)
                except ProtocolError as error:
                    raise self._fail(f"bad directory data: {error.message}") from None
                for stat in stats:
                    yield stat.name, stat.qid
                offset += len(data)


def _stat_dict(stat: proto.Stat) -> dict:
    kind = 0o040000 if stat.mode & proto.DMDIR else 0o100000
    return {"qid": stat.qid, "mode": kind | (stat.mode & 0o777), "size": stat.length, "mtime": stat.mtime,
            "nlink": 1, "mtime_nsec": 0, "atime": stat.atime, "ctime": stat.mtime, "name": stat.name}


def _linux_to_plan9(flags: int) -> int:
    mode = {0: proto.OREAD, 1: proto.OWRITE, 2: proto.ORDWR}.get(flags & 3, proto.OREAD)
    return mode | (proto.OTRUNC if flags & 0o1000 else 0)
