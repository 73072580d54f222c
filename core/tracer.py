"""Tracing: one JSON object per line, stamped with virtual time; a hash proves determinism.

Lines are hashed and written in batches (the hash of the whole stream does not depend on how
it is cut), and the hottest event, a system call, is formatted without building a dict, so a
traced system call costs at most twice an untraced one (bench/run.py measures it).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Sequence
from typing import IO, Any

#: Lines kept before they are hashed and written together.
BATCH = 256

_encode = json.JSONEncoder(separators=(",", ":"), check_circular=False).encode


class SyscallLines:
    """Formats ``syscall`` events exactly as :func:`json.dumps` of the event dict would, without
    building the dict; the part fixed for a (core, thread, call) is kept between calls."""

    KEEP = 4096

    def __init__(self) -> None:
        self._middles: dict[tuple[int | None, int, int], str] = {}

    def line(
        self,
        t: int,
        core: int | None,
        pid: int,
        tid: int,
        name: str,
        nr: int,
        args: Sequence[int],
        ret: int | None,
    ) -> str:
        key = (core, tid, nr)
        middle = self._middles.get(key)
        if middle is None:
            if len(self._middles) >= self.KEEP:
                self._middles.clear()
            where = f',"core":{core}' if core is not None else ""
            middle = f'"ev":"syscall"{where},"pid":{pid},"tid":{tid},"name":{json.dumps(name)},"nr":{nr}'
            self._middles[key] = middle
        result = "null" if ret is None else ret
        return f'{{"t":{t},{middle},"args":[{",".join(map(str, args))}],"ret":{result}}}'


class Tracer:
    """Collects events; writes them as JSON lines when given a stream, and hashes them always."""

    def __init__(self, stream: IO[str] | None = None, keep: int = 200) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self._pending: list[str] = []
        self._done = 0
        self._recent: deque[str] = deque(maxlen=keep)

    def emit(self, event: dict[str, Any]) -> None:
        self.emit_line(_encode(event))

    def emit_line(self, line: str) -> None:
        """An event already written as one JSON object (see :func:`syscall_line`)."""
        pending = self._pending
        pending.append(line)
        if len(pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        pending = self._pending
        if not pending:
            return
        text = "\n".join(pending) + "\n"
        self._hash.update(text.encode())
        self._done += len(pending)
        self._recent.extend(pending[-self._recent.maxlen :])
        pending.clear()
        if self._stream is not None:
            self._stream.write(text)

    @property
    def events(self) -> int:
        return self._done + len(self._pending)

    @property
    def recent(self) -> deque[str]:
        """The last events (for the monitor)."""
        self.flush()
        return self._recent

    @property
    def digest(self) -> str:
        self.flush()
        return self._hash.hexdigest()

    def close(self) -> None:
        self.flush()
        if self._stream is not None:
            self._stream.flush()
