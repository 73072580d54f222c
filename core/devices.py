"""The device contract: channels, qids, directory entries and what a device driver implements.

Devices work as in Plan 9. A device is registered by name (a :class:`~kernkit.core.records.Device`
record); ``create(kernel)`` makes its driver once per kernel. ``attach(spec)`` gives a channel
(:class:`Chan`) on the root of a tree of files; ``walk`` moves a channel down one name,
``open``/``create`` make an open channel, and ``read``/``write`` move bytes at an offset. A
namespace (the ``ns`` plugin) binds the trees of several devices into one per-process name space
and keeps union directories and mount points itself: a driver only ever sees its own channels.

Errors are :class:`DeviceError` with a POSIX errno *name* (``"ENOENT"``), which a personality
turns into its own numbers (Linux errno values, a 9P Rerror string). An operation that would
have to wait (an empty pipe) raises :class:`WouldBlock` with the wait queue to sleep on; the
caller sleeps its thread there and retries the whole call when woken.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import attrs

from kernkit.core.state import Slot

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread
    from kernkit.core.wait import WaitQueue

# Qid types (the high byte of a Plan 9 mode; QTSYMLINK is 9P2000.u's).
QTDIR, QTAPPEND, QTEXCL, QTFILE, QTSYMLINK = 0x80, 0x40, 0x20, 0x00, 0x02
# Dir.mode bits beyond the nine permission bits (9P2000, with 9P2000.u's file kinds).
DMDIR, DMAPPEND, DMEXCL, DMSYMLINK = 0x8000_0000, 0x4000_0000, 0x2000_0000, 0x0200_0000
DMDEVICE, DMNAMEDPIPE, DMSOCKET = 0x0080_0000, 0x0020_0000, 0x0010_0000
#: Set-user-id, set-group-id and sticky bits, kept in Dir.mode beside the nine permission bits.
DMSPECIAL = 0o7000
# Open modes: the low two bits say what for; OTRUNC and ORCLOSE are added to them, and
# ONONBLOCK when the opener must not wait for the open itself (a FIFO without a writer).
OREAD, OWRITE, ORDWR, OEXEC = 0, 1, 2, 3
OTRUNC, ORCLOSE, ONONBLOCK = 0x10, 0x40, 0x800
#: The mode of a channel that is not open.
CLOSED = -1
# Readiness bits returned by DeviceDriver.poll (the values Linux's poll(2) uses).
POLLIN, POLLPRI, POLLOUT, POLLERR, POLLHUP = 0x1, 0x2, 0x4, 0x8, 0x10
#: The peer shut its sending side (a TCP FIN): Linux reports it to those who ask, and it is no
#: POLLHUP while this side may still write.
POLLRDHUP = 0x2000


@attrs.frozen(slots=True)
class Qid:
    """A file's identity within its device: ``path`` is unique per device instance (``devno``),
    ``vers`` changes when the contents do, ``type`` is QTDIR for directories."""

    path: int
    vers: int = 0
    type: int = QTFILE


@attrs.frozen
class Dir:
    """What ``stat`` says about a file (a Plan 9 Dir).

    ``mode`` holds the permission bits (and DMSPECIAL's set-id and sticky bits), DMDIR for a
    directory, DMSYMLINK for a symbolic link and DMDEVICE / DMNAMEDPIPE for character-device-like
    and pipe-like files. Times are virtual nanoseconds since boot; ``ctime`` (when the file's
    metadata last changed) is ``mtime`` when a device does not keep it. ``uid`` and ``gid`` are
    owner names; a decimal name is a numeric id (what Linux's chown sets), and the default,
    ``kernkit``, is the superuser. ``links`` counts the file's names (hard links); 0 means the
    device does not count them (one for a file, two for a directory). ``blocks`` is the storage
    the file holds in 512-byte units (None: the device does not say, and the length counts).
    """

    name: str
    qid: Qid
    mode: int
    length: int = 0
    mtime: int = 0
    atime: int = 0
    uid: str = "kernkit"
    gid: str = "kernkit"
    muid: str = ""
    ctime: int | None = None
    links: int = 0
    blocks: int | None = None

    @property
    def is_dir(self) -> bool:
        return bool(self.qid.type & QTDIR)

    @property
    def is_symlink(self) -> bool:
        return bool(self.qid.type & QTSYMLINK)


@attrs.frozen
class Wstat:
    """Changes asked of ``wstat``: a field left as None is not touched (Plan 9's ~0 and "").

    ``mode`` holds permission bits (and DMSPECIAL's), ``uid``/``gid`` owner names (decimal for
    numeric ids), ``atime``/``mtime`` virtual nanoseconds since boot. A device that does not
    keep a field it is asked to change refuses with EPERM rather than ignore it.
    """

    name: str | None = None
    length: int | None = None
    mode: int | None = None
    mtime: int | None = None
    uid: str | None = None
    gid: str | None = None
    atime: int | None = None


@attrs.frozen
class FsStat:
    """What ``statfs`` says about the file system a file is on: sizes in ``block_size`` blocks,
    files (inodes) in all and free. Zero counts mean the device has no such limit."""

    block_size: int = 4096
    blocks: int = 0
    blocks_free: int = 0
    files: int = 0
    files_free: int = 0


#: Whom the files a process creates belong to: (uid, gid) as Dir names. A personality with user
#: ids sets it (Linux, for a process whose file system ids are not 0); devices that keep owners
#: read it through :func:`owner_of`.
OWNER: Slot[tuple[str, str]] = Slot("devices.owner")


def owner_of(caller: Any) -> tuple[str, str]:
    """The owner and group of files the ``caller`` (a thread, its process, or None for the
    kernel) creates: the superuser's when its process says nothing."""
    process = getattr(caller, "process", caller)
    owner = process.data.get(OWNER) if process is not None else None  # OWNER.get, inline
    return owner if owner is not None else ("kernkit", "kernkit")


def owner_id(name: str) -> int:
    """A Dir owner name as a numeric id: a decimal name is the id, any other the superuser's (0)."""
    return int(name) & 0xFFFF_FFFF if decimal(name) and len(name) <= 10 else 0


def superuser(caller: Any) -> bool:
    """Whether files the ``caller`` creates belong to the superuser (who may open any file)."""
    process = getattr(caller, "process", caller)  # owner_of, inline: every open asks this
    owner = process.data.get(OWNER) if process is not None else None
    return owner is None or owner[0] in ("kernkit", "0")


class DeviceError(Exception):
    """A device operation failed. ``code`` is a POSIX errno name such as ``"ENOENT"``."""

    def __init__(self, code: str, message: str = "") -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code
        self.message = message


class WouldBlock(Exception):  # noqa: N818 - it names a condition, like BlockingIOError
    """The operation must wait: sleep on ``queue`` and try the whole call again when woken."""

    def __init__(self, queue: WaitQueue) -> None:
        super().__init__("operation would block")
        self.queue = queue


class Chan:
    """A channel: a handle on one file of one device instance.

    Fresh from ``attach``/``walk`` a channel names a file (``mode`` is CLOSED); ``open`` and
    ``create`` return an open one, which descriptor tables hold. ``offset`` is the position of
    the next read or write (shared by every descriptor that holds the channel, as after dup).
    ``aux`` is the driver's own. ``path`` is the name the namespace reached the file by.
    ``flags`` is free for the personality that opened the channel (Linux keeps its open flags
    there); ``umh`` is set by the namespace when the channel stands for a mount point.
    """

    __slots__ = ("driver", "qid", "devno", "aux", "mode", "offset", "path", "umh", "flags", "refs", "dirents")

    def __init__(self, driver: Any, qid: Qid, devno: int = 0, aux: Any = None, path: str = "") -> None:
        self.driver = driver
        self.qid = qid
        self.devno = devno
        self.aux = aux
        self.path = path
        self.mode = CLOSED
        self.offset = 0
        self.umh: Any = None
        self.flags = 0
        #: Descriptors (and other holders, see kernkit.core.files.hold) referring to the channel.
        self.refs = 0
        #: A directory listing being read (getdents), taken when reading starts.
        self.dirents: list[Dir] | None = None

    @property
    def key(self) -> tuple[Any, int, int]:
        """What identifies the file across channels: (driver, devno, qid.path)."""
        return (self.driver, self.devno, self.qid.path)

    @property
    def name(self) -> str:
        return self.path

    @property
    def is_dir(self) -> bool:
        return bool(self.qid.type & QTDIR)

    def clone(self) -> Chan:
        """An unopened channel on the same file."""
        twin = Chan(self.driver, self.qid, self.devno, self.aux, self.path)
        twin.umh = self.umh
        return twin

    def close(self) -> None:
        """The last holder let go: tell the driver (a pipe end closes, an ORCLOSE file goes)."""
        if self.mode != CLOSED:
            self.driver.close(self)

    def __repr__(self) -> str:
        device = getattr(self.driver, "name", "?")
        return f"<Chan #{device} {self.path!r} qid={self.qid.path:#x} mode={self.mode}>"


class DeviceDriver:
    """Base class of device drivers: what a device does not implement fails the Plan 9 way.

    A subclass implements at least ``attach``, ``walk``, ``stat`` and, for directories,
    ``dirread``; the defaults of the others refuse with EPERM (or, for ``rename``, EXDEV).
    Every method may raise :class:`DeviceError`; ``read`` and ``write`` may raise
    :class:`WouldBlock`.
    """

    #: The device's name (set from its record when the namespace creates the driver).
    name: str = ""
    #: The kernel's device table, set by the namespace when it creates the driver.
    devices: Any = None
    #: Whether nothing on the device can ever be written (access(W_OK) says EROFS).
    read_only: bool = False
    #: Whether a ``read`` that raised WouldBlock may be called again by whatever wakes its
    #: queue (another thread's call, the host bridge) to complete the sleeper's call there: the
    #: read depends on the channel and count alone, never on the running thread or core.
    reads_finish_in_wake: bool = False

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel

    def attach(self, spec: str) -> Chan:
        """A channel on the root directory of the tree ``spec`` names (``#name.spec``)."""
        raise DeviceError("ENODEV", f"#{self.name} cannot be attached")

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        """A new channel on the file ``name`` in the directory ``chan`` (never ``.`` or ``..``:
        the namespace resolves those itself); None when there is no such file."""
        return None

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        raise DeviceError("EPERM", f"#{self.name}: stat")

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        """Open the file for ``mode`` (OREAD, OWRITE, ORDWR, OEXEC, plus OTRUNC, which a device
        with files of a length honours and others ignore); returns the open channel (``chan``
        itself, or another: #srv returns the channel posted there)."""
        if chan.qid.type & QTDIR and mode & 3 in (OWRITE, ORDWR):
            raise DeviceError("EISDIR")
        chan.mode = mode
        chan.offset = 0
        return chan

    def create(self, chan: Chan, name: str, mode: int, perm: int, *, caller: Thread | None = None) -> Chan:
        """Make the file ``name`` in directory ``chan`` (a directory when ``perm`` has DMDIR)
        and return an open channel on it."""
        raise DeviceError("EPERM", f"#{self.name}: cannot create files")

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        raise DeviceError("EPERM", f"#{self.name}: not readable")

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        raise DeviceError("EPERM", f"#{self.name}: not writable")

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        """The entries of the directory ``chan`` (without ``.`` and ``..``)."""
        raise DeviceError("ENOTDIR")

    def remove(self, chan: Chan, *, caller: Thread | None = None) -> None:
        raise DeviceError("EPERM", f"#{self.name}: cannot remove files")

    def wstat(self, chan: Chan, changes: Wstat, *, caller: Thread | None = None) -> None:
        """Rename within the directory, truncate or extend, change permissions."""
        raise DeviceError("EPERM", f"#{self.name}: cannot change files")

    def rename(self, chan: Chan, newdir: Chan, name: str, *, caller: Thread | None = None) -> None:
        """Move the file to ``name`` in ``newdir`` (a channel of this same device), replacing
        what is there as POSIX rename does."""
        raise DeviceError("EXDEV")

    def close(self, chan: Chan) -> None:
        """The open channel's last holder let go of it."""

    def poll(self, chan: Chan) -> int:
        """What the open channel is ready for now, as POLLIN | POLLOUT | POLLERR | POLLHUP bits
        (a read or write would not wait). The default, for files that never wait, is both. A
        driver whose files can wait wakes :func:`kernkit.core.wait.pollers` whenever one of them
        may have become ready, so threads in poll/select look again."""
        return POLLIN | POLLOUT

    def mmap(self, chan: Chan) -> Any:
        """The :class:`~kernkit.core.pagecache.PageCache` of the open file ``chan``: the frames
        every mapping of the file shares with read() and write() (the same cache for every
        channel on the file; a file whose every mapping is new memory, as /dev/zero, gives a
        new transient cache each time). The default: files of this device cannot be mapped
        (ENODEV)."""
        raise DeviceError("ENODEV", f"#{self.name}: files cannot be mapped")

    def terminal(self, chan: Chan) -> int | None:
        """The host file descriptor of the terminal the open channel is, or None (the default)
        when it is not a terminal: personalities answer terminal controls (Linux's TCGETS,
        TIOCGWINSZ, ...) only for terminals, as a host kernel does."""
        return None

    def dirgen(self, chan: Chan) -> int | None:
        """A number that changes whenever a name in the directory ``chan`` appears, goes or
        moves, or None (the default) when the device cannot tell. With a number, namespaces
        may remember walks through the directory and skip them while the number stays."""
        return None

    # --- optional: links, file systems. The defaults say the device has none. ---------------

    def readlink(self, chan: Chan, *, caller: Thread | None = None) -> str:
        """The target of the symbolic link ``chan`` (a file whose qid type has QTSYMLINK):
        a path, walked from the link's directory when relative."""
        raise DeviceError("EINVAL", "not a symbolic link")

    def follow(self, chan: Chan, *, caller: Thread | None = None) -> Chan | None:
        """What the symbolic link ``chan`` stands for, as a channel, for links that name no
        path (Linux's /proc/PID/fd/N names an open file itself); None (the default): walk the
        path :meth:`readlink` gives."""
        return None

    def symlink(self, chan: Chan, name: str, target: str, *, caller: Thread | None = None) -> None:
        """Make ``name`` in directory ``chan`` a symbolic link to ``target``."""
        raise DeviceError("EPERM", f"#{self.name}: cannot make symbolic links")

    def link(self, chan: Chan, newdir: Chan, name: str, *, caller: Thread | None = None) -> None:
        """Give the file ``chan`` another name, ``name`` in ``newdir`` (a channel of this same
        device; another device is EXDEV, refused before the driver is asked)."""
        raise DeviceError("EPERM", f"#{self.name}: cannot make hard links")

    def statfs(self, chan: Chan) -> FsStat | None:
        """Sizes of the file system ``chan`` is on, or None (the default) when it has none."""
        return None


#: The driver operations that act for a caller: each takes ``caller=``, the calling thread.
CALLER_OPERATIONS = (
    "walk", "stat", "open", "create", "read", "write", "dirread", "remove", "wstat", "rename",
    "readlink", "follow", "symlink", "link",
)  # fmt: skip
_CHECKED: set[type] = set()


def check_caller_parameters(driver: object, name: str) -> None:
    """DeviceError naming the first operation of ``driver`` that takes no ``caller=`` (a driver
    written for the device contract before hook contract 2.0); once per driver class."""
    kind = type(driver)
    if kind in _CHECKED:
        return
    for operation in CALLER_OPERATIONS:
        method = getattr(kind, operation, None)
        if method is None or method is getattr(DeviceDriver, operation):
            continue
        if not _takes_caller(method):
            raise DeviceError(
                "ENODEV", f"#{name}: its driver's {operation}() takes no caller= (hook contract 2.0)"
            )
    _CHECKED.add(kind)


def _takes_caller(method: Any) -> bool:
    """Whether ``method`` has a parameter named ``caller`` or takes ``**kwargs``; read from a
    plain function's code (inspect.signature costs a boot about a millisecond for its drivers)."""
    code = getattr(method, "__code__", None)
    if code is None or hasattr(method, "__wrapped__"):  # a wrapped or built-in callable
        parameters = inspect.signature(method).parameters.values()
        return any(p.name == "caller" or p.kind is p.VAR_KEYWORD for p in parameters)
    named = code.co_varnames[: code.co_argcount + code.co_kwonlyargcount]
    return "caller" in named or bool(code.co_flags & inspect.CO_VARKEYWORDS)


def decimal(text: str) -> bool:
    """True when ``text`` is a non-empty run of ASCII digits: a number ``int`` takes. (Names
    come from guests; ``str.isdigit`` also accepts digits such as "²" that ``int`` refuses.)"""
    return text.isascii() and text.isdigit()


__all__ = [
    "CLOSED",
    "Chan",
    "DMAPPEND",
    "DMDEVICE",
    "DMDIR",
    "DMEXCL",
    "DMNAMEDPIPE",
    "DMSOCKET",
    "DMSPECIAL",
    "DMSYMLINK",
    "DeviceDriver",
    "DeviceError",
    "Dir",
    "FsStat",
    "ONONBLOCK",
    "OEXEC",
    "OWNER",
    "POLLERR",
    "POLLHUP",
    "POLLIN",
    "POLLOUT",
    "POLLPRI",
    "ORCLOSE",
    "ORDWR",
    "OREAD",
    "OTRUNC",
    "OWRITE",
    "QTAPPEND",
    "QTDIR",
    "QTEXCL",
    "QTFILE",
    "QTSYMLINK",
    "Qid",
    "decimal",
    "owner_id",
    "owner_of",
    "superuser",
    "WouldBlock",
    "Wstat",
]
