"""The attrs method cache: code taken from it behaves as freshly compiled code, a second start
compiles nothing, and a damaged file is only a slower start."""

from __future__ import annotations

import marshal

from support import kernkit_cli

from kernkit.tools.methodcache import MethodCache

NAME = "<attrs generated methods example.Point>"


def attrs_source(type_hash: int) -> str:
    """What attrs 26 writes for a frozen class with fields x and y (``__hash__`` and ``__eq__``)."""
    return (
        "def __hash__(self):\n"
        "        return hash((\n"
        f"                {type_hash},\n"
        "                self.x,\n"
        "                self.y,\n"
        "            ))\n"
        "def __eq__(self, other):\n"
        "    if other.__class__ is not self.__class__:\n"
        "        return NotImplemented\n"
        "    return (self.x, self.y) == (other.x, other.y)\n"
    )


class Point:
    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y


def methods(code: object) -> dict:
    found: dict = {}
    exec(code, {}, found)
    return found


def test_cached_code_hashes_with_this_processs_number_and_compares_as_before(tmp_path):
    path = tmp_path / "methods.marshal"
    first = MethodCache(path)
    methods(first.compile(attrs_source(-4005077100620238980), NAME, "exec"))
    assert first.added
    first.save()
    again = MethodCache(path)
    # another process: another string-hash seed, another number of another width
    code = again.compile(attrs_source(77), NAME, "exec")
    assert not again.added, "the same class with another type hash must come from the cache"
    fresh = compile(attrs_source(77), NAME, "exec")
    cached, compiled = methods(code), methods(fresh)
    point = Point(3, 4)
    assert cached["__hash__"](point) == compiled["__hash__"](point) == hash((77, 3, 4))
    assert cached["__eq__"](point, Point(3, 4)) is True
    assert cached["__eq__"](point, Point(3, 5)) is False
    assert cached["__hash__"].__code__.co_code == compiled["__hash__"].__code__.co_code
    assert cached["__hash__"].__code__.co_consts == compiled["__hash__"].__code__.co_consts


def test_a_source_that_differs_is_compiled_not_taken_from_the_cache(tmp_path):
    path = tmp_path / "methods.marshal"
    first = MethodCache(path)
    first.compile(attrs_source(5), NAME, "exec")
    first.save()
    changed = attrs_source(5).replace("(self.x, self.y) == (other.x, other.y)", "self.x == other.x")
    again = MethodCache(path)
    code = again.compile(changed, NAME, "exec")
    assert again.added
    assert methods(code)["__eq__"](Point(1, 2), Point(1, 9)) is True


def test_a_damaged_cache_file_is_compiled_around(tmp_path):
    path = tmp_path / "methods.marshal"
    first = MethodCache(path)
    first.compile(attrs_source(5), NAME, "exec")
    first.save()
    entries = marshal.loads(path.read_bytes())
    path.write_bytes(marshal.dumps({key: b"not code" for key in entries}))
    again = MethodCache(path)
    assert methods(again.compile(attrs_source(6), NAME, "exec"))["__hash__"](Point(1, 2)) == hash((6, 1, 2))
    path.write_bytes(b"\x00garbage")
    assert methods(MethodCache(path).compile(attrs_source(6), NAME, "exec"))["__hash__"](Point(1, 2)) == hash(
        (6, 1, 2)
    )


def test_an_entry_that_is_valid_marshal_but_no_code_is_compiled_around(tmp_path):
    path = tmp_path / "methods.marshal"
    first = MethodCache(path)
    first.compile(attrs_source(5), NAME, "exec")
    first.save()
    entries = marshal.loads(path.read_bytes())
    path.write_bytes(marshal.dumps({key: marshal.dumps("a string, not code") for key in entries}))
    again = MethodCache(path)
    assert methods(again.compile(attrs_source(6), NAME, "exec"))["__hash__"](Point(1, 2)) == hash((6, 1, 2))
    again.save()
    assert [p.name for p in tmp_path.iterdir()] == ["methods.marshal"], "a temporary file was left behind"


def test_a_second_boot_takes_every_class_from_the_cache_and_prints_the_same(tmp_path):
    env = {"KERNKIT_CACHE_DIR": str(tmp_path)}
    first = kernkit_cli("boot", env=env)
    assert first.returncode == 0, first.stderr
    [kept] = tmp_path.glob("attrs-methods-*.marshal")
    written = kept.stat().st_mtime_ns, kept.read_bytes()
    second = kernkit_cli("boot", env=env)
    assert (second.returncode, second.stdout) == (0, first.stdout)
    assert b"Hello from kernkit!" in second.stdout
    assert (kept.stat().st_mtime_ns, kept.read_bytes()) == written, "a second boot compiled a class again"
