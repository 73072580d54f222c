"""Open files and per-process descriptor tables (the objects come from devices and personalities)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from kernkit.core.process import Thread


class OpenFile(Protocol):
    """An open file. Methods return a byte count / bytes, or a negative errno."""

    name: str

    def read(self, thread: Thread, length: int) -> bytes | int: ...
    def write(self, thread: Thread, data: bytes) -> int: ...
    def close(self) -> None: ...
    def is_terminal(self) -> bool: ...


class FileTable:
    """Descriptor number -> open file, lowest free number first."""

    def __init__(self, limit: int = 1024, references: dict[int, int] | None = None) -> None:
        self.limit = limit
        self._files: dict[int, OpenFile] = {}
        #: How many descriptors, in this table and its copies, refer to each open file (by id).
        self._references = references if references is not None else {}

    def get(self, fd: int) -> OpenFile | None:
        return self._files.get(fd)

    def install(self, file: OpenFile, at: int | None = None) -> int:
        """Put ``file`` at descriptor ``at`` (closing what was there) or the lowest free one; -1 if full."""
        if at is None:
            at = next((n for n in range(self.limit) if n not in self._files), -1)
            if at < 0:
                return -1
        elif at in self._files:
            self.close(at)
        self._files[at] = file
        self._references[id(file)] = self._references.get(id(file), 0) + 1
        return at

    def close(self, fd: int) -> bool:
        """Drop descriptor ``fd``; the file itself closes with its last descriptor anywhere."""
        file = self._files.pop(fd, None)
        if file is None:
            return False
        left = self._references[id(file)] - 1
        if left:
            self._references[id(file)] = left
        else:
            del self._references[id(file)]
            file.close()
        return True

    def copy(self) -> FileTable:
        """A table with the same descriptors for the same open files (as after fork)."""
        twin = FileTable(self.limit, self._references)
        for fd, file in self._files.items():
            twin.install(file, fd)
        return twin

    def close_all(self) -> None:
        for fd in list(self._files):
            self.close(fd)

    def __iter__(self):
        return iter(sorted(self._files.items()))
