"""The 9P2000 and 9P2000.L wire format: message layouts, encoding and strict decoding.

Every message is ``size[4] type[1] tag[2] body``, little-endian. :func:`decode` checks the size
against the negotiated ``msize`` and against the message's own fields (string lengths, counts,
nested stat sizes) and refuses trailing bytes: a message is either exactly well formed or a
:class:`ProtocolError`. Nothing here raises anything else for bad input.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from typing import Any, NamedTuple

import attrs

from kernkit.plugins.ninep.address import VERSION_9P, VERSION_9PL

HEADER = struct.Struct("<IBH")
HEADER_SIZE = HEADER.size  # 7
#: Bytes of a Tread/Rread/Twrite besides the data (size, type, tag, fid, offset, count).
IOHDRSZ = 24
NOTAG = 0xFFFF
NOFID = 0xFFFFFFFF
MAXWELEM = 16

# Qid types and 9P2000 mode bits
QTDIR, QTAPPEND, QTEXCL, QTMOUNT, QTAUTH, QTTMP, QTSYMLINK = 0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02
QTFILE = 0
DMDIR, DMAPPEND, DMEXCL, DMTMP, DMSYMLINK = 0x80000000, 0x40000000, 0x20000000, 0x04000000, 0x02000000
# 9P2000 open modes
OREAD, OWRITE, ORDWR, OEXEC, OTRUNC, ORCLOSE = 0, 1, 2, 3, 0x10, 0x40


class ProtocolError(Exception):
    """A message that cannot be accepted. ``tag`` is set when the header was readable, so the
    peer can be answered with an error; ``fatal`` means the byte stream cannot be trusted."""

    def __init__(self, message: str, tag: int | None = None, fatal: bool = False, errno: int = 22) -> None:
        super().__init__(message)
        self.message = message
        self.tag = tag
        self.fatal = fatal
        self.errno = errno


class Qid(NamedTuple):
    """A file's identity on the server: a tuple, since a listing makes one per entry."""

    type: int
    version: int
    path: int

    def pack(self) -> bytes:
        return _QID.pack(self.type, self.version, self.path)


_QID = struct.Struct("<BIQ")


@attrs.frozen
class Stat:
    """A 9P2000 directory entry (the ``stat`` structure)."""

    type: int = 0
    dev: int = 0
    qid: Qid = Qid(0, 0, 0)
    mode: int = 0
    atime: int = 0
    mtime: int = 0
    length: int = 0
    name: str = ""
    uid: str = ""
    gid: str = ""
    muid: str = ""


#: A Twstat field left as it is: all ones (empty strings for the string fields).
DONT_TOUCH = {"type": 0xFFFF, "dev": 0xFFFFFFFF, "mode": 0xFFFFFFFF, "atime": 0xFFFFFFFF,
              "mtime": 0xFFFFFFFF, "length": 0xFFFFFFFFFFFFFFFF}


@attrs.frozen
class Dirent:
    """One 9P2000.L Rreaddir entry: ``offset`` is the cookie of the entry after it."""

    qid: Qid
    offset: int
    type: int
    name: str


class Message:
    """A decoded (or to-be-encoded) message: ``type`` name, ``tag`` and its fields as attributes
    (``fields`` is the instance's own dict, so a field is read at the speed of an attribute)."""

    __slots__ = ("type", "tag", "__dict__")

    def __init__(self, type: str, tag: int = NOTAG, **fields: Any) -> None:  # noqa: A002
        self.type = type
        self.tag = tag
        self.__dict__ = fields

    @property
    def fields(self) -> dict[str, Any]:
        return self.__dict__

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Message)
            and (self.type, self.tag, self.fields) == (other.type, other.tag, other.fields)
        )

    def __repr__(self) -> str:
        shown = {k: (v if not isinstance(v, bytes) or len(v) < 32 else f"<{len(v)} bytes>")
                 for k, v in self.fields.items()}
        return f"{self.type}(tag={self.tag}, {', '.join(f'{k}={v!r}' for k, v in shown.items())})"


# Field kinds: B H I Q integers of 1/2/4/8 bytes; s a string; q a qid; W walk names; Y qids;
# D count[4] + data; S n[2] + stat.
_GETATTR = ["Q", "q", *"I" * 3, *"Q" * 15]
_GETATTR_NAMES = [
    "valid", "qid", "mode", "uid", "gid", "nlink", "rdev", "size", "blksize", "blocks",
    "atime_sec", "atime_nsec", "mtime_sec", "mtime_nsec", "ctime_sec", "ctime_nsec",
    "btime_sec", "btime_nsec", "gen", "data_version",
]

LAYOUTS: dict[str, tuple[int, tuple[tuple[str, str], ...]]] = {}


def _layout(name: str, number: int, spec: str) -> None:
    fields = tuple((f.split(":")[0], f.split(":")[1]) for f in spec.split()) if spec else ()
    LAYOUTS[name] = (number, fields)


for _name, _number, _spec in (
    # 9P2000
    ("Tversion", 100, "msize:I version:s"),
    ("Rversion", 101, "msize:I version:s"),
    ("Tauth", 102, "afid:I uname:s aname:s"),
    ("Rauth", 103, "aqid:q"),
    ("Tattach", 104, "fid:I afid:I uname:s aname:s"),
    ("Rattach", 105, "qid:q"),
    ("Rerror", 107, "ename:s"),
    ("Tflush", 108, "oldtag:H"),
    ("Rflush", 109, ""),
    ("Twalk", 110, "fid:I newfid:I wnames:W"),
    ("Rwalk", 111, "qids:Y"),
    ("Topen", 112, "fid:I mode:B"),
    ("Ropen", 113, "qid:q iounit:I"),
    ("Tcreate", 114, "fid:I name:s perm:I mode:B"),
    ("Rcreate", 115, "qid:q iounit:I"),
    ("Tread", 116, "fid:I offset:Q count:I"),
    ("Rread", 117, "data:D"),
    ("Twrite", 118, "fid:I offset:Q data:D"),
    ("Rwrite", 119, "count:I"),
    ("Tclunk", 120, "fid:I"),
    ("Rclunk", 121, ""),
    ("Tremove", 122, "fid:I"),
    ("Rremove", 123, ""),
    ("Tstat", 124, "fid:I"),
    ("Rstat", 125, "stat:S"),
    ("Twstat", 126, "fid:I stat:S"),
    ("Rwstat", 127, ""),
    # 9P2000.L
    ("Rlerror", 7, "ecode:I"),
    ("Tstatfs", 8, "fid:I"),
    ("Rstatfs", 9, "fstype:I bsize:I blocks:Q bfree:Q bavail:Q files:Q ffree:Q fsid:Q namelen:I"),
    ("Tlopen", 12, "fid:I flags:I"),
    ("Rlopen", 13, "qid:q iounit:I"),
    ("Tlcreate", 14, "fid:I name:s flags:I mode:I gid:I"),
    ("Rlcreate", 15, "qid:q iounit:I"),
    ("Tsymlink", 16, "fid:I name:s symtgt:s gid:I"),
    ("Rsymlink", 17, "qid:q"),
    ("Tmknod", 18, "dfid:I name:s mode:I major:I minor:I gid:I"),
    ("Rmknod", 19, "qid:q"),
    ("Trename", 20, "fid:I dfid:I name:s"),
    ("Rrename", 21, ""),
    ("Treadlink", 22, "fid:I"),
    ("Rreadlink", 23, "target:s"),
    ("Tgetattr", 24, "fid:I request_mask:Q"),
    ("Rgetattr", 25, " ".join(f"{n}:{k}" for n, k in zip(_GETATTR_NAMES, _GETATTR, strict=True))),
    ("Tsetattr", 26, "fid:I valid:I mode:I uid:I gid:I size:Q atime_sec:Q atime_nsec:Q "
                     "mtime_sec:Q mtime_nsec:Q"),
    ("Rsetattr", 27, ""),
    ("Txattrwalk", 30, "fid:I newfid:I name:s"),
    ("Rxattrwalk", 31, "size:Q"),
    ("Txattrcreate", 32, "fid:I name:s attr_size:Q flags:I"),
    ("Rxattrcreate", 33, ""),
    ("Treaddir", 40, "fid:I offset:Q count:I"),
    ("Rreaddir", 41, "data:D"),
    ("Tfsync", 50, "fid:I datasync:I"),
    ("Rfsync", 51, ""),
    ("Tlock", 52, "fid:I locktype:B flags:I start:Q length:Q proc_id:I client_id:s"),
    ("Rlock", 53, "status:B"),
    ("Tgetlock", 54, "fid:I locktype:B start:Q length:Q proc_id:I client_id:s"),
    ("Rgetlock", 55, "locktype:B start:Q length:Q proc_id:I client_id:s"),
    ("Tlink", 70, "dfid:I fid:I name:s"),
    ("Rlink", 71, ""),
    ("Tmkdir", 72, "dfid:I name:s mode:I gid:I"),
    ("Rmkdir", 73, "qid:q"),
    ("Trenameat", 74, "olddirfid:I oldname:s newdirfid:I newname:s"),
    ("Rrenameat", 75, ""),
    ("Tunlinkat", 76, "dirfid:I name:s flags:I"),
    ("Runlinkat", 77, ""),
):
    _layout(_name, _number, _spec)

#: 9P2000.L's Tattach and Tauth carry a numeric user id after the names.
L_LAYOUTS = {
    "Tauth": (102, (("afid", "I"), ("uname", "s"), ("aname", "s"), ("n_uname", "I"))),
    "Tattach": (104, (("fid", "I"), ("afid", "I"), ("uname", "s"), ("aname", "s"), ("n_uname", "I"))),
}
#: Messages that exist only in 9P2000.L (refused on a 9P2000 connection).
L_ONLY = frozenset(name for name, (number, _) in LAYOUTS.items() if number < 100)
BY_NUMBER = {number: name for name, (number, _) in LAYOUTS.items()}
_INT = {kind: struct.Struct("<" + kind) for kind in "BHIQ"}
_U16 = _INT["H"]
_U32 = _INT["I"]


class _Reader:
    """Bounds-checked reads from one message body; any overrun is a ProtocolError."""

    __slots__ = ("data", "pos", "end", "tag", "what")

    def __init__(self, data: bytes | memoryview, pos: int, end: int, tag: int, what: str) -> None:
        self.data, self.pos, self.end, self.tag, self.what = data, pos, end, tag, what

    def fail(self, why: str) -> ProtocolError:
        return ProtocolError(f"malformed {self.what}: {why}", tag=self.tag)

    def take(self, n: int, field: str) -> bytes:
        if n > self.end - self.pos:
            raise self.fail(f"{field} needs {n} bytes, {self.end - self.pos} left")
        chunk = bytes(self.data[self.pos : self.pos + n])
        self.pos += n
        return chunk

    def int(self, kind: str, field: str) -> int:
        unpacker = _INT[kind]
        if unpacker.size > self.end - self.pos:
            raise self.fail(f"{field} needs {unpacker.size} bytes, {self.end - self.pos} left")
        (value,) = unpacker.unpack_from(self.data, self.pos)
        self.pos += unpacker.size
        return value

    def string(self, field: str) -> str:
        raw = self.take(self.int("H", field), field)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(f"{field} is not UTF-8") from None

    def qid(self, field: str) -> Qid:
        return Qid(*_QID.unpack(self.take(13, field)))


def _decode_stat(reader: _Reader, field: str) -> Stat:
    n = reader.int("H", field)
    if n < 2:
        raise reader.fail(f"{field} of {n} bytes")
    size = reader.int("H", field + " size")
    if size + 2 != n:
        raise reader.fail(f"{field}: n={n} but the stat says it has {size + 2} bytes")
    inner = _Reader(reader.data, reader.pos, reader.pos + size, reader.tag, reader.what)
    if size > reader.end - reader.pos:
        raise reader.fail(f"{field} needs {size} bytes, {reader.end - reader.pos} left")
    stat = Stat(
        type=inner.int("H", "type"),
        dev=inner.int("I", "dev"),
        qid=inner.qid("qid"),
        mode=inner.int("I", "mode"),
        atime=inner.int("I", "atime"),
        mtime=inner.int("I", "mtime"),
        length=inner.int("Q", "length"),
        name=inner.string("name"),
        uid=inner.string("uid"),
        gid=inner.string("gid"),
        muid=inner.string("muid"),
    )
    if inner.pos != inner.end:
        raise reader.fail(f"{field} has {inner.end - inner.pos} bytes past its last field")
    reader.pos = inner.end
    return stat


def encode_stat(stat: Stat) -> bytes:
    """A stat as it appears in a directory read: size[2] then the fields."""
    strings = b"".join(_string(s) for s in (stat.name, stat.uid, stat.gid, stat.muid))
    body = struct.pack("<HI", stat.type, stat.dev) + stat.qid.pack()
    body += struct.pack("<IIIQ", stat.mode, stat.atime, stat.mtime, stat.length) + strings
    return _U16.pack(len(body)) + body


def decode_stats(data: bytes) -> list[Stat]:
    """The stats of a 9P2000 directory read (each is size[2] + fields)."""
    stats, pos = [], 0
    while pos < len(data):
        # reuse the Twstat parser: give it n[2] = size + 2 in front
        if len(data) - pos < 2:
            raise ProtocolError("directory data ends inside a stat")
        (size,) = _U16.unpack_from(data, pos)
        framed = _U16.pack(size + 2) + data[pos : pos + 2 + size]
        stats.append(_decode_stat(_Reader(framed, 0, len(framed), NOTAG, "directory entry"), "stat"))
        pos += 2 + size
    return stats


def encode_dirent(entry: Dirent) -> bytes:
    return pack_dirent(entry.qid, entry.offset, entry.type, entry.name)


def pack_dirent(qid: Qid, offset: int, kind: int, name: str) -> bytes:
    """One Rreaddir entry from its parts (what a listing of many entries calls)."""
    raw = name.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise ValueError(f"string of {len(raw)} bytes is too long for 9P")
    return _DIRENT.pack(qid.type, qid.version, qid.path, offset, kind, len(raw)) + raw


_DIRENT = struct.Struct("<BIQQBH")


def pack_listing(rows: list[tuple[str, Qid]], directory_type: int, file_type: int) -> list[bytes]:
    """The Rreaddir entries of a whole listing, in order: entry i (from 1) has offset i and the
    type ``directory_type`` when its qid says QTDIR, else ``file_type``."""
    pack = _DIRENT.pack
    out = []
    for index, (name, (kind, version, path)) in enumerate(rows, 1):
        raw = name.encode("utf-8")
        if len(raw) > 0xFFFF:
            raise ValueError(f"string of {len(raw)} bytes is too long for 9P")
        entry_type = directory_type if kind & QTDIR else file_type
        out.append(pack(kind, version, path, index, entry_type, len(raw)) + raw)
    return out


def decode_dirents(data: bytes) -> list[Dirent]:
    reader = _Reader(data, 0, len(data), NOTAG, "Rreaddir data")
    entries = []
    while reader.pos < reader.end:
        qid = reader.qid("qid")
        offset = reader.int("Q", "offset")
        kind = reader.int("B", "type")
        entries.append(Dirent(qid, offset, kind, reader.string("name")))
    return entries


def _string(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise ValueError(f"string of {len(raw)} bytes is too long for 9P")
    return _U16.pack(len(raw)) + raw


def layout(name: str, dialect: str) -> tuple[int, tuple[tuple[str, str], ...]]:
    if dialect == VERSION_9PL and name in L_LAYOUTS:
        return L_LAYOUTS[name]
    return LAYOUTS[name]


class _Plan:
    """A layout made ready for the codec: each run of integer fields becomes one struct, which
    packs (or unpacks) them in one call; the other fields go one by one."""

    __slots__ = ("number", "fields", "steps", "fixed")

    def __init__(self, number: int, fields: tuple[tuple[str, str], ...]) -> None:
        self.number, self.fields = number, fields
        #: (names, struct) for a run of integers, (name, kind) for any other field
        self.steps: list[tuple[Any, Any]] = []
        run: list[tuple[str, str]] = []
        for name, kind in (*fields, ("", "")):
            if kind in _INT:
                run.append((name, kind))
                continue
            if run:
                self.steps.append((tuple(n for n, _ in run), struct.Struct("<" + "".join(k for _, k in run))))
                run = []
            if kind:
                self.steps.append((name, kind))
        #: the body's size when it is made of integers only
        only_ints = len(self.steps) == 1 and type(self.steps[0][0]) is tuple
        self.fixed = self.steps[0][1].size if only_ints else None


_PLANS = {
    (name, dialect): _Plan(*layout(name, dialect))
    for name in LAYOUTS
    for dialect in (VERSION_9P, VERSION_9PL)
}


def encode(message: Message, dialect: str = VERSION_9P) -> bytes:
    """The bytes of ``message`` (size included). ValueError if a field does not fit its type."""
    return b"".join(encode_parts(message, dialect))


def encode_parts(message: Message, dialect: str = VERSION_9P) -> list[bytes]:
    """:func:`encode` as the pieces that make the message, in order, not joined: a reply
    carrying a large payload (Rread) goes out with it as is, not copied once more."""
    try:
        plan = _PLANS[message.type, dialect]
    except KeyError:
        plan = _Plan(*layout(message.type, dialect))  # raises KeyError for an unknown type
    try:
        return _encode(plan, message)
    except struct.error as exc:  # an integer out of its field's range
        raise ValueError(f"{message.type}: {exc}") from None


def _encode(plan: _Plan, message: Message) -> list[bytes]:
    values = message.fields
    parts = [b""]
    for name, kind in plan.steps:
        if type(name) is tuple:  # a run of integers
            parts.append(kind.pack(*[values[n] for n in name]))
            continue
        value = values[name]
        if kind == "D":
            parts.append(_U32.pack(len(value)))
            parts.append(value)
        elif kind == "s":
            parts.append(_string(value))
        elif kind == "q":
            parts.append(value.pack())
        elif kind == "W":
            parts.append(_U16.pack(len(value)) + b"".join(_string(w) for w in value))
        elif kind == "Y":
            parts.append(_U16.pack(len(value)) + b"".join(q.pack() for q in value))
        elif kind == "S":
            raw = encode_stat(value)
            parts.append(_U16.pack(len(raw)) + raw)
    size = HEADER_SIZE + sum(map(len, parts))
    parts[0] = HEADER.pack(size, plan.number, message.tag)
    return parts


def frame_size(buffer: bytes | bytearray | memoryview, msize: int) -> int | None:
    """The size of the message at the start of ``buffer``, None if fewer than 4 bytes are there.

    A size below the header or above ``msize`` is a fatal ProtocolError (framing is lost)."""
    if len(buffer) < 4:
        return None
    (size,) = _U32.unpack_from(buffer, 0)
    if size < HEADER_SIZE:
        raise ProtocolError(f"message size {size} is smaller than a header", fatal=True)
    if size > msize:
        raise ProtocolError(f"message size {size} exceeds msize {msize}", fatal=True)
    return size


def decode(data: bytes | bytearray | memoryview, msize: int, dialect: str = VERSION_9P) -> Message:
    """Decode exactly one whole message (``data`` is its size[4] and all that follows)."""
    if len(data) < HEADER_SIZE:
        raise ProtocolError(f"message of {len(data)} bytes is shorter than a header", fatal=True)
    size, number, tag = HEADER.unpack_from(data, 0)
    if size != len(data):
        raise ProtocolError(f"message says {size} bytes but has {len(data)}", fatal=True)
    if size > msize:
        raise ProtocolError(f"message size {size} exceeds msize {msize}", fatal=True)
    name = BY_NUMBER.get(number)
    if name is None:
        raise ProtocolError(f"unknown message type {number}", tag=tag, errno=95)
    if dialect != VERSION_9PL and name in L_ONLY:
        raise ProtocolError(f"{name} is not part of {dialect}", tag=tag, errno=95)
    plan = _PLANS[name, dialect]
    if plan.fixed == size - HEADER_SIZE:  # integers only, and exactly their size: one unpack
        names, unpacker = plan.steps[0]
        return Message(name, tag, **dict(zip(names, unpacker.unpack_from(data, HEADER_SIZE), strict=True)))
    reader = _Reader(data, HEADER_SIZE, size, tag, name)
    values: dict[str, Any] = {}
    for field, kind in plan.steps:
        if type(field) is tuple:  # a run of integers: at once when they are all there
            if kind.size <= reader.end - reader.pos:
                values.update(zip(field, kind.unpack_from(data, reader.pos), strict=True))
                reader.pos += kind.size
                continue
            for name_, code in zip(field, kind.format[1:], strict=True):
                if name_ == "datasync" and reader.pos == reader.end:
                    values[name_] = 0  # older 9P2000.L clients send Tfsync with the fid only
                    continue
                values[name_] = reader.int(code, name_)  # fails naming the first one missing
        elif kind == "s":
            values[field] = reader.string(field)
        elif kind == "q":
            values[field] = reader.qid(field)
        elif kind == "D":
            count = reader.int("I", field + " count")
            values[field] = reader.take(count, field)
        elif kind == "W":
            count = reader.int("H", "nwname")
            if count > MAXWELEM:
                raise reader.fail(f"{count} names in one walk (at most {MAXWELEM})")
            values[field] = tuple(reader.string(f"wname[{i}]") for i in range(count))
        elif kind == "Y":
            count = reader.int("H", "nwqid")
            if count > MAXWELEM:
                raise reader.fail(f"{count} qids in one walk (at most {MAXWELEM})")
            values[field] = tuple(reader.qid(f"wqid[{i}]") for i in range(count))
        elif kind == "S":
            values[field] = _decode_stat(reader, field)
    if reader.pos != reader.end:
        raise reader.fail(f"{reader.end - reader.pos} bytes past its last field")
    return Message(name, tag, **values)


def message_names() -> Sequence[str]:
    return tuple(LAYOUTS)
