"""The namespace API file servers and personalities use (kernkit.plugins.ns), without a guest."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kernkit.core.assemble import assemble, boot
from kernkit.core.devices import DMDIR, ORDWR, OREAD, DeviceError, WouldBlock, Wstat
from kernkit.plugins.ns.api import MAFTER, MBEFORE, MCREATE, MREPL, boot_namespace, enter


@pytest.fixture
def kernel():
    kernel = assemble(None, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    boot(kernel)
    yield kernel
    kernel.shutdown()


def fresh(kernel):
    """A private copy of the boot namespace, with three tmpfs instances holding a file each."""
    namespace = boot_namespace(kernel).copy()
    for name in ("a", "b", "c"):
        top = namespace.walk(f"#tmpfs.{name}")
        for file in ("common", f"only_{name}"):
            chan = namespace.create(top, file, ORDWR, 0o644)
            chan.driver.write(chan, name.encode(), 0)
    return namespace


def read(namespace, path):
    chan = namespace.open(namespace.walk(path), OREAD)
    return chan.driver.read(chan, 100, 0).decode()


def listing(namespace, path):
    return [entry.name for entry in namespace.dirread(namespace.walk(path))]


def test_union_order_follows_the_bind_flags(kernel):
    ns = fresh(kernel)
    ns.bind(ns.walk("#tmpfs.a"), ns.walk("/tmp"), MREPL)
    assert read(ns, "/tmp/common") == "a"
    ns.bind(ns.walk("#tmpfs.b"), ns.walk("/tmp"), MAFTER)
    ns.bind(ns.walk("#tmpfs.c"), ns.walk("/tmp"), MBEFORE)
    assert read(ns, "/tmp/common") == "c"  # c before a before b
    assert listing(ns, "/tmp") == ["common", "only_c", "only_a", "only_b"]
    assert [read(ns, f"/tmp/only_{x}") for x in "abc"] == ["a", "b", "c"]
    with pytest.raises(DeviceError) as error:
        ns.create(ns.walk("/tmp"), "new", ORDWR, 0o644)
    assert error.value.code == "EACCES"  # no member was bound with MCREATE
    ns.bind(ns.walk("#tmpfs.b"), ns.walk("/tmp"), MAFTER | MCREATE)
    ns.create(ns.walk("/tmp"), "new", ORDWR, 0o644)
    assert "new" in listing(ns, "#tmpfs.b")
    ns.unmount(ns.walk("/tmp"), ns.walk("#tmpfs.c"))
    assert read(ns, "/tmp/common") == "a"


def test_a_bind_on_a_fresh_directory_keeps_the_directory_in_the_union(kernel):
    ns = fresh(kernel)
    ns.bind(ns.walk("#tmpfs.a"), ns.walk("/bin"), MAFTER)
    assert ns.describe().splitlines()[-2:] == ["bind /bin /bin", "bind -a '#tmpfs.a' /bin"]
    assert "hello" in listing(ns, "/bin") and "only_a" in listing(ns, "/bin")


def test_copies_do_not_see_each_others_binds(kernel):
    ns = fresh(kernel)
    twin = ns.copy()
    twin.bind(ns.walk("#tmpfs.a"), twin.walk("/tmp"), MREPL)
    assert read(twin, "/tmp/only_a") == "a"
    with pytest.raises(DeviceError):
        ns.walk("/tmp/only_a")


def test_walks_are_remembered_only_while_names_stay(kernel):
    ns = fresh(kernel)
    ns.bind(ns.walk("#tmpfs.a"), ns.walk("/tmp"), MREPL | MCREATE)
    assert read(ns, "/tmp/only_a") == "a"
    ns.remove(ns.walk("/tmp/only_a"))  # the walk above was remembered; the name is gone now
    with pytest.raises(DeviceError):
        ns.walk("/tmp/only_a")
    chan = ns.create(ns.walk("/tmp"), "only_a", ORDWR, 0o644)
    chan.driver.write(chan, b"again", 0)
    assert read(ns, "/tmp/only_a") == "again"
    ns.bind(ns.walk("#tmpfs.b"), ns.walk("/tmp"), MREPL)  # a bind forgets remembered walks
    assert read(ns, "/tmp/only_b") == "b"
    with pytest.raises(DeviceError):
        ns.walk("/tmp/only_a")


def test_mount_points_cannot_be_removed_or_renamed(kernel):
    ns = fresh(kernel)
    for action in (lambda: ns.remove(ns.walk("/tmp")), lambda: ns.rename(ns.walk("/tmp"), ns.walk("/"), "x")):
        with pytest.raises(DeviceError) as error:
            action()
        assert error.value.code == "EBUSY"


def test_pipe_ends_say_when_to_wait(kernel):
    ns = fresh(kernel)
    pipe = ns.walk("#pipe")
    reader = ns.open(ns.walk("data", pipe), OREAD)
    writer = ns.open(ns.walk("data1", pipe), ORDWR)
    with pytest.raises(WouldBlock) as blocked:
        reader.driver.read(reader, 10, 0)
    assert blocked.value.queue is not None
    writer.driver.write(writer, b"hello", 0)
    assert reader.driver.read(reader, 10, 0) == b"hello"
    writer.close()
    assert reader.driver.read(reader, 10, 0) == b""  # the other end is closed: end of file


def test_random_is_the_same_for_the_same_seed():
    def first_bytes(seed):
        kernel = assemble(None, overrides={"kernel.seed": seed}, stdout=io.BytesIO(), stderr=io.BytesIO())
        try:
            ns = boot_namespace(kernel)
            chan = ns.open(ns.walk("/dev/random"), OREAD)
            return chan.driver.read(chan, 16, 0), chan.driver.read(chan, 16, 0)
        finally:
            kernel.machine.close()

    one, two = first_bytes(1), first_bytes(1)
    assert one == two and one[0] != one[1] and len(one[0]) == 16
    assert first_bytes(2) != one


def test_tmpfs_wstat_renames_truncates_and_changes_modes(kernel):
    ns = fresh(kernel)
    chan = ns.walk("#tmpfs.a/only_a")
    chan.driver.wstat(chan, Wstat(name="renamed", length=0, mode=0o600))
    entry = ns.walk("#tmpfs.a/renamed").driver.stat(ns.walk("#tmpfs.a/renamed"))
    assert (entry.name, entry.length, entry.mode) == ("renamed", 0, 0o600)
    directory = ns.create(ns.walk("#tmpfs.a"), "dir", OREAD, DMDIR | 0o755)
    assert ns.walk("#tmpfs.a/dir").is_dir and directory.is_dir


def test_a_process_starts_in_the_boot_namespace(kernel):
    view = enter(kernel.init)
    assert view.namespace is boot_namespace(kernel)
    assert view.cwd.path == "/"


NAMES = st.sampled_from(["..", ".", "", "tmp", "dev", "bin", "null", "hello", "#tmpfs", "#root", "x", "..."])


@pytest.fixture(scope="module")
def booted():
    kernel = assemble(None, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    boot(kernel)
    yield kernel
    kernel.shutdown()


@settings(max_examples=300, deadline=None)
@given(names=st.lists(NAMES, max_size=10), absolute=st.booleans())
def test_any_path_resolves_inside_the_namespace_or_fails_cleanly(booted, names, absolute):
    ns = boot_namespace(booted)
    path = ("/" if absolute else "") + "/".join(names)
    if not path:
        return
    base = ns.walk("/tmp")
    try:
        chan = ns.walk(path, base)
    except DeviceError as error:
        assert error.code in ("ENOENT", "ENOTDIR", "ENAMETOOLONG")
        return
    # what it names is always a clean path from / or from a device: no '..' survives
    assert chan.path.startswith(("/", "#")), chan.path
    assert ".." not in chan.path.split("/") and "." not in chan.path.split("/")
    again = ns.walk(chan.path)
    assert again.key == chan.key  # the clean name leads to the same file
