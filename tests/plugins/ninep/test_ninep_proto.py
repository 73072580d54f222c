"""The 9P codec: every message round-trips, and anything not exactly well formed is refused."""

from __future__ import annotations

import struct

import pytest

from kernkit.plugins.ninep import proto
from kernkit.plugins.ninep.proto import Message, ProtocolError, Qid, Stat

QID = Qid(0x80, 7, 0x1122334455667788)
STAT = Stat(type=1, dev=2, qid=QID, mode=proto.DMDIR | 0o755, atime=3, mtime=4, length=0,
            name="dir", uid="u", gid="g", muid="m")


def sample(name: str, dialect: str) -> Message:
    """A message of type ``name`` with a plausible value in every field."""
    _, fields = proto.layout(name, dialect)
    values = {}
    for field, kind in fields:
        values[field] = {
            "B": 0x12, "H": 0x1234, "I": 0x12345678, "Q": 0x123456789ABCDEF0, "s": f"{field}-é",
            "q": QID, "D": b"data\x00\xff", "W": ("a", "b", "ü"), "Y": (QID, QID), "S": STAT,
        }[kind]
    return Message(name, 42, **values)


COMBINATIONS = [(name, dialect) for dialect in ("9P2000", "9P2000.L") for name in proto.message_names()
                if dialect == "9P2000.L" or name not in proto.L_ONLY]


@pytest.mark.parametrize(("name", "dialect"), COMBINATIONS)
def test_every_message_round_trips(name, dialect):
    message = sample(name, dialect)
    data = proto.encode(message, dialect)
    assert struct.unpack_from("<I", data)[0] == len(data)
    assert proto.decode(data, len(data), dialect) == message


def test_linux_attach_carries_a_numeric_user():
    message = Message("Tattach", 1, fid=1, afid=proto.NOFID, uname="u", aname="/tmp", n_uname=1000)
    data = proto.encode(message, "9P2000.L")
    assert len(data) == len(proto.encode(Message("Tattach", 1, fid=1, afid=proto.NOFID, uname="u",
                                                 aname="/tmp"), "9P2000")) + 4
    assert proto.decode(data, 8192, "9P2000.L").n_uname == 1000


def encoded(name="Tread", dialect="9P2000", **fields):
    message = sample(name, dialect)
    message.fields.update(fields)
    return proto.encode(message, dialect)


def refused(data: bytes, msize: int = 8192, dialect: str = "9P2000") -> ProtocolError:
    with pytest.raises(ProtocolError) as info:
        proto.decode(data, msize, dialect)
    return info.value


def test_a_truncated_message_is_refused():
    data = encoded("Twrite")
    short = struct.pack("<I", len(data) - 3) + data[4:-3]  # size says so, but the data count lies
    error = refused(short)
    assert "data needs" in error.message and error.tag == 42 and not error.fatal


def test_trailing_bytes_are_refused():
    data = encoded("Tclunk") + b"\x00"
    data = struct.pack("<I", len(data)) + data[4:]
    assert "past its last field" in refused(data).message


def test_a_message_over_msize_is_fatal():
    data = encoded("Twrite", data=b"x" * 9000)
    error = refused(data, msize=8192)
    assert error.fatal and "exceeds msize" in error.message


def test_size_below_a_header_is_fatal_framing():
    with pytest.raises(ProtocolError) as info:
        proto.frame_size(struct.pack("<I", 6) + b"\x00" * 3, 8192)
    assert info.value.fatal


def test_size_field_must_match_the_bytes():
    data = encoded("Tclunk")
    assert refused(data[:-1]).fatal


def test_unknown_type_gets_an_error_with_its_tag():
    data = struct.pack("<IBH", 7, 250, 9)
    error = refused(data)
    assert not error.fatal and error.tag == 9 and "unknown message type 250" in error.message


def test_linux_messages_are_refused_on_a_plain_connection():
    data = encoded("Tlopen", "9P2000.L")
    assert "not part of 9P2000" in refused(data, dialect="9P2000").message


def test_a_walk_of_more_than_sixteen_names_is_refused():
    data = encoded("Twalk", wnames=tuple("abcdefghijklmnopq"))
    assert "at most 16" in refused(data).message


def test_strings_must_be_utf8():
    data = bytearray(encoded("Tattach", uname="ab", aname=""))
    at = data.index(b"ab")
    data[at : at + 2] = b"\xff\xfe"
    assert "not UTF-8" in refused(bytes(data)).message


def test_string_length_past_the_end_is_refused():
    data = bytearray(encoded("Tattach", uname="ab", aname=""))
    at = data.index(b"ab") - 2
    data[at : at + 2] = struct.pack("<H", 5000)
    assert "uname needs 5000 bytes" in refused(bytes(data)).message


def test_a_stat_whose_sizes_disagree_is_refused():
    data = bytearray(encoded("Twstat"))
    stat_at = 7 + 4  # header, fid
    n = struct.unpack_from("<H", data, stat_at)[0]
    struct.pack_into("<H", data, stat_at + 2, n)  # inner size one too big
    assert "stat" in refused(bytes(data)).message


def test_a_stat_with_bytes_past_its_fields_is_refused():
    raw = proto.encode_stat(STAT)
    padded = struct.pack("<H", len(raw) - 2 + 1) + raw[2:] + b"\x00"
    body = struct.pack("<I", 1) + struct.pack("<H", len(padded)) + padded
    data = struct.pack("<IBH", 7 + len(body), 126, 3) + body
    assert "past its last field" in refused(data).message


def test_directory_data_decodes_back():
    raw = proto.encode_stat(STAT) + proto.encode_stat(STAT)
    assert proto.decode_stats(raw) == [STAT, STAT]
    entries = [proto.Dirent(QID, 1, 4, "a"), proto.Dirent(QID, 2, 8, "b")]
    assert proto.decode_dirents(b"".join(map(proto.encode_dirent, entries))) == entries
    with pytest.raises(ProtocolError):
        proto.decode_dirents(proto.encode_dirent(entries[0])[:-1])


def test_fsync_without_datasync_is_accepted():
    data = struct.pack("<IBHI", 11, 50, 5, 3)
    message = proto.decode(data, 8192, "9P2000.L")
    assert (message.type, message.fid, message.datasync) == ("Tfsync", 3, 0)
