"""#mnt: the 9P client as a device, so a host file server appears in a namespace.

Each mount is a :class:`~kernkit.plugins.ninep.client.Client` connection. A channel that is
only walked holds no fid on the server: it remembers its path from the mount's root, and the
driver walks a fresh fid when it needs one (to open, stat, create, remove), so channels can
be cloned and dropped freely, as the namespace does. An open channel holds an open fid until
its last holder closes it (Tclunk).

A file can be mapped: its pages are read from the server into a page cache when first
touched, pages written through shared mappings go back to the server on msync, munmap of the
last mapping, and fsync; while a cache exists, read() first writes back what mappings changed
and write() updates the cached pages, so the two views agree. The cache goes with the file's
last mapping.

Requests are synchronous: a read or write of a guest waits for the server's answer inside the
syscall, and the whole kernel waits with it (for up to the mount's ``timeout``). Virtual time
does not move while it waits, so what a guest sees depends only on what the server answers,
not on how fast it answers. A server that does not answer in time, or breaks the protocol,
kills the mount: every later call on it fails with EIO.
"""

from __future__ import annotations

import contextlib
import errno as errnos
import itertools
from typing import TYPE_CHECKING, Any

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
from kernkit.core.pagecache import PageCache
from kernkit.plugins.ninep.client import Client, ClientError, RemoteError

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

O_RDONLY, O_WRONLY, O_RDWR, O_TRUNC = 0, 1, 2, 0o1000


class Mount:
    """One connection to a 9P server and its attach fid."""

    def __init__(self, client: Client, root_fid: int, root_qid: Any, label: str, devno: int) -> None:
        self.client = client
        self.root_fid = root_fid
        self.root_qid = root_qid
        self.label = label
        self.devno = devno


class MntAux:
    """What a #mnt channel carries: its mount, its path from the mount's root, and, once open,
    its fid on the server and the most one message may carry."""

    __slots__ = ("mount", "names", "fid", "iounit", "remove_on_close")

    def __init__(self, mount: Mount, names: tuple[str, ...], fid: int | None = None, iounit: int = 0) -> None:
        self.mount = mount
        self.names = names
        self.fid = fid
        self.iounit = iounit
        self.remove_on_close = False


def _qid(remote: Any) -> Qid:
    return Qid(remote.path, remote.version, QTDIR if remote.type & QTDIR else QTFILE)


class MntSource:
    """A 9P file as a page cache's source: a fid of its own, opened (read-write if the server
    lets it, else read-only) when a page is first needed."""

    def __init__(self, driver: MntDevice, aux: MntAux) -> None:
        self.driver = driver
        self.aux = MntAux(aux.mount, aux.names)

    def _open(self) -> MntAux:
        aux = self.aux
        if aux.fid is None:
            mount = aux.mount
            for flags in (O_RDWR, O_RDONLY):
                fid = self.driver._fid(aux)
                try:
                    _, aux.iounit = self.driver._call(mount, "open", mount.client.open, fid, flags)
                except DeviceError:
                    self.driver._clunk(mount, fid)
                    if flags == O_RDONLY:
                        raise
                    continue
                aux.fid = fid
                break
        return aux

    def read_at(self, offset: int, length: int) -> bytes:
        aux = self._open()
        mount = aux.mount
        data = b""
        while len(data) < length:
            at, want = offset + len(data), length - len(data)
            piece = self.driver._call(mount, "read", mount.client.read, aux.fid, at, want)
            if not piece:
                break
            data += piece
        return data

    def write_at(self, offset: int, data: bytes) -> None:
        aux = self._open()
        mount = aux.mount
        if self.driver._call(mount, "write", mount.client.write, aux.fid, offset, data) != len(data):
            raise DeviceError("EIO", f"{mount.label}: short write")

    def close(self) -> None:
        aux = self.aux
        if aux.fid is not None:
            fid, aux.fid = aux.fid, None
            self.driver._clunk(aux.mount, fid)


class MntDevice(DeviceDriver):
    """The #mnt driver: mounts are made by :meth:`mount_host` (``[[mount9p]]`` at boot)."""

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.mounts: dict[int, Mount] = {}
        self._devnos = itertools.count()
        #: (mount, qid path) -> the page cache of a mapped file.
        self.caches: dict[tuple[int, int], PageCache] = {}

    # --- making mounts ------------------------------------------------------------------------

    def mount_host(self, client: Client, aname: str, uname: str, uid: int, label: str) -> Chan:
        """Attach over ``client`` and return a channel on the root of the served tree."""
        try:
            fid, qid = client.attach(aname, uname, uid)
        except RemoteError as error:
            code = errnos.errorcode.get(error.errno, "EIO")
            raise DeviceError(code, f"{label}: attach: {error.text}") from None
        mount = Mount(client, fid, qid, label, next(self._devnos))
        self.mounts[mount.devno] = mount
        chan = Chan(self, _qid(qid), mount.devno, MntAux(mount, ()))
        chan.path = f"#mnt/{label}"
        return chan

    def attach(self, spec: str) -> Chan:
        raise DeviceError("EPERM", "#mnt is attached by mounting a 9P server ([[mount9p]] in the config)")

    def attach_chan(self, chan: Chan, spec: str) -> Chan:
        raise DeviceError("EOPNOTSUPP", "9P over a namespace channel is not supported; use [[mount9p]]")

    def close_all(self) -> None:
        for mount in self.mounts.values():
            mount.client.close()
        self.mounts.clear()

    # --- helpers ------------------------------------------------------------------------------

    def _call(self, mount: Mount, operation: str, function: Any, *args: Any) -> Any:
        try:
            return function(*args)
        except RemoteError as error:
            raise DeviceError(errnos.errorcode.get(error.errno, "EIO"), error.text) from None
        except ClientError as error:
            self.kernel.message(f"9P mount {mount.label}: {operation}: {error}; the mount is dead")
            raise DeviceError("EIO", f"{mount.label}: {error}") from None

    def _fid(self, aux: MntAux, names: tuple[str, ...] | None = None) -> int:
        """A new fid for ``names`` (the channel's own path by default)."""
        mount = aux.mount
        path = aux.names if names is None else names
        fid, _ = self._call(mount, "walk", mount.client.walk, mount.root_fid, path)
        return fid

    def _clunk(self, mount: Mount, fid: int) -> None:
        with contextlib.suppress(RemoteError, ClientError):
            mount.client.clunk(fid)

    # --- the device interface -----------------------------------------------------------------

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        aux: MntAux = chan.aux
        mount = aux.mount
        names = (*aux.names, name)
        try:
            fid, qids = mount.client.walk(mount.root_fid, names)
        except RemoteError as error:
            if error.errno in (errnos.ENOENT, errnos.ENOTDIR):
                return None
            raise DeviceError(errnos.errorcode.get(error.errno, "EIO"), error.text) from None
        except ClientError as error:
            self.kernel.message(f"9P mount {mount.label}: walk: {error}; the mount is dead")
            raise DeviceError("EIO", f"{mount.label}: {error}") from None
        self._clunk(mount, fid)
        return Chan(self, _qid(qids[-1]), chan.devno, MntAux(mount, names))

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        aux: MntAux = chan.aux
        mount = aux.mount
        if aux.fid is not None:
            info = self._call(mount, "stat", mount.client.stat, aux.fid)
        else:
            fid = self._fid(aux)
            try:
                info = self._call(mount, "stat", mount.client.stat, fid)
            finally:
                self._clunk(mount, fid)
        name = aux.names[-1] if aux.names else "/"
        return self._dir(name, info)

    def _dir(self, name: str, info: dict) -> Dir:
        is_dir = info["mode"] & 0o170000 == 0o040000
        epoch = _epoch_seconds(self.kernel)
        mtime = max(0, info["mtime"] - epoch) * 1_000_000_000 + info.get("mtime_nsec", 0)
        atime = max(0, info.get("atime", info["mtime"]) - epoch) * 1_000_000_000
        qid = _qid(info["qid"])
        return Dir(
            name,
            qid,
            (DMDIR if is_dir else 0) | (info["mode"] & 0o777),
            0 if is_dir else info["size"],
            mtime,
            atime,
        )

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        aux: MntAux = chan.aux
        mount = aux.mount
        access = mode & 3
        flags = O_RDWR if access == ORDWR else O_WRONLY if access == OWRITE else O_RDONLY
        if chan.qid.type & QTDIR and flags != O_RDONLY:
            raise DeviceError("EISDIR")
        if mode & OTRUNC:
            flags |= O_TRUNC
        fid = self._fid(aux)
        try:
            qid, iounit = self._call(mount, "open", mount.client.open, fid, flags)
        except DeviceError:
            self._clunk(mount, fid)
            raise
        opened = Chan(self, _qid(qid), chan.devno, MntAux(mount, aux.names, fid, iounit), chan.path)
        opened.aux.remove_on_close = bool(mode & ORCLOSE)
        opened.mode = mode
        opened.umh = chan.umh
        return opened

    def create(self, chan: Chan, name: str, mode: int, perm: int, *, caller: Thread | None = None) -> Chan:
        aux: MntAux = chan.aux
        mount = aux.mount
        names = (*aux.names, name)
        if perm & DMDIR:
            fid = self._fid(aux)
            try:
                self._call(mount, "mkdir", mount.client.mkdir, fid, name, perm & 0o777)
            finally:
                self._clunk(mount, fid)
            walked = Chan(self, chan.qid, chan.devno, MntAux(mount, names))
            walked.qid = Qid(0, 0, QTDIR)
            return self.open(walked, mode & ~OTRUNC, caller=caller)
        access = mode & 3
        flags = (O_RDWR if access == ORDWR else O_WRONLY if access == OWRITE else O_RDONLY) | 0o100 | 0o200
        fid = self._fid(aux)
        try:
            qid, iounit = self._call(mount, "create", mount.client.create, fid, name, perm & 0o777, flags)
        except DeviceError:
            self._clunk(mount, fid)
            raise
        created = Chan(self, _qid(qid), chan.devno, MntAux(mount, names, fid, iounit))
        created.aux.remove_on_close = bool(mode & ORCLOSE)
        created.mode = mode
        return created

    def mmap(self, chan: Chan) -> PageCache:
        if chan.qid.type & QTDIR:
            raise DeviceError("ENODEV")
        key = (chan.devno, chan.qid.path)
        cache = self.caches.get(key)
        if cache is None:
            size = self.stat(chan).length
            cache = PageCache(self.kernel.machine.memory, size, MntSource(self, chan.aux), transient=True)
            cache.on_drop = lambda gone: self.caches.pop(key, None)
            self.caches[key] = cache
        return cache

    def _cache(self, chan: Chan) -> PageCache | None:
        return self.caches.get((chan.devno, chan.qid.path)) if self.caches else None

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        aux: MntAux = chan.aux
        if aux.fid is None:
            raise DeviceError("EBADF", "not open")
        if chan.qid.type & QTDIR:
            raise DeviceError("EISDIR")
        cache = self._cache(chan)
        if cache is not None:  # what mappings changed is the file's contents
            cache.sync()
        mount = aux.mount
        chunks, got = [], 0
        while got < count:  # fill the request as Plan 9's mnt does; a short reply is the end
            want = min(count - got, aux.iounit or mount.client.iounit)
            data = self._call(mount, "read", mount.client.read, aux.fid, offset + got, want)
            chunks.append(data)
            got += len(data)
            if len(data) < want:
                break
        return b"".join(chunks)

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        aux: MntAux = chan.aux
        if aux.fid is None:
            raise DeviceError("EBADF", "not open")
        mount = aux.mount
        written = self._call(mount, "write", mount.client.write, aux.fid, offset, data)
        cache = self._cache(chan)
        if cache is not None:
            cache.update(offset, data[:written])
        return written

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        aux: MntAux = chan.aux
        mount = aux.mount
        fid = self._fid(aux)
        try:
            self._call(mount, "open", mount.client.open, fid, O_RDONLY)
            entries = self._call(mount, "readdir", lambda: list(mount.client.readdir(fid)))
        finally:
            self._clunk(mount, fid)
        dirs = []
        for name, qid in entries:
            # 9P2000.L's readdir gives names and qids only: the kind is known, sizes and
            # permissions are what a stat of the file says
            is_dir = bool(qid.type & QTDIR)
            dirs.append(Dir(name, _qid(qid), (DMDIR | 0o755) if is_dir else 0o644))
        return dirs

    def remove(self, chan: Chan, *, caller: Thread | None = None) -> None:
        aux: MntAux = chan.aux
        mount = aux.mount
        if not aux.names:
            raise DeviceError("EBUSY", "the root of a mount")
        parent = self._fid(aux, aux.names[:-1])
        try:
            is_dir = bool(chan.qid.type & QTDIR)
            self._call(mount, "remove", mount.client.unlink, parent, aux.names[-1], is_dir)
        finally:
            self._clunk(mount, parent)

    def wstat(self, chan: Chan, changes: Wstat, *, caller: Thread | None = None) -> None:
        aux: MntAux = chan.aux
        mount = aux.mount
        if changes.length is not None:
            fid = aux.fid if aux.fid is not None else self._fid(aux)
            try:
                self._call(mount, "truncate", mount.client.truncate, fid, changes.length)
            finally:
                if fid != aux.fid:
                    self._clunk(mount, fid)
            cache = self._cache(chan)
            if cache is not None:
                cache.resize(changes.length)
        if changes.name is not None and aux.names and changes.name != aux.names[-1]:
            parent = self._fid(aux, aux.names[:-1])
            try:
                self._call(mount, "rename", mount.client.rename, parent, aux.names[-1], parent, changes.name)
            finally:
                self._clunk(mount, parent)

    def rename(self, chan: Chan, newdir: Chan, name: str, *, caller: Thread | None = None) -> None:
        aux: MntAux = chan.aux
        mount = aux.mount
        if newdir.aux.mount is not mount or not aux.names:
            raise DeviceError("EXDEV")
        old = self._fid(aux, aux.names[:-1])
        try:
            if newdir.aux.names == aux.names[:-1]:  # one directory: one fid (9P2000 needs it so)
                self._call(mount, "rename", mount.client.rename, old, aux.names[-1], old, name)
                return
            new = self._fid(newdir.aux)
            try:
                self._call(mount, "rename", mount.client.rename, old, aux.names[-1], new, name)
            finally:
                self._clunk(mount, new)
        finally:
            self._clunk(mount, old)

    def close(self, chan: Chan) -> None:
        aux: MntAux = chan.aux
        if aux.fid is None:
            return
        fid, aux.fid = aux.fid, None
        mount = aux.mount
        if aux.remove_on_close:
            try:
                mount.client.remove(fid)
                return
            except (RemoteError, ClientError):
                return
        self._clunk(mount, fid)


def _epoch_seconds(kernel: Kernel) -> int:
    linux = kernel.config.sections.get("linux")
    return getattr(linux, "epoch", 0) if linux is not None else 0
