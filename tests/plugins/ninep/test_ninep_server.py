"""The 9P server over the in-memory backend: semantics a client sees, and fuzzing with bad input."""

from __future__ import annotations

import copy
import errno
import itertools
import os
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.ninep import changes_accepted, local_client, tree_of

from kernkit.plugins.ninep import memfs, proto
from kernkit.plugins.ninep.backend import NinepError
from kernkit.plugins.ninep.client import ClientError, RemoteError
from kernkit.plugins.ninep.memfs import MemFS
from kernkit.plugins.ninep.nsbackend import confine
from kernkit.plugins.ninep.proto import NOFID, NOTAG, Message
from kernkit.plugins.ninep.server import Session

DIALECTS = ["9P2000", "9P2000.L"]


def tree() -> MemFS:
    fs = MemFS()
    fs.add("/tmp/hello.txt", b"hello, world\n")
    fs.add("/tmp/sub/deep.txt", b"deep")
    fs.add("/proc/1/status", b"state R\n")
    return fs


@pytest.fixture(params=DIALECTS)
def dialect(request):
    return request.param


def read_all(client, fid, size=1 << 30):
    out, offset = b"", 0
    while len(out) < size:
        chunk = client.read(fid, offset, client.iounit)
        if not chunk:
            break
        out += chunk
        offset += len(chunk)
    return out


def test_walk_open_read(dialect):
    client, _ = local_client(tree(), dialect)
    root, qid = client.attach("")
    assert qid.type == proto.QTDIR
    fid, qids = client.walk(root, ["tmp", "hello.txt"])
    assert [q.type for q in qids] == [proto.QTDIR, proto.QTFILE]
    _, iounit = client.open(fid, 0)
    assert 0 < iounit <= client.msize - proto.IOHDRSZ
    assert read_all(client, fid) == b"hello, world\n"
    assert client.stat(fid)["size"] == 13


def test_listing_both_dialects(dialect):
    client, _ = local_client(tree(), dialect)
    root, _ = client.attach("")
    fid, _ = client.walk(root, ["tmp"])
    client.open(fid, 0)
    assert sorted(name for name, _ in client.readdir(fid)) == ["hello.txt", "sub"]


def test_directory_read_in_small_pieces_never_splits_an_entry():
    fs = MemFS()
    for i in range(50):
        fs.add(f"/d/file-with-a-longish-name-{i:03}", b"x")
    client, _ = local_client(fs, "9P2000", msize=1024)
    root, _ = client.attach("")
    fid, _ = client.walk(root, ["d"])
    client.open(fid, 0)
    names = [name for name, _ in client.readdir(fid)]
    assert names == [f"file-with-a-longish-name-{i:03}" for i in range(50)]


def test_directory_read_at_a_made_up_offset_is_refused():
    client, _ = local_client(tree(), "9P2000")
    root, _ = client.attach("")
    fid, _ = client.walk(root, ["tmp"])
    client.open(fid, 0)
    client.read(fid, 0, 100)
    with pytest.raises(RemoteError) as info:
        client.read(fid, 3, 100)
    assert info.value.errno == errno.EINVAL


def test_dotdot_never_climbs_above_the_attach_point(dialect):
    client, _ = local_client(tree(), dialect)
    root, root_qid = client.attach("/tmp")
    fid, qids = client.walk(root, ["..", "..", "hello.txt"])
    client.open(fid, 0)
    assert read_all(client, fid) == b"hello, world\n"
    fid2, qids = client.walk(root, ["sub", "..", ".."])
    assert qids[-1] == root_qid


def test_missing_names_and_partial_walks(dialect):
    client, session = local_client(tree(), dialect)
    root, _ = client.attach("")
    with pytest.raises(RemoteError) as info:
        client.walk(root, ["nope"])
    assert info.value.errno == errno.ENOENT
    # a partial walk answers with the qids it found and makes no new fid
    reply = client.rpc(Message("Twalk", fid=root, newfid=99, wnames=("tmp", "nope")), "Rwalk")
    assert len(reply.qids) == 1 and 99 not in session.fids


def test_read_only_by_default(dialect):
    fs = tree()
    client, _ = local_client(fs, dialect, writable=False)
    root, _ = client.attach("")
    fid, _ = client.walk(root, ["tmp", "hello.txt"])
    with pytest.raises(RemoteError) as info:
        client.open(fid, 1)
    assert info.value.errno == errno.EROFS or "read-only" in info.value.text.lower()
    tmp, _ = client.walk(root, ["tmp"])
    with pytest.raises(RemoteError):
        client.create(tmp, "new", 0o644, 0o101)
    with pytest.raises(RemoteError):
        client.unlink(root, "tmp", True)
    assert fs.root.walk("tmp").walk("hello.txt").data == b"hello, world\n"


def test_a_read_only_server_refuses_every_change_and_the_tree_stays_as_it_was(dialect):
    client, _ = local_client(tree(), dialect, writable=False)
    root, _ = client.attach("")
    before = tree_of(client, root)
    tmp, _ = client.walk(root, ["tmp"])
    assert changes_accepted(client, tmp, "hello.txt", "sub") == []
    assert tree_of(client, root) == before
    assert before["tmp/hello.txt"] == (0o100644, b"hello, world\n") and before["tmp/sub"][1] is None


def test_create_write_truncate_remove(dialect):
    fs = tree()
    client, _ = local_client(fs, dialect)
    root, _ = client.attach("")
    fid, _ = client.walk(root, ["tmp"])
    client.create(fid, "new.bin", 0o600, 0o2)
    payload = bytes(range(256)) * 1000
    assert client.write(fid, 0, payload) == len(payload)
    client.clunk(fid)
    assert bytes(fs.root.walk("tmp").walk("new.bin").data) == payload
    fid, _ = client.walk(root, ["tmp", "new.bin"])
    client.truncate(fid, 10)
    assert client.stat(fid)["size"] == 10
    client.clunk(fid)
    tmp, _ = client.walk(root, ["tmp"])
    client.unlink(tmp, "new.bin", False)
    with pytest.raises(RemoteError):
        client.walk(tmp, ["new.bin"])


def test_plan9_create_of_an_existing_name_is_refused():
    client, _ = local_client(tree(), "9P2000")
    root, _ = client.attach("")
    tmp, _ = client.walk(root, ["tmp"])
    with pytest.raises(RemoteError) as info:
        client.create(tmp, "hello.txt", 0o644, 1)
    assert info.value.errno == errno.EEXIST


def test_linux_create_without_excl_opens_what_is_there():
    fs = tree()
    client, _ = local_client(fs, "9P2000.L")
    root, _ = client.attach("")
    tmp, _ = client.walk(root, ["tmp"])
    client.create(tmp, "hello.txt", 0o644, 0o1 | 0o100 | 0o1000)  # O_WRONLY|O_CREAT|O_TRUNC
    assert fs.root.walk("tmp").walk("hello.txt").data == b""


def test_mkdir_rename_and_remove_directory(dialect):
    fs = tree()
    client, _ = local_client(fs, dialect)
    root, _ = client.attach("")
    tmp, _ = client.walk(root, ["tmp"])
    client.mkdir(tmp, "d", 0o755)
    client.rename(tmp, "d", tmp, "e")
    assert "e" in fs.root.walk("tmp").children and "d" not in fs.root.walk("tmp").children
    client.unlink(tmp, "e", True)
    with pytest.raises(RemoteError) as info:
        client.unlink(tmp, "sub", True)
    assert info.value.errno == errno.ENOTEMPTY


def test_remove_on_close_and_remove_of_the_root():
    fs = tree()
    client, _ = local_client(fs, "9P2000")
    root, _ = client.attach("")
    fid, _ = client.walk(root, ["tmp", "hello.txt"])
    client.rpc(Message("Topen", fid=fid, mode=proto.OREAD | proto.ORCLOSE), "Ropen")
    client.clunk(fid)
    assert "hello.txt" not in fs.root.walk("tmp").children
    with pytest.raises(RemoteError):
        client.remove(root)


def test_fid_rules(dialect):
    client, session = local_client(tree(), dialect)
    root, _ = client.attach("")
    other, _ = client.walk(root, [])
    with pytest.raises(RemoteError):  # a fid in use cannot be the new fid of a walk
        client.rpc(Message("Twalk", fid=root, newfid=other, wnames=()), "Rwalk")
    with pytest.raises(RemoteError):
        client.read(12345, 0, 10)
    with pytest.raises(RemoteError):  # reading a fid that was never opened
        client.read(other, 0, 10)
    client.clunk(other)
    assert other not in session.fids


def test_reads_are_clamped_to_the_iounit():
    fs = MemFS()
    fs.add("/big", b"z" * 100_000)
    client, _ = local_client(fs, "9P2000.L", msize=4096)
    root, _ = client.attach("")
    fid, _ = client.walk(root, ["big"])
    client.open(fid, 0)
    reply = client.rpc(Message("Tread", fid=fid, offset=0, count=1 << 30), "Rread")
    assert len(reply.data) == 4096 - proto.IOHDRSZ


def test_version_negotiation():
    session = Session(tree())
    reply = proto.decode(session.receive(proto.encode(Message("Tversion", NOTAG, msize=1 << 30,
                                                              version="9P2000.u"))), 1 << 20)
    assert reply.version == "9P2000" and reply.msize == session.max_msize
    reply = proto.decode(session.receive(proto.encode(Message("Tversion", NOTAG, msize=8192,
                                                              version="9P3000"))), 8192)
    assert reply.version == "unknown"


def test_requests_before_version_are_refused():
    session = Session(tree())
    out = session.receive(proto.encode(Message("Tattach", 1, fid=1, afid=NOFID, uname="", aname="")))
    assert proto.decode(out, 8192).type == "Rerror"


def test_oversized_message_closes_the_connection():
    client, session = local_client(tree(), "9P2000.L", msize=4096)
    root, _ = client.attach("")
    big = struct.pack("<IBH", 8192, 118, 1) + b"\x00" * (8192 - 7)
    assert session.receive(big) == b"" and session.closed
    with pytest.raises(ClientError):
        client.walk(root, [])


def test_a_crashing_backend_gives_eio_and_the_server_goes_on():
    fs = tree()

    class Broken(type(fs.root)):
        def listdir(self):
            raise RuntimeError("backend bug")

    fs.root.walk("tmp").__class__ = Broken
    errors = []
    session = Session(fs, writable=True, on_error=errors.append)
    pending = bytearray()
    from kernkit.plugins.ninep.client import Client

    client = Client(lambda d: pending.extend(session.receive(d)),
                    lambda n: (bytes(pending[:n]), pending.__delitem__(slice(0, n)))[0], version="9P2000.L")
    root, _ = client.attach("")
    tmp, _ = client.walk(root, ["tmp"])
    client.open(tmp, 0)
    with pytest.raises(RemoteError) as info:
        list(client.readdir(tmp))
    assert info.value.errno == errno.EIO
    assert errors == ["Treaddir: RuntimeError: backend bug"]  # the request and the exception
    fid, _ = client.walk(root, ["proc"])  # still serving
    assert fid


# --- fuzzing ---------------------------------------------------------------------------------

MSIZE = 8192
SETUP = [
    Message("Tversion", NOTAG, msize=MSIZE, version="9P2000.L"),
    Message("Tattach", 1, fid=1, afid=NOFID, uname="u", aname="", n_uname=0),
]
names = st.sampled_from(["tmp", "proc", "hello.txt", "sub", "..", ".", "", "x/y", "new", "1", "status"])
fids = st.sampled_from([0, 1, 2, 3, 7, NOFID])
u32 = st.integers(0, 0xFFFFFFFF)
u64 = st.integers(0, (1 << 64) - 1)


def _fields(name):
    _, layout = proto.layout(name, "9P2000.L")
    values = {}
    for field, kind in layout:
        if "fid" in field:
            values[field] = fids
        elif kind == "s":
            values[field] = names
        elif kind == "B":
            values[field] = st.integers(0, 255)
        elif kind == "H":
            values[field] = st.integers(0, 0xFFFF)
        elif kind == "I":
            values[field] = st.one_of(st.integers(0, 64), u32)
        elif kind == "Q":
            values[field] = st.one_of(st.integers(0, 64), u64)
        elif kind == "q":
            values[field] = st.builds(proto.Qid, st.integers(0, 255), u32, u64)
        elif kind == "D":
            values[field] = st.binary(max_size=300)
        elif kind == "W":
            values[field] = st.lists(names, max_size=17).map(tuple)
        elif kind == "Y":
            values[field] = st.lists(st.builds(proto.Qid, st.just(0), st.just(0), u64), max_size=3).map(tuple)
        elif kind == "S":
            values[field] = st.builds(proto.Stat, qid=st.just(proto.Qid(0, 0, 0)), mode=u32, length=u64,
                                      name=names, mtime=u32)
    return st.fixed_dictionaries(values)


message_strategy = st.sampled_from(list(proto.message_names())).flatmap(
    lambda name: st.builds(lambda tag, f: Message(name, tag, **f), st.integers(0, 0xFFFF), _fields(name))
)


def _mutate(data: bytes, how: tuple) -> bytes:
    kind, a, b = how
    if kind == "truncate":
        cut = data[: max(0, len(data) - 1 - a % max(1, len(data)))]
        return struct.pack("<I", max(len(cut), 4)) + cut[4:] if len(cut) >= 4 else cut
    if kind == "flip" and len(data) > 4:
        index = 4 + a % (len(data) - 4)
        return data[:index] + bytes([data[index] ^ (b & 0xFF or 1)]) + data[index + 1 :]
    if kind == "resize":
        return struct.pack("<I", b) + data[4:]
    if kind == "extend":
        extra = bytes([a & 0xFF]) * (1 + b % 40)
        return struct.pack("<I", len(data) + len(extra)) + data[4:] + extra
    return data


mutation = st.tuples(st.sampled_from(["none", "truncate", "flip", "resize", "extend"]), u32, u32)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(message_strategy, mutation), min_size=1, max_size=12), st.sampled_from(DIALECTS),
       st.booleans())
def test_fuzzed_requests_never_crash_the_server(requests, dialect, writable):
    session = Session(tree(), writable=writable, max_msize=MSIZE)
    setup = [Message("Tversion", NOTAG, msize=MSIZE, version=dialect), SETUP[1]]
    if dialect == "9P2000":
        setup[1] = Message("Tattach", 1, fid=1, afid=NOFID, uname="u", aname="")
    for message in setup:
        assert proto.decode(session.receive(proto.encode(message, dialect)), MSIZE, dialect).type[0] == "R"
    for message, how in requests:
        try:
            data = proto.encode(message, dialect if message.type not in proto.L_ONLY else "9P2000.L")
        except (ValueError, struct.error):
            continue
        out = session.receive(_mutate(data, how))  # must not raise
        check_replies(out, session)
        if session.closed:
            break
    if not session.closed:  # the session still answers properly (or wants more bytes first)
        session.receive(b"")


def check_replies(out: bytes, session: Session) -> None:
    pos = 0
    dialect = session.dialect or "9P2000"
    while pos < len(out):
        size = struct.unpack_from("<I", out, pos)[0]
        assert size <= session.msize
        reply = proto.decode(out[pos : pos + size], session.msize, dialect)
        assert reply.type[0] == "R"
        pos += size


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(1, 64))
def test_random_bytes_never_crash_the_server(noise, chunk):
    session = Session(tree(), writable=True, max_msize=MSIZE)
    session.receive(proto.encode(SETUP[0], "9P2000"))
    for i in range(0, len(noise), chunk):  # arriving in pieces, as on a socket
        check_replies(session.receive(noise[i : i + chunk]), session)
        if session.closed:
            assert session.receive(b"\x00" * 10) == b""
            break


def _namespace_export():
    """The root [export9p] serves from a booted kernel's namespace (/proc, /tmp and /dev)."""
    from kernkit.plugins.ninep.nsbackend import NsExport
    from kernkit.plugins.ns.api import boot_namespace
    from kernkit.tools.testing import boot_kernel

    kernel = boot_kernel("hello").kernel
    return NsExport(kernel, boot_namespace(kernel), ["/proc", "/tmp", "/dev"], 0)


def _namespace_session(writable: bool):
    """A server session over a booted kernel's namespace, as [export9p] makes them."""
    problems: list[str] = []
    session = Session(_namespace_export(), writable=writable, max_msize=MSIZE, on_error=problems.append)
    return session, problems


def test_a_read_only_namespace_export_refuses_every_change_and_tmp_stays_as_it_was(dialect):
    root = _namespace_export()
    writer, _ = local_client(root, "9P2000.L")
    top, _ = writer.attach("/tmp")
    writer.create(writer.walk(top, ())[0], "hello.txt", 0o644, 0o101)
    file, _ = writer.walk(top, ["hello.txt"])
    writer.open(file, 1)
    writer.write(file, 0, b"hello, world\n")
    writer.mkdir(top, "sub", 0o755)
    client, _ = local_client(root, dialect, writable=False)
    tmp, _ = client.attach("/tmp")
    before = tree_of(client, tmp)
    assert changes_accepted(client, tmp, "hello.txt", "sub") == []
    assert tree_of(client, tmp) == before
    assert set(before) == {"hello.txt", "sub"} and before["hello.txt"][1] == b"hello, world\n"


NS_NAMES = st.sampled_from(["tmp", "proc", "dev", "1", "status", "ctl", "cons", "random", "new", "..", "x"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["Twalk", "Tlopen", "Tread", "Twrite", "Tlcreate", "Tmkdir",
                                           "Treaddir", "Tgetattr", "Tsetattr", "Tunlinkat", "Trenameat",
                                           "Tclunk", "Tremove"]),
                          st.sampled_from([1, 2, 3]), st.sampled_from([1, 2, 3]),
                          st.lists(NS_NAMES, max_size=3).map(tuple), st.integers(0, 3),
                          st.binary(max_size=20)), max_size=15),
       st.booleans())
def test_fuzzed_requests_on_the_namespace_export_hit_no_device_bug(requests, writable):
    session, problems = _namespace_session(writable)
    session.receive(proto.encode(Message("Tversion", NOTAG, msize=MSIZE, version="9P2000.L")))
    attach = Message("Tattach", 1, fid=1, afid=NOFID, uname="u", aname="", n_uname=0)
    assert proto.decode(session.receive(proto.encode(attach, "9P2000.L")), MSIZE, "9P2000.L").type == "Rattach"
    for kind, fid, other, names, number, data in requests:
        name = names[0] if names else "x"
        fields = {
            "Twalk": dict(fid=fid, newfid=other, wnames=names),
            "Tlopen": dict(fid=fid, flags=number),
            "Tread": dict(fid=fid, offset=number, count=100),
            "Twrite": dict(fid=fid, offset=number, data=data),
            "Tlcreate": dict(fid=fid, name=name, flags=number, mode=0o644, gid=0),
            "Tmkdir": dict(dfid=fid, name=name, mode=0o755, gid=0),
            "Treaddir": dict(fid=fid, offset=number, count=500),
            "Tgetattr": dict(fid=fid, request_mask=0x7FF),
            "Tsetattr": dict(fid=fid, valid=0x8 | (number & 1), mode=0o600, uid=0, gid=0, size=number,
                             atime_sec=0, atime_nsec=0, mtime_sec=0, mtime_nsec=0),
            "Tunlinkat": dict(dirfid=fid, name=name, flags=0x200 if number & 1 else 0),
            "Trenameat": dict(olddirfid=fid, oldname=name, newdirfid=other, newname="renamed"),
            "Tclunk": dict(fid=fid),
            "Tremove": dict(fid=fid),
        }[kind]
        out = session.receive(proto.encode(Message(kind, 7, **fields), "9P2000.L"))
        check_replies(out, session)
    assert not problems, problems


@pytest.mark.parametrize(
    ("aname", "attached"),
    [("", "/"), ("/", "/"), ("/tmp", "/tmp"), ("/tmp/", "/tmp"), ("/proc/1", "/proc/1"), ("/tmp/../proc", "/proc"),
     ("/tmp/./x/..", "/tmp")],
)
def test_attach_names_are_made_clean_and_kept_inside_the_export(aname, attached):
    assert confine(aname, ["/proc", "/tmp"]) == attached
    assert confine(aname, ["/"]) == attached


@pytest.mark.parametrize("aname", ["/bin", "/tmp/../bin", "/procx", "/pro", "tmp", "proc/1", "//bin", "/dev/../bin"])
def test_attach_names_outside_the_export_are_refused(aname):
    with pytest.raises(NinepError) as info:
        confine(aname, ["/proc", "/tmp", "/dev"])
    assert info.value.errno == errno.ENOENT


def test_the_root_of_an_export_of_several_paths_holds_only_them(dialect):
    client, _ = local_client(_namespace_export(), dialect)
    root, _ = client.attach("/")
    listing, _ = client.walk(root, ())
    client.open(listing, 0)
    assert sorted(name for name, _ in client.readdir(listing)) == ["dev", "proc", "tmp"]
    for names in (["bin"], ["..", "bin"], ["tmp", "..", "..", "bin"]):
        with pytest.raises(RemoteError) as info:
            client.walk(root, names)
        assert info.value.errno == errno.ENOENT or len(names) > 1
    _, qids = client.walk(root, ["tmp", "..", ".."])
    assert qids[-1] == client.stat(root)["qid"]  # .. stops at the attach point
    for attempt in (lambda: client.create(client.walk(root, ())[0], "new", 0o644, 0o101),
                    lambda: client.mkdir(root, "new", 0o755), lambda: client.unlink(root, "tmp", True)):
        with pytest.raises(RemoteError) as info:
            attempt()
        assert info.value.errno == errno.EPERM
    with pytest.raises(RemoteError):
        client.attach("/bin")


def remote_errno(call) -> int:  # noqa: ANN001
    with pytest.raises(RemoteError) as info:
        call()
    return info.value.errno


def test_a_read_only_server_refuses_with_erofs_and_a_refused_remove_clunks_its_fid(dialect):
    client, session = local_client(tree(), dialect, writable=False)
    root, _ = client.attach("")
    tmp, _ = client.walk(root, ["tmp"])
    assert remote_errno(lambda: client.create(client.walk(tmp, ())[0], "new", 0o644, 0o101)) == errno.EROFS
    assert remote_errno(lambda: client.open(client.walk(tmp, ["hello.txt"])[0], 1)) == errno.EROFS
    fid, _ = client.walk(tmp, ["hello.txt"])
    assert remote_errno(lambda: client.remove(fid)) == errno.EROFS
    assert fid not in session.fids
    unknown = Message("Tremove", fid=4242)  # not a fid at all: refused as a change all the same
    assert remote_errno(lambda: client.rpc(unknown, "Rremove")) == errno.EROFS
    if dialect == "9P2000":
        orclose = Message("Topen", fid=client.walk(tmp, ["hello.txt"])[0], mode=proto.ORCLOSE)
        assert remote_errno(lambda: client.rpc(orclose, "Ropen")) == errno.EROFS


def test_protocol_errors_are_eproto_and_attach_rules():
    session = Session(tree(), writable=True)

    def code(message: Message) -> int:
        return session.handle(message).ecode

    before = session.handle(Message("Tclunk", 1, fid=1))  # before Tversion: no dialect yet, 9P2000's error
    assert before.type == "Rerror" and before.ename == os.strerror(errno.EPROTO)
    session.handle(Message("Tversion", NOTAG, msize=MSIZE, version="9P2000.L"))
    assert code(Message("Rclunk", 2)) == errno.EPROTO  # a reply is not a request
    assert code(Message("Tattach", 3, fid=7, afid=1, uname="u", aname="", n_uname=0)) == errno.EINVAL
    assert (
        session.handle(Message("Tattach", 4, fid=7, afid=NOFID, uname="u", aname="", n_uname=0)).type
        == "Rattach"
    )
    assert (
        code(Message("Tattach", 5, fid=7, afid=NOFID, uname="u", aname="", n_uname=0)) == errno.EBADF
    )  # in use


def test_walks_from_open_fids_and_in_place(dialect):
    client, _ = local_client(tree(), dialect)
    root, _ = client.attach("")
    tmp, _ = client.walk(root, ["tmp"])
    client.open(tmp, 0)
    clone, _ = client.walk(tmp, ["hello.txt"])  # from an open fid to a new one: diodls does this
    client.open(clone, 0)
    assert client.read(clone, 0, 100) == b"hello, world\n"
    move = Message("Twalk", fid=tmp, newfid=tmp, wnames=("sub",))
    assert remote_errno(lambda: client.rpc(move, "Rwalk")) == errno.EBADF  # an open fid stays put
    here, _ = client.walk(root, ())
    client.rpc(Message("Twalk", fid=here, newfid=here, wnames=("tmp", "sub", "deep.txt")), "Rwalk")
    client.open(here, 0)
    assert client.read(here, 0, 100) == b"deep"  # walked in place
    for names in (["."], ["/"], ["//"], ["tmp", ".", "hello.txt"]):
        _, qids = client.walk(root, names)
        assert len(qids) == len(names)
    assert remote_errno(lambda: client.walk(root, ["tmp/hello.txt"])) == errno.ENOENT
    assert remote_errno(lambda: client.walk(root, [""])) == errno.ENOENT
    file_fid, _ = client.walk(root, ["tmp", "hello.txt"])
    for names in (["x"], [".."], ["."]):  # a file has no names, not even its directory's
        assert remote_errno(lambda names=names: client.walk(file_fid, names)) == errno.ENOTDIR, names


def test_open_modes_and_their_errors(dialect):
    fs = tree()
    fs.add("/top.txt", b"top")
    client, _ = local_client(fs, dialect)
    root, _ = client.attach("")
    fid, _ = client.walk(root, ["tmp", "hello.txt"])
    client.open(fid, 0)
    assert remote_errno(lambda: client.open(fid, 0)) == errno.EBADF  # already open
    directory, _ = client.walk(root, ["tmp"])
    assert remote_errno(lambda: client.open(directory, 1)) == errno.EISDIR
    if dialect == "9P2000":
        for mode in (0x20, 0x80, 0x20 | 0x80):  # OCEXEC and ODIRECT are accepted
            f, _ = client.walk(root, ["tmp", "hello.txt"])
            client.rpc(Message("Topen", fid=f, mode=mode), "Ropen")
        for mode in (0x04, 0x08, 0x100 & 0xFF | 0x01 << 2):
            f, _ = client.walk(root, ["tmp", "hello.txt"])
            assert (
                remote_errno(lambda f=f, mode=mode: client.rpc(Message("Topen", fid=f, mode=mode), "Ropen"))
                == errno.EINVAL
            )
        attach_point, _ = client.walk(root, ())
        assert (
            remote_errno(lambda: client.rpc(Message("Topen", fid=attach_point, mode=proto.ORCLOSE), "Ropen"))
            == errno.EPERM
        )
        top, _ = client.walk(root, ["top.txt"])  # right under the attach point
        client.rpc(Message("Topen", fid=top, mode=proto.ORCLOSE), "Ropen")
        client.clunk(top)
        assert "top.txt" not in fs.root.children


def test_writes_append_and_are_no_larger_than_the_iounit():
    fs = tree()
    client, _ = local_client(fs, "9P2000.L")
    root, _ = client.attach("")
    fid, _ = client.walk(root, ["tmp", "hello.txt"])
    client.open(fid, 0o2001)  # O_WRONLY | O_APPEND
    client.rpc(Message("Twrite", fid=fid, offset=0, data=b"more\n"), "Rwrite")
    assert bytes(fs.root.walk("tmp").walk("hello.txt").data) == b"hello, world\nmore\n"
    big = Message("Twrite", fid=fid, offset=0, data=b"x" * (client.iounit + 1))
    assert remote_errno(lambda: client.rpc(big, "Rwrite")) == errno.EMSGSIZE
    plain, _ = client.walk(root, ["tmp", "sub", "deep.txt"])
    client.open(plain, 1)
    client.rpc(Message("Twrite", fid=plain, offset=1, data=b"E"), "Rwrite")
    assert bytes(fs.root.walk("tmp").walk("sub").walk("deep.txt").data) == b"dEep"


@pytest.mark.parametrize("name", ["", ".", "..", "a/b", "a\0b"])
def test_bad_names_to_create_are_einval(dialect, name):
    client, _ = local_client(tree(), dialect)
    root, _ = client.attach("")
    tmp, _ = client.walk(root, ["tmp"])
    assert remote_errno(lambda: client.create(client.walk(tmp, ())[0], name, 0o644, 0o101)) == errno.EINVAL


def test_names_of_255_bytes_are_fine_and_256_too_long(dialect):
    client, _ = local_client(tree(), dialect)
    root, _ = client.attach("")
    tmp, _ = client.walk(root, ["tmp"])
    client.create(client.walk(tmp, ())[0], "é" * 127 + "x", 0o644, 0o101)  # 255 bytes
    assert (
        remote_errno(lambda: client.create(client.walk(tmp, ())[0], "é" * 128, 0o644, 0o101))
        == errno.ENAMETOOLONG
    )



def test_a_walk_takes_each_name_as_one_name(dialect):
    """Names of slashes alone are "." (p9fs walks "/"), any other name with a slash is no name at
    all, never handed to the backend as a path; other names, whatever their letters, are names."""
    fs = tree()
    fs.add("/tmp/X", b"x")
    fs.root.children["tmp"].children["sub/deep.txt"] = fs.root.children["tmp"].children["sub"]
    client, _ = local_client(fs, dialect)
    root, _ = client.attach("")
    fid, qids = client.walk(root, ["tmp", "X"])
    assert [q.type for q in qids] == [proto.QTDIR, proto.QTFILE] and client.open(fid, 0)
    assert read_all(client, fid) == b"x"
    fid, qids = client.walk(root, ["tmp", "//", "sub"])
    assert [q.type for q in qids] == [proto.QTDIR, proto.QTDIR, proto.QTDIR]
    for names in (["tmp", "sub/deep.txt"], ["tmp/sub"]):
        with pytest.raises(RemoteError) as info:
            client.walk(root, names)
        assert info.value.errno == errno.ENOENT, names


HOT = st.sampled_from(["Twalk", "Tgetattr", "Tclunk", "Tlopen", "Topen", "Tread", "Twrite", "Tlcreate",
                       "Tremove"])
HOT_NAMES = st.sampled_from(["tmp", "proc", "hello.txt", "sub", "deep.txt", "1", "status", "..", ".", "x", "é"])
#: most requests whole, so that a sequence gets somewhere before a broken frame ends it
RARE_MUTATION = st.tuples(st.sampled_from(["none"] * 8 + ["truncate", "flip", "resize", "extend"]), u32, u32)
#: mostly paths that exist, so that opens and reads get somewhere
HOT_PATHS = st.one_of(
    st.sampled_from([("tmp", "hello.txt"), ("tmp", "sub", "deep.txt"), ("proc", "1", "status"), ("tmp",), ()]),
    st.lists(HOT_NAMES, max_size=3).map(tuple),
)


def _hot_request(kind: str, fid: int, other: int, names: tuple, number: int) -> Message:
    fields = {
        "Twalk": dict(fid=fid, newfid=other, wnames=names),
        "Tgetattr": dict(fid=fid, request_mask=0x7FF),
        "Tclunk": dict(fid=fid),
        "Tlopen": dict(fid=fid, flags=[0, 1, 2, 0o1000, 0o2000][number % 5]),
        "Topen": dict(fid=fid, mode=[0, 1, proto.ORCLOSE, proto.OTRUNC | 1][number % 4]),
        "Tread": dict(fid=fid, offset=number, count=[0, 3, 100, 1 << 20][number % 4]),
        "Twrite": dict(fid=fid, offset=number, data=b"written"),
        "Tlcreate": dict(fid=fid, name=names[0] if names else "new", flags=number % 3, mode=0o644, gid=0),
        "Tremove": dict(fid=fid),
    }[kind]
    return Message(kind, number if number < 5 else NOTAG, **fields)


def _with_paths_from(start: int, session: Session, frame: bytes) -> bytes:
    """The session's replies to ``frame``, files it creates numbered from ``start`` (MemFS
    numbers its files from one counter: two trees must create theirs with the same numbers)."""
    kept = memfs._paths
    memfs._paths = itertools.count(start)
    try:
        return session.receive(frame)
    finally:
        memfs._paths = kept


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(HOT, st.sampled_from([1, 2, 3, NOFID]), st.sampled_from([1, 2, 3]),
                          HOT_PATHS, st.integers(0, 5), RARE_MUTATION),
                max_size=20),
       st.sampled_from(DIALECTS), st.booleans())
def test_the_fast_path_answers_byte_for_byte_as_the_general_one(requests, dialect, writable):
    """Walks, getattrs, clunks, opens and reads are handled in place when they are plain: the
    replies, their errors and what closes the connection are those of the general path."""
    frames = []
    for kind, fid, other, names, number, how in requests:
        try:
            data = proto.encode(_hot_request(kind, fid, other, names, number), "9P2000.L")
        except (ValueError, struct.error):
            continue
        frames.append(_mutate(data, how))
    _same_on_both_paths(frames, dialect, writable)


def _same_on_both_paths(frames: list[bytes], dialect: str, writable: bool) -> None:
    files = tree()
    fast = Session(files, writable=writable, max_msize=MSIZE)
    general = Session(copy.deepcopy(files), writable=writable, max_msize=MSIZE)  # the same qids
    general._fast = {}
    version = proto.encode(Message("Tversion", NOTAG, msize=MSIZE, version=dialect), dialect)
    attach = Message("Tattach", 1, fid=1, afid=NOFID, uname="u", aname="", n_uname=0)
    for session in (fast, general):
        session.receive(version)
        session.receive(proto.encode(attach, dialect))
    start = 1 << 40
    for frame in frames:
        assert _with_paths_from(start, fast, frame) == _with_paths_from(start, general, frame)
        start += 1000
        assert fast.closed == general.closed
        assert sorted(fast.fids) == sorted(general.fids)
        if fast.closed:
            break


def _frames(*requests: tuple) -> list[bytes]:
    return [proto.encode(Message(kind, tag, **fields), "9P2000.L") for kind, tag, fields in requests]


HELLO = ("Twalk", 2, dict(fid=1, newfid=2, wnames=("tmp", "hello.txt")))
#: each case ends in what the fast path must leave to the general one, or answer as it does
FALLBACKS = {
    "read of a write-only fid": _frames(HELLO, ("Tlopen", 3, dict(fid=2, flags=1)),
                                        ("Tread", 4, dict(fid=2, offset=0, count=10))),
    "read of an unopened fid": _frames(HELLO, ("Tread", 4, dict(fid=2, offset=0, count=10))),
    "read past the iounit": _frames(HELLO, ("Tlopen", 3, dict(fid=2, flags=2)),
                                    *[("Twrite", 4, dict(fid=2, offset=n, data=b"x" * 8000)) for n in (0, 8000)],
                                    ("Tread", 5, dict(fid=2, offset=1, count=1 << 30))),
    "read of a directory": _frames(("Twalk", 2, dict(fid=1, newfid=2, wnames=("tmp",))),
                                   ("Tlopen", 3, dict(fid=2, flags=0)), ("Topen", 3, dict(fid=2, mode=0)),
                                   ("Tread", 4, dict(fid=2, offset=0, count=100))),
    "clunk of a remove-on-clunk fid": _frames(HELLO, ("Topen", 3, dict(fid=2, mode=proto.ORCLOSE)),
                                              ("Tclunk", 4, dict(fid=2)),
                                              ("Twalk", 5, dict(fid=1, newfid=2, wnames=("tmp", "hello.txt")))),
    "clunk of an unknown fid": _frames(("Tclunk", 4, dict(fid=9))),
    "getattr of an unknown fid": _frames(("Tgetattr", 4, dict(fid=9, request_mask=0x7FF))),
    "walk of an open fid to itself": _frames(HELLO, ("Tlopen", 3, dict(fid=2, flags=0)),
                                             ("Twalk", 4, dict(fid=2, newfid=2, wnames=()))),
    "walk to a fid in use": _frames(HELLO, HELLO),
    "walk failing at the first name": _frames(("Twalk", 2, dict(fid=1, newfid=2, wnames=("nope",)))),
    "walk failing at the second name": _frames(("Twalk", 2, dict(fid=1, newfid=2, wnames=("tmp", "nope")))),
    "walk through a file": _frames(("Twalk", 2, dict(fid=1, newfid=2, wnames=("tmp", "hello.txt", "x")))),
    "walk of many names": _frames(("Twalk", 2, dict(fid=1, newfid=2, wnames=("tmp", "sub", "..", "sub",
                                                                             "deep.txt")))),
    "open twice": _frames(HELLO, ("Tlopen", 3, dict(fid=2, flags=0)), ("Tlopen", 4, dict(fid=2, flags=0))),
    "open for writing": _frames(HELLO, ("Tlopen", 3, dict(fid=2, flags=0o1001))),
    "NOTAG": _frames(("Tgetattr", NOTAG, dict(fid=1, request_mask=0x7FF))),
}


@pytest.mark.parametrize("case", list(FALLBACKS))
@pytest.mark.parametrize("writable", [False, True])
def test_the_fast_path_leaves_the_rest_to_the_general_one(case, dialect, writable):
    frames = FALLBACKS[case]
    broken = [struct.pack("<I", len(f) + 1) + f[4:] + b"\0" for f in frames]  # a byte too many
    _same_on_both_paths(frames, dialect, writable)
    _same_on_both_paths(broken, dialect, writable)


def test_a_listing_answered_in_place_sees_a_file_change_at_once():
    """Tgetattr on the fast path asks the backend each time: a write between two listings shows."""
    fs = tree()
    client, session = local_client(fs, "9P2000.L")
    assert session._fast  # the plain requests below are answered in place
    root, _ = client.attach("")
    fid, _ = client.walk(root, ["tmp", "hello.txt"])
    assert client.stat(fid)["size"] == 13
    writer, _ = client.walk(root, ["tmp", "hello.txt"])
    client.open(writer, os.O_WRONLY)
    client.write(writer, 13, b"more")
    assert client.stat(fid)["size"] == 17
    client.open(fid, os.O_RDONLY)
    assert read_all(client, fid) == b"hello, world\nmore"


def test_the_namespace_export_answers_a_changed_file_with_its_new_attributes():
    """Attributes are made once per stat the device keeps (#tmpfs keeps one while a file is
    unchanged): a write, a chmod or a truncate shows in the next getattr, through any fid."""
    client, _ = local_client(_namespace_export(), "9P2000.L")
    top, _ = client.attach("/tmp")
    client.create(client.walk(top, ())[0], "f", 0o644, os.O_WRONLY)
    watcher, _ = client.walk(top, ["f"])
    before = client.stat(watcher)
    assert (before["size"], before["mode"] & 0o777) == (0, 0o644)
    assert client.stat(watcher) == before  # unchanged: the same answer
    writer, _ = client.walk(top, ["f"])
    client.open(writer, os.O_WRONLY)
    client.write(writer, 0, b"twelve bytes")
    assert client.stat(watcher)["size"] == 12
    client.rpc(Message("Tsetattr", fid=watcher, valid=0x1, mode=0o600, uid=0, gid=0, size=0, atime_sec=0,
                       atime_nsec=0, mtime_sec=0, mtime_nsec=0), "Rsetattr")
    client.truncate(watcher, 5)
    after = client.stat(watcher)
    assert (after["size"], after["mode"] & 0o777) == (5, 0o600)
    again, _ = client.walk(top, ["f"])
    assert client.stat(again) == after


def test_a_long_listing_shows_each_change_made_between_two_listings():
    """diodls -l's pattern (readdir, then walk, getattr and clunk per entry) answered from kept
    attributes and packed replies: a write, an mtime set and a truncate made through another
    connection in between show in the next listing, each entry as its file now is."""
    export = _namespace_export()
    lister, _ = local_client(export, "9P2000.L")
    writer, _ = local_client(export, "9P2000.L")
    top, _ = writer.attach("/tmp")
    writer.mkdir(top, "dir", 0o755)
    for name in ("a", "b", "c"):
        made, _ = writer.walk(top, ["dir"])
        writer.create(made, name, 0o644, os.O_WRONLY)
        writer.write(made, 0, name.encode() * 3)
        writer.clunk(made)
    directory, _ = lister.attach("/tmp/dir")

    def long_listing() -> dict[str, tuple[int, int, int]]:
        listed, _ = lister.walk(directory, [])
        lister.open(listed, os.O_RDONLY)
        names = [name for name, _ in lister.readdir(listed) if name not in (".", "..")]
        lister.clunk(listed)
        seen = {}
        for name in names:
            entry, _ = lister.walk(directory, [name])
            attr = lister.stat(entry)
            seen[name] = (attr["size"], attr["mtime"], attr["mtime_nsec"])
            lister.clunk(entry)
        return seen

    def as_the_device_has_it(name: str) -> tuple[int, int, int]:
        chan = export.namespace.walk(f"/tmp/dir/{name}")
        d = chan.driver.stat(chan)
        return d.length, (export.epoch_ns + d.mtime) // 10**9, (export.epoch_ns + d.mtime) % 10**9

    first = long_listing()
    assert first == long_listing() == {name: as_the_device_has_it(name) for name in "abc"}
    changed, _ = writer.walk(top, ["dir", "b"])
    writer.open(changed, os.O_WRONLY)
    writer.write(changed, 9, b"more")
    writer.rpc(Message("Tsetattr", fid=changed, valid=0x20 | 0x100, mode=0, uid=0, gid=0, size=0,
                       atime_sec=0, atime_nsec=0, mtime_sec=1234, mtime_nsec=5678), "Rsetattr")
    cut, _ = writer.walk(top, ["dir", "c"])
    writer.truncate(cut, 1)
    second = long_listing()
    assert second["a"] == first["a"]
    assert second["b"] == (13, 1234, 5678) == as_the_device_has_it("b")
    assert second["c"][0] == 1 and second["c"] == as_the_device_has_it("c")
