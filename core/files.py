"""Open files and per-process descriptor tables (the objects come from devices and personalities)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from kernkit.core.process import Thread


class OpenFile(Protocol):
    """An open file a personality put in a descriptor table by itself (not from a namespace).

    Methods return a byte count / bytes, or a negative errno. Channels of the namespace
    (:class:`kernkit.core.devices.Chan`) are the other kind of object tables hold; both carry
    ``refs``, the number of holders, which the table maintains (see :func:`hold`).
    """

    name: str

    def read(self, thread: Thread, length: int) -> bytes | int: ...
    def write(self, thread: Thread, data: bytes) -> int: ...
    def close(self) -> None: ...
    def is_terminal(self) -> bool: ...


def hold(file: Any) -> None:
    """Count one more holder of ``file`` (a descriptor, a #srv entry, a mount)."""
    try:
        file.refs += 1
    except AttributeError:  # a plain OpenFile, held for the first time
        file.refs = 1


def release(file: Any) -> None:
    """Count one holder less; the last one closes the file."""
    file.refs -= 1
    if file.refs <= 0:
        file.close()


class FileTable:
    """Descriptor number -> open file, lowest free number first, each with its close-on-exec flag.

    Descriptors in this table and in its copies (fork) refer to the same open files, which
    close with their last holder anywhere.
    """

    def __init__(self, limit: int = 1024) -> None:
        self.limit = limit
        self._files: dict[int, Any] = {}
        #: The descriptors closed at exec. Public for a native system call entry that closes
        #: descriptors itself (with ``get``'s dict, it changes nothing else); others use
        #: ``is_cloexec`` and ``set_cloexec``.
        self.cloexec: set[int] = set()
        #: get(fd): the file at descriptor ``fd``, or None (the dict's own get: every read,
        #: write and close asks it)
        self.get: Callable[[int], Any] = self._files.get

    def install(self, file: Any, at: int | None = None, *, cloexec: bool = False, lowest: int = 0) -> int:
        """Put ``file`` at descriptor ``at`` (closing what was there) or at the lowest free one
        from ``lowest`` up; -1 if there is none below the limit."""
        files = self._files
        if at is None:
            at = lowest
            while at in files:
                at += 1
            if at >= self.limit:
                return -1
        elif at in files:
            self.close(at)
        try:
            file.refs += 1
        except AttributeError:
            file.refs = 1
        files[at] = file
        if cloexec:
            self.cloexec.add(at)
        return at

    def close(self, fd: int) -> bool:
        """Drop descriptor ``fd``; the file itself closes with its last holder anywhere."""
        file = self._files.pop(fd, None)
        if file is None:
            return False
        self.cloexec.discard(fd)
        file.refs -= 1
        if file.refs <= 0:
            file.close()
        return True

    def is_cloexec(self, fd: int) -> bool:
        return fd in self.cloexec

    def set_cloexec(self, fd: int, on: bool) -> None:
        if on:
            self.cloexec.add(fd)
        else:
            self.cloexec.discard(fd)

    def close_on_exec(self) -> None:
        """Close every descriptor marked close-on-exec (a successful exec does this)."""
        for fd in sorted(self.cloexec):
            self.close(fd)

    def copy(self) -> FileTable:
        """A table with the same descriptors for the same open files (as after fork)."""
        twin = FileTable(self.limit)
        for fd, file in self._files.items():
            twin.install(file, fd, cloexec=fd in self.cloexec)
        return twin

    def close_all(self) -> None:
        for fd in list(self._files):
            self.close(fd)

    def __len__(self) -> int:
        return len(self._files)

    def __iter__(self) -> Iterator[tuple[int, Any]]:
        return iter(sorted(self._files.items()))
