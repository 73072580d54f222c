"""The ``[namespace]`` config table: what #root holds and the binds every process starts with."""

from __future__ import annotations

import posixpath
import shlex
from typing import Any

import attrs

from kernkit.core.options import at_most_size, option, parse_size, positive
from kernkit.plugins.ns.namespace import MAFTER, MBEFORE, MCREATE, MREPL

#: The programs packaged with kernkit, as a value in ``[namespace] root``.
PROGRAMS = "@programs"
#: The host's programs, libraries and their configuration, as an item of ``[namespace] host``
#: (what ``kernkit boot --host-root`` asks for): those of these directories the host has.
USERLAND = "@userland"
USERLAND_DIRS = ("/bin", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/sbin", "/usr")

DEFAULT_ROOT = {"/bin": PROGRAMS}
DEFAULT_BINDS = [
    "bind -a #cons /dev",
    "bind -a #random /dev",
    "bind -a #version /dev",
    "bind -b #linuxdev /dev",
    "bind -c #tmpfs.shm /dev/shm",
    "bind #proc /proc",
    "bind -b #linuxproc /proc",
    "bind -c #srv /srv",
    "bind -c #tmpfs /tmp",
    "bind #ip /net",
]


@attrs.frozen
class BindOp:
    """One line of ``binds``: ``bind [-abc] NEW OLD`` or ``mount [-abc] FILE OLD [SPEC]``."""

    verb: str
    flags: int
    source: str
    target: str
    spec: str = ""

    @property
    def line(self) -> str:
        return " ".join(
            [self.verb, *([_flag_text(self.flags)] if self.flags else []), self.source, self.target]
            + ([self.spec] if self.spec else [])
        )


def _flag_text(flags: int) -> str:
    order = {MBEFORE: "b", MAFTER: "a"}.get(flags & 3, "")
    return "-" + order + ("c" if flags & MCREATE else "")


def parse_bind(line: str) -> BindOp:
    """A bind line, or ValueError saying what is wrong with it."""
    try:
        words = shlex.split(line, comments=False) if "'" in line or '"' in line else line.split()
    except ValueError as exc:
        raise ValueError(f"cannot split into words: {exc}") from None
    if not words or words[0] not in ("bind", "mount"):
        raise ValueError("expected 'bind [-abc] NEW OLD' or 'mount [-abc] FILE OLD [SPEC]'")
    verb, *rest = words
    flags = MREPL
    while rest and rest[0].startswith("-") and len(rest[0]) > 1:
        for letter in rest.pop(0)[1:]:
            if letter == "a":
                flags |= MAFTER
            elif letter == "b":
                flags |= MBEFORE
            elif letter == "c":
                flags |= MCREATE
            else:
                raise ValueError(f"unknown flag -{letter} (expected -a, -b or -c)")
    if flags & 3 == 3:
        raise ValueError("-a and -b together (a mount goes either after or before)")
    most = 3 if verb == "mount" else 2
    if not 2 <= len(rest) <= most:
        usage = "bind [-abc] NEW OLD" if verb == "bind" else "mount [-abc] FILE OLD [SPEC]"
        raise ValueError(f"expected {usage}")
    source, target, *spec = rest
    if not source.startswith(("/", "#")):
        raise ValueError(f"{source}: expected an absolute path or a #device")
    check_path(target)
    return BindOp(verb, flags, source, target, spec[0] if spec else "")


def check_path(path: str) -> None:
    if not path.startswith("/"):
        raise ValueError(f"{path}: expected an absolute path such as /tmp")
    if posixpath.normpath(path) != path.rstrip("/") and path != "/" or "//" in path:
        raise ValueError(f"{path}: expected a clean path (no '.', '..' or '//')")


def _check_binds(instance: Any, attribute: attrs.Attribute, value: list[str]) -> None:
    for index, line in enumerate(value):
        try:
            parse_bind(line)
        except ValueError as exc:
            raise ValueError(f"item {index}: {line!r}: {exc}") from None


def _check_host(instance: Any, attribute: attrs.Attribute, value: list[str]) -> None:
    for index, path in enumerate(value):
        if path == USERLAND:
            continue
        try:
            check_path(path)
        except ValueError as exc:
            raise ValueError(f"item {index}: {exc} (or {USERLAND!r})") from None
        if path == "/":
            raise ValueError(f"item {index}: '/' would bring the whole host; name directories such as /usr")


def _check_root(instance: Any, attribute: attrs.Attribute, value: dict[str, str]) -> None:
    for path, host in value.items():
        try:
            check_path(path)
        except ValueError as exc:
            raise ValueError(f"key {path!r}: {exc}") from None
        if not host:
            raise ValueError(f"key {path!r}: expected a host path or {PROGRAMS!r}, got an empty string")


@attrs.frozen
class NamespaceOptions:
    root: dict[str, str] = option(
        DEFAULT_ROOT,
        "what the read-only #root device holds: namespace path -> host file or directory "
        f"(relative to the config file; {PROGRAMS!r}: the programs packaged with kernkit)",
        validator=_check_root,
    )
    binds: list[str] = option(
        DEFAULT_BINDS,
        "the namespace processes start with, in order, as in a Plan 9 namespace file: "
        "'bind [-abc] NEW OLD' (#device or path), 'mount [-abc] FILE OLD [SPEC]'; "
        "-b before, -a after (a union), -c creates go there; / is #root",
        validator=_check_binds,
    )
    host: list[str] = option(
        [],
        "host files and directories shown at the same paths in #root, read only and as they are "
        "on the host (a symbolic link such as Debian's /bin -> usr/bin stays a link), after root's "
        f"entries; {USERLAND!r}: the host's {', '.join(USERLAND_DIRS)} (those it has), what "
        "kernkit boot --host-root adds",
        validator=_check_host,
    )
    tmpfs_size: int = option(
        64 << 20,
        "bytes all #tmpfs files may hold together (64M, 1G)",
        converter=parse_size,
        validator=[positive, at_most_size(1 << 40)],
    )
