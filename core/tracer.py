"""Tracing: one JSON object per line, stamped with virtual time; a hash proves determinism.

Events wait in a batch until it is full (or read): then they are written out together, hashed
and written (the hash of the whole stream does not depend on how it is cut). The hottest event,
a system call, waits as a tuple and is formatted only then, by a C encoder when the package was
built with one (``_tracelines.c``) and in Python otherwise, to the same bytes; the native system
call entry writes its calls' lines itself and they wait as bytes. A traced system call costs
under twice an untraced one (bench/run.py measures it).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from kernkit.core.extensions import extension_path

#: Events kept before they are formatted, hashed and written together.
BATCH = 512

#: A system call as it waits in a batch: (t, core, pid, tid, name, nr, args, ret); ``ret`` as
#: the result register holds it (written signed), None for a call that has not returned. The
#: native system call entry (arch/x86_64/_native.c) puts its calls' lines in the batch as bytes.
SyscallRecord = tuple[int, int | None, int, int, str, int, Sequence[int], int | None]

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def syscall_line(record: SyscallRecord) -> str:
    """A system call's line: what :func:`json.dumps` of its event dict writes, compactly."""
    t, core, pid, tid, name, nr, args, ret = record
    where = f',"core":{core}' if core is not None else ""
    result = "null" if ret is None else _signed(ret)
    return (
        f'{{"t":{t},"ev":"syscall"{where},"pid":{pid},"tid":{tid},"name":{json.dumps(name)},'
        f'"nr":{nr},"args":[{",".join(map(str, args))}],"ret":{result}}}'
    )


def _line(item: str | bytes | SyscallRecord) -> str:
    """An item's line: a str is one already, bytes one the native system call entry wrote."""
    return item if isinstance(item, str) else item.decode() if isinstance(item, bytes) else syscall_line(item)


def encode_lines(items: Iterable[str | bytes | SyscallRecord]) -> bytes:
    """Trace items (lines, system call records) as the bytes of their JSON lines."""
    return "".join(f"{_line(item)}\n" for item in items).encode()


def _native_encoder() -> Callable[[list[str | bytes | SyscallRecord]], bytes] | None:
    if extension_path("kernkit.core._tracelines", Path(__file__).with_name("_tracelines.c")) is None:
        return None
    from kernkit.core._tracelines import encode

    return encode


class Tracer:
    """Collects events; writes them as JSON lines when given a stream, and hashes them always.

    ``native=False`` formats every batch in Python (the C encoder is used by default when it
    was built, unless ``KERNKIT_PURE_PYTHON`` is set)."""

    batch = BATCH  # for a writer that appends to ``pending`` itself (then flushes when full)

    def __init__(self, stream: IO[str] | None = None, keep: int = 200, native: bool = True) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.pending: list[str | bytes | SyscallRecord] = []
        self._done = 0
        self._recent: deque[str | bytes | SyscallRecord] = deque(maxlen=keep)
        self._native = _native_encoder() if native else None

    def emit(self, event: dict[str, Any]) -> None:
        self.emit_line(_encode(event))

    def emit_line(self, line: str) -> None:
        """An event already written as one JSON object."""
        pending = self.pending
        pending.append(line)
        if len(pending) >= BATCH:
            self.flush()

    def syscall(self, record: SyscallRecord) -> None:
        """A system call, formatted when its batch is written (see :func:`syscall_line`)."""
        pending = self.pending
        pending.append(record)
        if len(pending) >= BATCH:
            self.flush()

    def _encode(self, items: list[str | bytes | SyscallRecord]) -> bytes:
        if self._native is not None:
            try:
                return self._native(items)
            except (TypeError, ValueError, OverflowError):
                pass  # an item the C encoder does not write exactly: Python writes the batch
        return encode_lines(items)

    def flush(self) -> None:
        pending = self.pending
        if not pending:
            return
        data = self._encode(pending)
        self._hash.update(data)
        self._done += len(pending)
        self._recent.extend(pending[-self._recent.maxlen :])
        pending.clear()
        if self._stream is not None:
            self._stream.write(data.decode())

    @property
    def events(self) -> int:
        return self._done + len(self.pending)

    @property
    def recent(self) -> deque[str]:
        """The last events' lines (for the monitor)."""
        self.flush()
        return deque(map(_line, self._recent), maxlen=self._recent.maxlen)

    @property
    def digest(self) -> str:
        self.flush()
        return self._hash.hexdigest()

    def close(self) -> None:
        self.flush()
        if self._stream is not None:
            self._stream.flush()
