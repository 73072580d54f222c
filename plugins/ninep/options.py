"""The ``[export9p]`` and ``[[mount9p]]`` config tables."""

from __future__ import annotations

import posixpath
from typing import Any

import attrs

from kernkit.core.listening import check_loopback
from kernkit.core.options import (
    at_least_size,
    at_most,
    at_most_size,
    format_size,
    option,
    parse_size,
    positive,
)
from kernkit.plugins.ninep.address import VERSION_9P, VERSION_9PL, parse_address

MIN_MSIZE = 4096
MAX_MSIZE = 16 << 20


def _address(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if value:
        parse_address(value)


def _absolute(path: str) -> None:
    if not path.startswith("/") or posixpath.normpath(path) != path and path != "/" or "//" in path:
        raise ValueError(f"{path!r}: expected an absolute, clean path such as /tmp")


def _paths(instance: Any, attribute: attrs.Attribute, value: list[str]) -> None:
    names: dict[str, str] = {}
    for index, path in enumerate(value):
        try:
            _absolute(path)
        except ValueError as exc:
            raise ValueError(f"item {index}: {exc}") from None
        name = posixpath.basename(path) or "/"
        if name in names:
            raise ValueError(
                f"item {index}: {path!r} and {names[name]!r} would both be /{name} in the export"
            )
        names[name] = path
    if "/" in names and len(value) > 1:
        raise ValueError("'/' exports everything: list it alone")


def _mount_point(instance: Any, attribute: attrs.Attribute, value: str) -> None:
    if value:  # missing is reported as such, after all fields are in
        _absolute(value)


def _msize(instance: Any, attribute: attrs.Attribute, value: int) -> None:
    if not MIN_MSIZE <= value <= MAX_MSIZE:
        raise ValueError(f"must be from {MIN_MSIZE} to {MAX_MSIZE} bytes, got {value}")


@attrs.frozen
class ExportOptions:
    listen: str = option(
        "",
        "HOST:PORT to serve 9P on while the kernel runs (empty: no export); port 0 picks a free one",
        validator=_address,
    )
    paths: list[str] = option(
        ["/proc", "/tmp"],
        "namespace paths to export; the export's root lists each by its last name ('/' alone: all)",
        validator=_paths,
    )
    writable: bool = option(False, "let clients create, write, rename and remove (default: read-only)")
    allow_remote: bool = option(
        False, "allow a listen address other than loopback (the export has no authentication)"
    )
    msize: int = option(
        512 << 10,
        "the largest 9P message offered to clients (they may ask for less)",
        converter=parse_size,
        validator=_msize,
    )
    max_connections: int = option(
        64,
        "clients served at once; more are accepted and closed at once",
        validator=[positive, at_most(4096)],
    )
    max_buffer: int = option(
        4 << 20,
        "what one client's unsent replies may hold (one reply may pass it), and apart from them its "
        "unhandled requests: a client whose requests pass it (it sends, never reads) is disconnected",
        converter=parse_size,
        validator=[at_least_size(2 << 20), at_most_size(1 << 30)],
    )

    def __attrs_post_init__(self) -> None:
        if self.max_buffer < self.msize:
            raise ValueError(
                f"max_buffer ({format_size(self.max_buffer)}) must hold a whole message of msize "
                f"({format_size(self.msize)})"
            )
        if self.listen:
            check_loopback(parse_address(self.listen)[0], self.allow_remote, "export9p", "the 9P export")


@attrs.frozen
class MountOptions:
    addr: str = option("", "HOST:PORT of the 9P server to mount (required)", validator=_address)
    at: str = option("", "where in the namespace to mount it, an existing directory (required)",
                     validator=_mount_point)
    version: str = option(VERSION_9PL, "protocol dialect", choices=(VERSION_9PL, VERSION_9P))
    aname: str = option("", "the tree to attach to, as the server names it (diod: the exported path)")
    uname: str = option("nobody", "user name sent in Tattach")
    uid: int = option(
        -1, "numeric user id sent in 9P2000.L's Tattach (-1: the host user running kernkit)",
        validator=[at_most(0xFFFFFFFE)],
    )
    msize: int = option(
        512 << 10, "the largest 9P message to ask for (servers may offer less)",
        converter=parse_size, validator=_msize,
    )
    timeout: float = option(
        10.0,
        "seconds to wait for the server's answer; past it the call fails with EIO and the mount is dead",
        validator=[positive],
    )
    flags: str = option("", "how it joins what is at the mount point: '' replaces, 'a' after, 'b' before",
                        choices=("", "a", "b"))
    create: bool = option(True, "files created in the mount point's directory go to this server (MCREATE)")

    def __attrs_post_init__(self) -> None:
        if not self.addr:
            raise ValueError("addr is required (HOST:PORT of a 9P server)")
        if not self.at:
            raise ValueError("at is required (where in the namespace to mount)")
        if self.uid < -1:
            raise ValueError(f"uid must be -1 (the host user) or a user id, got {self.uid}")

