"""Installed plugins' entry points, read once per environment.

Scanning every installed distribution's metadata costs tens of milliseconds on each start, so
the result is kept in a small cache file, valid while ``sys.path`` and the distributions' metadata
folders on it stay the same (installing, removing or reinstalling a package changes them; other
files, such as those of a working directory on the path, do not). Files of environments unused
for a week are removed.
``KERNKIT_CACHE_DIR`` (default ``$XDG_CACHE_HOME/kernkit`` or ``~/.cache/kernkit``) says where;
a cache that cannot be read or written is simply not used.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import sys
import time
from pathlib import Path

CACHE_DIR_ENV = "KERNKIT_CACHE_DIR"
#: A distribution's metadata folder (what importlib.metadata reads entry points from).
METADATA = (".dist-info", ".egg-info")
#: Cache files of environments unused for this long are removed when a new one is written.
STALE_AFTER_S = 7 * 24 * 3600


class EntryPoint:
    """One plugin an installed distribution offers: ``value`` is ``module`` or ``module:attr``."""

    __slots__ = ("name", "value", "version")

    def __init__(self, name: str, value: str, version: str | None) -> None:
        self.name, self.value, self.version = name, value, version

    def load(self) -> object:
        module, _, attribute = self.value.partition(":")
        target: object = importlib.import_module(module.strip())
        for part in filter(None, attribute.strip().split(".")):
            target = getattr(target, part)
        return target


def entry_points(group: str) -> tuple[EntryPoint, ...]:
    """The entry points of ``group`` in the current environment (cached, see above)."""
    key = _environment_key(group)
    cached = _cache_file(key)
    if cached is not None:
        try:
            return tuple(EntryPoint(*entry) for entry in json.loads(cached.read_text()))
        except (OSError, ValueError, TypeError):
            pass
    found = _scan(group)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(json.dumps([[e.name, e.value, e.version] for e in found]))
            partial.replace(cached)
            _forget_stale(cached.parent)
        except OSError:
            pass
    return found


def _forget_stale(folder: Path) -> None:
    """Remove the cache files of environments not used for a week (each use reads its file)."""
    now = time.time()
    for old in folder.glob("entry-points-*.json"):
        try:
            if now - old.stat().st_atime > STALE_AFTER_S and now - old.stat().st_mtime > STALE_AFTER_S:
                old.unlink()
        except OSError:
            pass


def _scan(group: str) -> tuple[EntryPoint, ...]:
    import importlib.metadata

    found = []
    for entry in importlib.metadata.entry_points(group=group):
        dist = getattr(entry, "dist", None)
        found.append(EntryPoint(entry.name, entry.value, dist.version if dist else None))
    return tuple(found)


def _environment_key(group: str) -> str:
    """Changes when a distribution is installed, removed or reinstalled anywhere on ``sys.path``:
    each entry's metadata folders (``*.dist-info``, ``*.egg-info``) with their modification times,
    so that files coming and going beside them (a working directory on the path) keep it."""
    digest = hashlib.sha256(f"{group}\0{sys.version}\0{sys.prefix}".encode())
    for entry in sys.path:
        digest.update(f"\0{entry}".encode())
        try:
            with os.scandir(entry or ".") as found:
                stamps = sorted(
                    f"{item.name}:{item.stat().st_mtime_ns}" for item in found if item.name.endswith(METADATA)
                )
        except OSError:  # not a folder (a zip file, an import hook's name): its own time stamp
            try:
                stamps = [str(os.stat(entry).st_mtime_ns)]
            except OSError:
                stamps = []
        digest.update("\0".join(stamps).encode())
    return digest.hexdigest()[:32]


def cache_dir() -> Path | None:
    """kernkit's cache folder (see above), or None when there is no home to put it in."""
    base = os.environ.get(CACHE_DIR_ENV) or os.environ.get("XDG_CACHE_HOME")
    if base:
        return Path(base) if os.environ.get(CACHE_DIR_ENV) else Path(base) / "kernkit"
    home = os.environ.get("HOME")
    return Path(home) / ".cache" / "kernkit" if home else None


def _cache_file(key: str) -> Path | None:
    root = cache_dir()
    return root / f"entry-points-{key}.json" if root is not None else None
