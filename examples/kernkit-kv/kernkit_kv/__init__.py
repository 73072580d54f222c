"""#kv: a key-value store as a kernkit device (an external plugin, found through its entry point).

The device's directory lists one file per key; a key's file holds its value. Creating a file
makes a key, writing it sets the value, removing it deletes the key. ``ctl`` takes ``clear``
(delete every key) and reads back how full the store is. All values together hold at most
``[kv] max_bytes`` bytes (ENOSPC beyond that). One store per kernel, empty at boot.
"""

from __future__ import annotations

import itertools
from importlib import resources
from pathlib import Path

import attrs

from kernkit.api import (
    DMDIR,
    ORDWR,
    OTRUNC,
    OWRITE,
    QTDIR,
    Chan,
    ConfigSection,
    Device,
    DeviceDriver,
    DeviceError,
    Dir,
    Qid,
    Wstat,
    at_most,
    hookimpl,
    option,
    parse_size,
    positive,
)

KERNKIT_CONTRACT = ">=2.0,<3"
CTL = "ctl"
ROOT_QID, CTL_QID = Qid(0, 0, QTDIR), Qid(1)
#: The longest key (a file name on most file systems).
MAX_KEY = 255


def kvtool_path() -> Path:
    """The C program that uses the device, shipped in this package (a static musl ELF)."""
    return Path(str(resources.files(__name__))) / "bin" / "kvtool"


@attrs.frozen
class KvOptions:
    max_bytes: int = option(
        "64K",
        "bytes all values may hold together (64K, 1M); a write past it is ENOSPC",
        converter=parse_size,
        validator=[positive, at_most(1 << 30)],
    )


class Key:
    __slots__ = ("name", "qid", "value", "mtime", "live")

    def __init__(self, name: str, path: int, now: int) -> None:
        self.name = name
        self.qid = Qid(path)
        self.value = bytearray()
        self.mtime = now
        #: False once removed: channels still open on it may use it, but it holds no space.
        self.live = True


class KvDevice(DeviceDriver):
    """The store: keys by name, the bytes their values use, and the limit."""

    def __init__(self, kernel) -> None:  # noqa: ANN001 - the kernel
        super().__init__(kernel)
        self.keys: dict[str, Key] = {}
        self.paths = itertools.count(2)
        self.limit = kernel.config["kv"].max_bytes
        self.used = 0
        self.generation = 0

    # --- the tree: a root directory holding ctl and the keys ----------------------------

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("ENOENT", f"#kv has one store, not #kv.{spec}")
        return Chan(self, ROOT_QID)

    def walk(self, chan: Chan, name: str, *, caller=None) -> Chan | None:
        if not chan.is_dir:
            raise DeviceError("ENOTDIR")
        if name == CTL:
            return Chan(self, CTL_QID)
        key = self.keys.get(name)
        return None if key is None else Chan(self, key.qid, aux=key)

    def stat(self, chan: Chan, *, caller=None) -> Dir:
        if chan.is_dir:
            return Dir("kv", ROOT_QID, DMDIR | 0o777)
        if chan.aux is None:
            return Dir(CTL, CTL_QID, 0o666)
        key = chan.aux
        return Dir(key.name, key.qid, 0o666, len(key.value), key.mtime, key.mtime)

    def dirread(self, chan: Chan, *, caller=None) -> list[Dir]:
        keys = sorted(self.keys.values(), key=_name)
        return [self.stat(Chan(self, CTL_QID)), *(self.stat(Chan(self, k.qid, aux=k)) for k in keys)]

    def dirgen(self, chan: Chan) -> int:
        return self.generation

    # --- keys -------------------------------------------------------------------------

    def open(self, chan: Chan, mode: int, *, caller=None) -> Chan:
        if chan.is_dir and mode & 3 in (OWRITE, ORDWR):
            raise DeviceError("EISDIR")
        if mode & OTRUNC and chan.aux is not None:
            self._resize(chan.aux, 0)
        chan.mode = mode
        chan.offset = 0
        return chan

    def create(self, chan: Chan, name: str, mode: int, perm: int, *, caller=None) -> Chan:
        if not chan.is_dir:
            raise DeviceError("ENOTDIR")
        if perm & DMDIR:
            raise DeviceError("EPERM", "#kv keys are files, not directories")
        if name == CTL or name in self.keys:
            raise DeviceError("EEXIST")
        if len(name.encode()) > MAX_KEY:
            raise DeviceError("ENAMETOOLONG")
        key = self.keys[name] = Key(name, next(self.paths), self.kernel.now())
        self.generation += 1
        created = Chan(self, key.qid, aux=key)
        created.mode = mode & ~OTRUNC
        return created

    def read(self, chan: Chan, count: int, offset: int, *, caller=None) -> bytes:
        if chan.is_dir:
            raise DeviceError("EISDIR")
        if chan.aux is None:
            text = f"keys {len(self.keys)}\nbytes {self.used}\nmax_bytes {self.limit}\n"
            return text.encode()[offset : offset + count]
        return bytes(chan.aux.value[offset : offset + count])

    def write(self, chan: Chan, data: bytes, offset: int, *, caller=None) -> int:
        if chan.aux is None:
            self._control(data)
            return len(data)
        key = chan.aux
        end = offset + len(data)
        if end > len(key.value):
            self._resize(key, end)
        key.value[offset:end] = data
        self._touch(key)
        return len(data)

    def remove(self, chan: Chan, *, caller=None) -> None:
        if chan.is_dir:
            raise DeviceError("EBUSY", "#kv's root cannot be removed")
        if chan.aux is None:
            raise DeviceError("EPERM", "#kv/ctl cannot be removed")
        if not chan.aux.live:
            raise DeviceError("ENOENT")
        self._delete(chan.aux)

    def wstat(self, chan: Chan, changes: Wstat, *, caller=None) -> None:
        key = chan.aux
        if key is None:
            raise DeviceError("EPERM", f"#kv/{CTL if not chan.is_dir else ''} cannot be changed")
        if changes.length is not None:
            if changes.length < 0:
                raise DeviceError("EINVAL")
            self._resize(key, changes.length)
        if changes.name is not None and changes.name != key.name:
            if changes.name == CTL or changes.name in self.keys:
                raise DeviceError("EEXIST")
            if key.live:
                del self.keys[key.name]
                self.keys[changes.name] = key
                self.generation += 1
            key.name = changes.name
        # permissions and times are not kept: every key is rw for everyone

    def rename(self, chan: Chan, newdir: Chan, name: str, *, caller=None) -> None:
        key = chan.aux
        if key is None or not newdir.is_dir:
            raise DeviceError("EPERM" if key is None else "ENOTDIR")
        if name == CTL:
            raise DeviceError("EPERM", "#kv/ctl cannot be replaced")
        victim = self.keys.get(name)
        if victim is key:
            return
        if victim is not None:
            self._delete(victim)
        self.wstat(chan, Wstat(name=name))

    # --- bookkeeping --------------------------------------------------------------------

    def _control(self, data: bytes) -> None:
        command = data.decode(errors="replace").strip()
        if command != "clear":
            raise DeviceError("EINVAL", f"#kv/ctl: unknown command {command!r} (expected clear)")
        for key in list(self.keys.values()):
            self._delete(key)

    def _resize(self, key: Key, length: int) -> None:
        grow = length - len(key.value)
        if grow > 0 and key.live and self.used + grow > self.limit:
            raise DeviceError("ENOSPC", f"#kv is full ([kv] max_bytes = {self.limit})")
        if key.live:
            self.used += grow
        if grow > 0:
            key.value.extend(bytes(grow))
        else:
            del key.value[length:]
        self._touch(key)

    def _touch(self, key: Key) -> None:
        key.mtime = self.kernel.now()
        key.qid = Qid(key.qid.path, key.qid.vers + 1)

    def _delete(self, key: Key) -> None:
        del self.keys[key.name]
        key.live = False
        self.used -= len(key.value)
        self.generation += 1


def _name(key: Key) -> str:
    return key.name


@hookimpl
def kernkit_config_sections():  # noqa: ANN201
    return [ConfigSection("kv", KvOptions, "the #kv key-value device")]


@hookimpl
def kernkit_register_devices():  # noqa: ANN201
    return [Device("kv", KvDevice, "a key-value store: one file per key, ctl takes clear")]
