"""Tracing: one JSON object per line, stamped with virtual time; a hash proves determinism."""

from __future__ import annotations

import hashlib
import json
from collections import deque
from typing import IO, Any


class Tracer:
    """Collects events; writes them as JSON lines when given a stream, and hashes them always."""

    def __init__(self, stream: IO[str] | None = None, keep: int = 200) -> None:
        self._stream = stream
        self._hash = hashlib.sha256()
        self.events = 0
        #: The last ``keep`` events, for the monitor.
        self.recent: deque[str] = deque(maxlen=keep)

    def emit(self, event: dict[str, Any]) -> None:
        line = json.dumps(event, separators=(",", ":"), sort_keys=False)
        self._hash.update(line.encode())
        self._hash.update(b"\n")
        self.events += 1
        self.recent.append(line)
        if self._stream is not None:
            self._stream.write(line + "\n")

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()

    def close(self) -> None:
        if self._stream is not None:
            self._stream.flush()
