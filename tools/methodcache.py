"""The code attrs compiles for each class's methods, kept between runs.

attrs writes each class's ``__init__``, ``__repr__``, ``__eq__``, ``__hash__`` (and the rest) as
Python source and compiles it when the class is created; for the ~65 classes a boot creates
that compiling is ~20 ms of CPU, the largest single item of a start-up after the libraries
themselves. Python keeps the byte code of modules in ``__pycache__``, but not this. Here the
compiled code is kept in kernkit's cache folder (see :mod:`kernkit.core.entrypoints`), one file per
Python byte-code version, keyed by the exact source, file name and compiler flags, so what a
class gets is what ``compile`` would have returned. One thing varies between processes: a
hashable class's ``__hash__`` mixes in a number attrs derives from ``hash()`` of a string, which
string hashing's per-process seed changes. That number is keyed and compiled as one fixed
stand-in, which the cached code's constants then trade for the real one (only that number's
own column span differs from a fresh compile). A cache that cannot be read or written is
not used; a source not seen before is compiled as usual and the file rewritten at exit.
"""

from __future__ import annotations
import __future__

import atexit
import hashlib
import marshal
import os
import re
import sys
import tempfile
from pathlib import Path
from types import CodeType

from kernkit.core.entrypoints import cache_dir

#: The ``from __future__`` flags a caller's code carries, which builtin ``compile`` inherits.
_FUTURE_FLAGS = 0
for _name in __future__.all_feature_names:
    _FUTURE_FLAGS |= getattr(__future__, _name).compiler_flag
#: More entries than this and the file is written anew with only what this process used.
MAX_ENTRIES = 500

#: The per-process number in attrs' ``__hash__``: ``hash((`` then the number alone on its line.
_TYPE_HASH = re.compile(r"hash\(\(\n[ \t]*(-?\d+),\n")

#: What the type hash is keyed and compiled as (a number ``hash()`` of a string is unlikely to be).
STAND_IN = 1_000_000_000_000_000_003

_Key = tuple[bytes, str, str, int, int]


def _placeholder(source: str) -> tuple[str, int] | None:
    """``source`` with its type hash replaced by :data:`STAND_IN`, and the real number; None if
    it has none or the stand-in's text is in it already."""
    found = _TYPE_HASH.search(source)
    if found is None or str(STAND_IN) in source:
        return None
    return source[: found.start(1)] + str(STAND_IN) + source[found.end(1) :], int(found.group(1))


def _replace_constant(code: CodeType, old: int, new: int) -> CodeType:
    def swap(const: object) -> object:
        if isinstance(const, CodeType):
            return _replace_constant(const, old, new)
        return new if type(const) is int and const == old else const

    return code.replace(co_consts=tuple(map(swap, code.co_consts)))


class MethodCache:
    """A drop-in ``compile`` for attrs' module: cached code for sources seen before."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.known: dict[_Key, bytes] = {}  # marshalled code: only what is used is unmarshalled
        self.used: dict[_Key, bytes] = {}
        self.added = False
        if path is not None:
            try:
                loaded = marshal.loads(path.read_bytes())
                if isinstance(loaded, dict):
                    self.known = loaded
            except (OSError, ValueError, EOFError, TypeError):
                pass

    def compile(self, source, filename, mode, flags=0, dont_inherit=False, optimize=-1):  # noqa: ANN001, ANN201 - builtin's signature
        if not dont_inherit:
            flags |= sys._getframe(1).f_code.co_flags & _FUTURE_FLAGS
        if not isinstance(source, str) or not isinstance(filename, str):
            return compile(source, filename, mode, flags, True, optimize)
        stand_in = _placeholder(source)
        keyed = source if stand_in is None else stand_in[0]
        key = (hashlib.sha256(keyed.encode()).digest(), filename, mode, flags, optimize)
        data = self.known.get(key)
        if data is None:
            code = compile(keyed, filename, mode, flags, True, optimize)
            data = self.known[key] = marshal.dumps(code)
            self.added = True
        else:
            try:
                code = marshal.loads(data)
                if not isinstance(code, CodeType):
                    raise TypeError("not code")
            except (ValueError, EOFError, TypeError):  # a damaged file: compile as ever
                code = compile(keyed, filename, mode, flags, True, optimize)
                data = self.known[key] = marshal.dumps(code)
                self.added = True
        self.used[key] = data
        return code if stand_in is None else _replace_constant(code, STAND_IN, stand_in[1])

    def save(self) -> None:
        if not self.added or self.path is None:
            return
        entries = self.known if len(self.known) <= MAX_ENTRIES else self.used
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # a name of its own (not the pid: two containers sharing a cache may both be pid 1)
            handle, partial = tempfile.mkstemp(dir=self.path.parent, prefix=self.path.name, suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(marshal.dumps(entries))
                os.replace(partial, self.path)
            except BaseException:
                os.unlink(partial)
                raise
        except (OSError, ValueError):
            pass


class _PatchAfterExec:
    """attrs' module loader, giving the module the cached ``compile`` once it has run."""

    def __init__(self, loader: object, cache: MethodCache) -> None:
        self._loader, self._cache = loader, cache

    def create_module(self, spec):  # noqa: ANN001, ANN201
        return self._loader.create_module(spec)

    def exec_module(self, module) -> None:  # noqa: ANN001
        self._loader.exec_module(module)
        module.compile = self._cache.compile

    def __getattr__(self, name: str) -> object:
        return getattr(self._loader, name)


class _Finder:
    """Finds attrs' ``_make`` the usual way and wraps its loader (then steps aside)."""

    def __init__(self, cache: MethodCache) -> None:
        self._cache = cache

    def find_spec(self, fullname, path=None, target=None):  # noqa: ANN001, ANN201
        if fullname != ATTRS_MODULE:
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder

        spec = PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchAfterExec(spec.loader, self._cache)
        return spec


#: The attrs module whose ``compile`` builds every class's methods.
ATTRS_MODULE = "attr._make"


_installed: MethodCache | None = None


def install() -> MethodCache:
    """Use the cache for every attrs class created from now on in this process (once: a
    second call, as from a second CLI run in one process, returns the first cache)."""
    global _installed
    if _installed is not None:
        return _installed
    root = cache_dir()
    name = f"attrs-methods-{sys.implementation.cache_tag}-{sys.hexversion:x}.marshal"
    path = root / name if root is not None else None
    cache = MethodCache(path)
    module = sys.modules.get(ATTRS_MODULE)
    if module is not None:
        module.compile = cache.compile
    else:
        sys.meta_path.insert(0, _Finder(cache))
    atexit.register(cache.save)
    _installed = cache
    return cache
