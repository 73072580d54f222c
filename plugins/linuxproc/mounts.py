"""A namespace's mount table as Linux's /proc/mounts shows one: a line per mount,
``SOURCE MOUNTPOINT TYPE OPTIONS 0 0`` (SOURCE: the device, ``tmpfs``, or the directory bound
there); a union directory has a line per member it gained
from a bind (its own directory, kept by the first union bind, is not a mount)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.plugins.linux_abi.api import filesystem

if TYPE_CHECKING:
    from kernkit.core.devices import Chan
    from kernkit.plugins.ns.api import Namespace


def _escape(text: str) -> str:
    """Spaces, tabs, newlines and backslashes as Linux escapes them: in octal."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\\" else c for c in text)


def _line(source: str, target: str, chan: Chan) -> str:
    """A mount's line; a device's name goes without its '#' (which would start a comment)."""
    source = source.lstrip("#") or "none"
    name = getattr(chan.driver, "name", "")
    options = "ro" if getattr(chan.driver, "read_only", False) else "rw"
    return f"{_escape(source)} {_escape(target)} {filesystem(name)[0]} {options} 0 0\n"


def mount_table(namespace: Namespace) -> str:
    root = namespace.root
    lines = []
    root_key = (root.driver, root.devno, root.qid.path)
    if root_key not in namespace.mounts:
        lines.append(_line(namespace.root_source, "/", root))
    for key, point in namespace.mounts.items():
        for mount in point.entries:
            chan = mount.chan
            if (chan.driver, chan.devno, chan.qid.path) == key:
                continue  # the mount point's own directory, in its union
            lines.append(_line(chan.path or "none", point.path, chan))
    return "".join(lines)
