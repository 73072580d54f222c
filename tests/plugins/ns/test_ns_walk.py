"""Walking a namespace (plugins/ns/namespace.py): absolute, relative and #device paths, lexical
'..', unions and mount points, the errors, and the remembered walks staying true."""

from __future__ import annotations

import io

import pytest

from kernkit.core.assemble import assemble, boot
from kernkit.core.devices import DMDIR, ORDWR, OREAD, QTSYMLINK, DeviceError
from kernkit.plugins.ns.api import MAFTER, MBEFORE, MCREATE, MREPL, boot_namespace


@pytest.fixture
def ns():
    kernel = assemble(None, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    boot(kernel)
    namespace = boot_namespace(kernel).copy()
    for directory in ("/tmp/d", "/tmp/d/e"):
        parent, name = namespace.walk_parent(directory)
        namespace.create(parent, name, OREAD, DMDIR | 0o755)
    put(namespace, "/tmp/d/file", "in d")
    put(namespace, "/tmp/d/e/deep", "deep")
    for name in ("a", "b"):
        put(namespace, f"#tmpfs.{name}/common", name)
        put(namespace, f"#tmpfs.{name}/only_{name}", name)
    yield namespace
    kernel.shutdown()


def put(ns, path: str, text: str) -> None:  # noqa: ANN001
    directory, name = ns.walk_parent(path)
    chan = ns.create(directory, name, ORDWR, 0o644)
    chan.driver.write(chan, text.encode(), 0)


def read(ns, path: str, base=None) -> str:  # noqa: ANN001
    chan = ns.open(ns.walk(path, base), OREAD)
    return chan.driver.read(chan, 100, 0).decode()


def error(call) -> str:  # noqa: ANN001
    with pytest.raises(DeviceError) as info:
        call()
    return info.value.code


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/", "/"),
        ("/tmp", "/tmp"),
        ("/tmp/d/file", "/tmp/d/file"),
        ("/tmp//d///file", "/tmp/d/file"),
        ("/tmp/./d/./file", "/tmp/d/file"),
        ("/tmp/d/", "/tmp/d"),
        ("/tmp/d/e/../file", "/tmp/d/file"),
        ("/tmp/d/e/../../d/file", "/tmp/d/file"),
        ("/../../tmp/d", "/tmp/d"),
        ("/tmp/..", "/"),
        ("/..", "/"),
        ("#tmpfs.a", "#tmpfs.a"),
        ("#tmpfs.a/common", "#tmpfs.a/common"),
        ("#tmpfs.a/../..", "#tmpfs.a"),
        ("#tmpfs.a/../only_a", "#tmpfs.a/only_a"),
    ],
)
def test_a_walk_names_what_it_found_as_a_clean_path(ns, path, named):
    chan = ns.walk(path)
    assert chan.path == named
    assert chan.qid == ns.walk(named).qid


def test_relative_paths_start_at_the_base_and_dotdot_is_lexical(ns):
    d = ns.walk("/tmp/d")
    assert read(ns, "file", d) == "in d"
    assert ns.walk("e/deep", d).path == "/tmp/d/e/deep"
    assert ns.walk("e/..", d).path == "/tmp/d" and ns.walk(".", d).path == "/tmp/d"
    assert ns.walk("../d/e/../file", d).path == "/tmp/d/file"
    assert ns.walk("../../../..", d).path == "/"
    root = ns.walk("/")
    assert ns.walk("tmp/d", root).path == "/tmp/d"  # relative to /: no double slash
    assert error(lambda: ns.walk("file")) == "ENOENT"  # relative, and nothing to start from
    device = ns.walk("#tmpfs.a")
    assert ns.walk("only_a", device).path == "#tmpfs.a/only_a"
    assert ns.walk("..", device).path == "#tmpfs.a"  # never above a device's root


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("", "ENOENT"),
        ("/nope", "ENOENT"),
        ("/tmp/d/nope", "ENOENT"),
        ("/tmp/./nope", "ENOENT"),
        ("/tmp/d/file/x", "ENOTDIR"),
        ("/tmp/d/./file/x", "ENOTDIR"),
        ("/tmp/d/file/", "ENOTDIR"),
        ("/tmp/" + "n" * 256, "ENAMETOOLONG"),
        ("/tmp/./" + "n" * 256, "ENAMETOOLONG"),
        ("/" + "d/" * 2048, "ENAMETOOLONG"),
        ("#nosuchdevice/x", "ENOENT"),
    ],
)
def test_walk_errors(ns, path, code):
    assert error(lambda: ns.walk(path)) == code


def test_a_name_of_255_bytes_is_fine():
    kernel = assemble(None, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    boot(kernel)
    ns = boot_namespace(kernel).copy()
    put(ns, "/tmp/" + "n" * 255, "long")
    assert read(ns, "/tmp/" + "n" * 255) == "long" and read(ns, "/tmp/./" + "n" * 255) == "long"
    kernel.shutdown()


def test_unions_walk_their_members_in_order_whatever_the_path(ns):
    ns.bind(ns.walk("#tmpfs.a"), ns.walk("/tmp/d/e"), MREPL)
    ns.bind(ns.walk("#tmpfs.b"), ns.walk("/tmp/d/e"), MAFTER)
    for path in ("/tmp/d/e/common", "/tmp/d/./e/common", "/tmp/d/e/../e/common"):
        assert read(ns, path) == "a", path
    assert read(ns, "/tmp/d/e/only_b") == "b" and read(ns, "/tmp/./d/e/only_b") == "b"
    assert error(lambda: ns.walk("/tmp/d/e/deep")) == "ENOENT"  # replaced: e's own file is hidden
    assert ns.walk("/tmp/d/e/common").path == "/tmp/d/e/common"
    ns.bind(ns.walk("#tmpfs.b"), ns.walk("/tmp/d/e"), MBEFORE)
    assert read(ns, "/tmp/d/e/common") == "b"  # a remembered walk does not outlive a bind
    assert read(ns, "/tmp/d/./e/common") == "b"
    e = ns.walk("/tmp/d/e")
    assert read(ns, "common", e) == "b" and read(ns, "only_a", e) == "a"


def test_a_mount_on_the_root_is_entered(ns):
    ns.bind(ns.walk("#tmpfs.a"), ns.walk("/"), MREPL)
    assert read(ns, "/common") == "a" and read(ns, "/./only_a") == "a"
    assert sorted(e.name for e in ns.dirread(ns.walk("/"))) == ["common", "only_a"]


def test_a_file_bound_on_a_file_shows_through(ns):
    ns.bind(ns.walk("#tmpfs.b/only_b"), ns.walk("/tmp/d/file"), MREPL)
    assert read(ns, "/tmp/d/file") == "b" and read(ns, "/tmp/d/./file") == "b"
    assert read(ns, "file", ns.walk("/tmp/d")) == "b"


def test_remembered_walks_follow_creates_and_removes(ns):
    assert error(lambda: ns.walk("/tmp/d/new")) == "ENOENT"
    put(ns, "/tmp/d/new", "new")
    assert read(ns, "/tmp/d/new") == "new"
    ns.remove(ns.walk("/tmp/d/new"))
    assert error(lambda: ns.walk("/tmp/d/new")) == "ENOENT"
    put(ns, "/tmp/d/new", "again")
    assert read(ns, "/tmp/d/new") == "again"
    assert read(ns, "/tmp/d/new") == "again"  # from memory, still right


def test_walks_through_devices_that_cannot_tell_when_names_change(ns):
    # /proc's directories change with the processes: its walks are never remembered wrongly
    assert ns.walk("/proc/1/status").path == "/proc/1/status"
    assert error(lambda: ns.walk("/proc/99/status")) == "ENOENT"
    assert ns.walk("/proc/1/status").qid == ns.walk("/proc/./1/status").qid


@pytest.mark.parametrize(
    ("path", "parent", "name"),
    [
        ("/tmp/d/file", "/tmp/d", "file"),
        ("/tmp/d/nope", "/tmp/d", "nope"),
        ("/tmp", "/", "tmp"),
        ("/", "/", ""),
        ("/tmp/d/e/../x", "/tmp/d", "x"),
        ("#tmpfs.a/x", "#tmpfs.a", "x"),
        ("#tmpfs.a", "#tmpfs.a", ""),
    ],
)
def test_walk_parent_names_the_directory_and_the_last_name(ns, path, parent, name):
    chan, last = ns.walk_parent(path)
    assert (chan.path, last) == (parent, name)
    assert chan.qid == ns.walk(parent).qid


def test_walk_parent_relative_and_errors(ns):
    d = ns.walk("/tmp/d")
    chan, last = ns.walk_parent("e/x", d)
    assert (chan.path, last) == ("/tmp/d/e", "x")
    chan, last = ns.walk_parent("x", d)
    assert (chan.path, last) == ("/tmp/d", "x")
    assert error(lambda: ns.walk_parent("/tmp/d/file/x")) == "ENOTDIR"
    assert error(lambda: ns.walk_parent("/tmp/nope/x")) == "ENOENT"
    assert error(lambda: ns.walk_parent("/tmp/d/" + "n" * 256)) == "ENAMETOOLONG"
    assert error(lambda: ns.walk_parent("/tmp/" + "n" * 256 + "/x")) == "ENAMETOOLONG"
    assert error(lambda: ns.walk_parent("")) == "ENOENT"


def test_a_remembered_walk_is_checked_against_every_directory_it_went_through(ns):
    ns.bind(ns.walk("#tmpfs.a"), ns.walk("/"), MREPL | MCREATE)  # / itself changes now
    assert read(ns, "/common") == "a"
    ns.remove(ns.walk("/common"))
    assert error(lambda: ns.walk("/common")) == "ENOENT"
    put(ns, "/tmp_like", "new")
    assert read(ns, "/tmp_like") == "new"


def test_what_a_walk_returns_is_the_callers_own(ns):
    d = ns.walk("/tmp/d")
    for chan in (
        ns.walk(".", d),
        ns.walk("/tmp/d/."),
        ns.walk_parent("x", d)[0],
        ns.walk_parent("/tmp")[0],
        ns.walk_parent("/")[0],
        ns.walk("/"),
    ):
        chan.path = "changed by the caller"
    assert d.path == "/tmp/d"
    assert ns.walk("/tmp").path == "/tmp" and ns.walk("/").path == "/" and ns.walk("/tmp/.").path == "/tmp"


def test_a_path_of_4096_bytes_is_too_long():
    kernel = assemble(None, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    boot(kernel)
    ns = boot_namespace(kernel)
    path = "/tmp" + "/." * 2045 + "/"  # 4095 bytes: walks
    assert len(path) == 4095 and ns.walk(path).path == "/tmp"
    assert error(lambda: ns.walk(path + ".")) == "ENAMETOOLONG"
    kernel.shutdown()


def test_a_bind_on_a_device_root_is_seen_through_its_name(ns):
    ns.bind(ns.walk("#tmpfs.b"), ns.walk("#tmpfs.a"), MREPL)
    assert read(ns, "#tmpfs.a/only_b") == "b"
    assert error(lambda: ns.walk("#tmpfs.a/only_a")) == "ENOENT"


def test_walk_errors_say_what_was_wrong(ns):
    for call, message in (
        (lambda: ns.walk(""), "empty path"),
        (lambda: ns.walk("x"), "relative path without a directory"),
    ):
        with pytest.raises(DeviceError) as info:
            call()
        assert info.value.message == message


@pytest.fixture
def linked(ns):
    d = ns.walk("/tmp/d")
    ns.symlink(d, "ln", "e")  # relative: to /tmp/d/e
    ns.symlink(ns.walk("/tmp"), "abs", "/tmp/d/file")
    ns.symlink(ns.walk("/tmp"), "dev", "#tmpfs.a")
    ns.symlink(ns.walk("/tmp"), "loop", "loop")
    return ns


def test_symbolic_links_are_followed_on_the_way_and_at_the_end_when_asked(linked):
    ns = linked
    assert read(ns, "/tmp/d/ln/deep") == "deep" and read(ns, "/tmp/./d/ln/deep") == "deep"
    assert ns.walk("/tmp/d/ln/deep").path == "/tmp/d/e/deep"
    assert read(ns, "/tmp/abs") == "in d" and read(ns, "/tmp/dev/only_a") == "a"
    link = ns.walk("/tmp/abs", follow=False)
    assert link.qid.type & QTSYMLINK and ns.walk("/tmp/./abs", follow=False).qid.type & QTSYMLINK
    for asks_for_a_directory in ("/tmp/d/ln/", "/tmp/d/ln/."):
        chan = ns.walk(asks_for_a_directory, follow=False)
        assert not chan.qid.type & QTSYMLINK and chan.qid == ns.walk("/tmp/d/e").qid
    d = ns.walk("/tmp/d")
    assert (
        ns.walk("ln", d, follow=False).qid.type & QTSYMLINK
        and ns.walk("ln", d).qid == ns.walk("/tmp/d/e").qid
    )
    assert ns.walk("/tmp/d/ln/..").path == "/tmp/d"  # .. climbs from where the link led
    assert error(lambda: ns.walk("/tmp/loop")) == "ELOOP"
    assert error(lambda: ns.walk("/tmp/./loop")) == "ELOOP"


def test_repeated_and_trailing_slashes_walk_as_the_clean_path(linked):
    """'//' is '/', and a trailing '/' asks for a directory (following a link there), whether
    the walk is remembered or not."""
    ns = linked
    for _ in range(2):  # the second walk of each path may be served from memory
        assert ns.walk("//tmp//d//").path == "/tmp/d"
        assert ns.walk("/tmp//abs", follow=False).qid.type & QTSYMLINK
        assert ns.walk("/tmp//d//ln//", follow=False).qid == ns.walk("/tmp/d/e").qid
        assert read(ns, "/tmp//d//ln//deep") == "deep"
        assert error(lambda: ns.walk("/tmp/abs/")) == "ENOTDIR"  # a link to a file
        assert error(lambda: ns.walk("/tmp//d/file//")) == "ENOTDIR"
        assert error(lambda: ns.walk("/tmp//nope/")) == "ENOENT"
        assert error(lambda: ns.walk("/tmp//loop/")) == "ELOOP"
    assert read(ns, "/tmp//d//file") == "in d"
    ns.bind(ns.walk("#tmpfs.a"), ns.walk("/tmp/d/e"), MREPL)
    assert read(ns, "/tmp//d//e//common") == "a"  # what was remembered does not outlive a bind
    assert ns.walk("/tmp//d/e/").qid == ns.walk("#tmpfs.a").qid


def test_walk_parent_follows_links_on_the_way_not_the_last(linked):
    ns = linked
    chan, name = ns.walk_parent("/tmp/abs")
    assert (chan.path, name) == ("/tmp", "abs")
    chan, name = ns.walk_parent("/tmp/d/ln/deep")
    assert (chan.path, name) == ("/tmp/d/e", "deep") and chan.qid == ns.walk("/tmp/d/e").qid
    chan, name = ns.walk_parent("/tmp/d/ln/..")  # what it names, /tmp/d, then its parent
    assert (chan.path, name) == ("/tmp", "d")
    chan, name = ns.walk_parent("/tmp/d/e/..")
    assert (chan.path, name) == ("/tmp", "d")
    chan, name = ns.walk_parent("/tmp/..")
    assert (chan.path, name) == ("/", "") and chan.qid == ns.walk("/").qid
    chan, name = ns.walk_parent("#tmpfs.a/..")
    assert (chan.path, name) == ("#tmpfs.a", "") and chan.qid == ns.walk("#tmpfs.a").qid
    assert error(lambda: ns.walk_parent("/tmp/abs/x")) == "ENOTDIR"


def test_forty_links_in_a_row_are_followed_and_the_forty_first_is_a_loop(ns):
    tmp = ns.walk("/tmp")
    for chain in ("a", "b"):
        length = 40 if chain == "a" else 41
        ns.symlink(tmp, f"{chain}{length}", "/tmp/d/file")
        for i in range(length - 1, 0, -1):  # chain1 -> chain2 -> ... -> the file
            ns.symlink(tmp, f"{chain}{i}", f"{chain}{i + 1}")
    assert read(ns, "/tmp/a1") == "in d" and ns.walk("/tmp/a1").path == "/tmp/d/file"
    assert error(lambda: ns.walk("/tmp/b1")) == "ELOOP"


def test_where_links_lead_is_the_path_walked(linked):
    ns = linked
    tmp = ns.walk("/tmp")
    ns.symlink(tmp, "dotted", "./d/./e/./deep")
    ns.symlink(tmp, "devfile", "#tmpfs.a/only_a")
    assert ns.walk("/tmp/abs").path == "/tmp/d/file"
    assert ns.walk("/tmp/dotted").path == "/tmp/d/e/deep" and read(ns, "/tmp/dotted") == "deep"
    assert ns.walk("/tmp/dev/only_a").path == "#tmpfs.a/only_a"
    assert read(ns, "/tmp/devfile") == "a" and ns.walk("/tmp/devfile").path == "#tmpfs.a/only_a"
    assert ns.walk("../tmp/d", tmp).path == "/tmp/d"  # above where the walk started
    ns.bind(ns.walk("#tmpfs.b"), ns.walk("#tmpfs.a"), MREPL)  # a link to a device sees its binds
    assert read(ns, "/tmp/dev/only_b") == "b" and error(lambda: ns.walk("/tmp/dev/only_a")) == "ENOENT"


def test_an_empty_link_says_which_it_is(ns):
    ns.symlink(ns.walk("/tmp"), "empty", "")
    with pytest.raises(DeviceError) as info:
        ns.walk("/tmp/empty/x")
    assert (info.value.code, info.value.message) == ("ENOENT", "/tmp/empty: an empty symbolic link")
    with pytest.raises(DeviceError) as info:
        ns.walk_parent("")
    assert (info.value.code, info.value.message) == ("ENOENT", "empty path")


def test_a_link_that_stands_for_a_file_itself_leads_to_it(linked, monkeypatch):
    """Links whose driver gives a channel (Linux's /proc/PID/fd/N) lead to that file, wherever
    it is now; the text they would read as is not walked."""
    ns = linked
    tmp = ns.walk("/tmp")
    ns.symlink(tmp, "to_e", "/nowhere")
    ns.symlink(tmp, "to_root", "/nowhere")
    targets = {"/tmp/to_e": ns.walk("/tmp/d/e"), "/tmp/to_root": ns.walk("/")}

    def follow(self, chan, *, caller=None):  # noqa: ANN001, ANN202, ARG001
        target = targets.get(chan.path)
        return target.clone() if target is not None else None

    monkeypatch.setattr(type(tmp.driver), "follow", follow)
    assert read(ns, "/tmp/to_e/deep") == "deep" and ns.walk("/tmp/to_e/deep").path == "/tmp/d/e/deep"
    assert ns.walk("/tmp/to_e/..").path == "/tmp/d"
    assert ns.walk("/tmp/to_root/tmp/d").path == "/tmp/d" and read(ns, "/tmp/to_root/tmp/d/file") == "in d"
    assert read(ns, "/tmp/d/ln/deep") == "deep"  # links with no channel are walked as before


@pytest.mark.parametrize("devices", [["/tmp"], ["/", "/tmp"]])
def test_walks_through_a_device_that_cannot_tell_when_names_change_are_not_remembered(ns, monkeypatch, devices):
    for device in devices:  # /tmp's alone, or every device on the way
        monkeypatch.setattr(type(ns.walk(device).driver), "dirgen", lambda self, chan: None)
    assert read(ns, "/tmp/d/file") == "in d"
    ns.remove(ns.walk("/tmp/d/file"))
    assert error(lambda: ns.walk("/tmp/d/file")) == "ENOENT"
    put(ns, "/tmp/d/file", "again")
    assert read(ns, "/tmp/d/file") == "again"


def test_a_walk_that_ends_on_a_link_unfollowed_is_not_remembered_for_one_that_follows(linked):
    ns = linked
    assert ns.walk("/tmp/abs", follow=False).qid.type & QTSYMLINK  # as lstat sees it
    assert ns.walk("/tmp/abs").path == "/tmp/d/file" and read(ns, "/tmp/abs") == "in d"
    ns.remove(ns.walk("/tmp/d/file"))
    assert error(lambda: ns.walk("/tmp/abs")) == "ENOENT"


@pytest.mark.parametrize("remembered", [True, False])
def test_every_step_of_a_walk_tells_the_driver_who_asks(linked, monkeypatch, remembered):
    """Drivers answer for the calling thread (its /proc/self, its permissions): each walk step,
    link and union member gets the walk's caller, on every path through the walk; through a
    device that cannot tell when its names change (as /proc), every walk asks it again."""
    ns = linked
    drivers = {type(ns.walk("/").driver), type(ns.walk("/tmp").driver)}
    if not remembered:
        for driver in drivers:
            monkeypatch.setattr(driver, "dirgen", lambda self, chan: None)
    ns.bind(ns.walk("#tmpfs.b"), ns.walk("#tmpfs.a"), MAFTER)  # unions: members walked in turn
    ns.bind(ns.walk("#tmpfs.b"), ns.walk("/tmp/d/e"), MAFTER)
    seen = []
    for driver in drivers:
        for operation in ("walk", "readlink", "follow"):
            original = getattr(driver, operation)

            def spy(self, *args, caller=None, _original=original, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
                seen.append(caller)
                return _original(self, *args, caller=caller, **kwargs)

            monkeypatch.setattr(driver, operation, spy)
    me = object()
    d = ns.walk("/tmp/d")
    seen.clear()
    ns.walk("/tmp/d/ln/deep", caller=me)  # the clean path's walk and a link followed
    ns.walk("/tmp/./d/ln/../file", caller=me)  # the general walk, ".." past a link
    ns.walk("../d/file", d, caller=me)  # ".." above where the walk started
    ns.walk("#tmpfs.a/only_b", caller=me)  # a union's members
    ns.walk("/tmp/dev/only_b", caller=me)
    ns.walk("/tmp/d/e/only_b", caller=me)  # a union on the clean path
    ns.walk_parent("/tmp/d/ln/deep", caller=me)
    ns.walk_parent("/tmp/d/ln/..", caller=me)
    ns.walk_parent("/tmp/..", caller=me)  # a root: no parent
    assert seen and all(caller is me for caller in seen)


def test_a_remembered_walk_through_a_union_sees_a_name_made_in_an_earlier_member(ns):
    ns.bind(ns.walk("#tmpfs.b"), ns.walk("/tmp/d/e"), MBEFORE)  # /tmp/d/e: b's names, then its own
    assert read(ns, "/tmp/d/e/deep") == "deep"
    assert read(ns, "/tmp/d/e/deep") == "deep"  # remembered
    put(ns, "#tmpfs.b/deep", "b's")  # made in the union's first member
    assert read(ns, "/tmp/d/e/deep") == "b's"
    ns.remove(ns.walk("#tmpfs.b/deep"))
    assert read(ns, "/tmp/d/e/deep") == "deep"  # e's own shows through again
    ns.remove(ns.walk("/tmp/d/e/deep"))
    assert error(lambda: ns.walk("/tmp/d/e/deep")) == "ENOENT"


def test_a_remembered_walk_follows_a_change_in_any_directory_on_its_way(ns):
    assert read(ns, "/tmp/d/e/deep") == "deep"
    assert read(ns, "/tmp/d/e/deep") == "deep"  # remembered
    ns.remove(ns.walk("/tmp/d/e/deep"))
    ns.remove(ns.walk("/tmp/d/e"))  # the middle directory goes
    assert error(lambda: ns.walk("/tmp/d/e/deep")) == "ENOENT"
    put(ns, "/tmp/d/e", "now a file")
    assert error(lambda: ns.walk("/tmp/d/e/deep")) == "ENOTDIR"
    ns.remove(ns.walk("/tmp/d/e"))
    parent, name = ns.walk_parent("/tmp/d/e")
    ns.create(parent, name, OREAD, DMDIR | 0o755)
    put(ns, "/tmp/d/e/deep", "deeper")
    assert read(ns, "/tmp/d/e/deep") == "deeper"
    assert ns.walk("/tmp/d/e/deep").path == "/tmp/d/e/deep"


def test_a_remembered_walk_sees_a_bind_made_after_it(ns):
    assert read(ns, "/tmp/d/file") == "in d"
    assert read(ns, "/tmp/d/file") == "in d"  # remembered
    ns.bind(ns.walk("#tmpfs.a"), ns.walk("/tmp/d"), MREPL)
    assert read(ns, "/tmp/d/common") == "a"
    assert error(lambda: ns.walk("/tmp/d/file")) == "ENOENT"
