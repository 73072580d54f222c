"""What a TCP conversation holds for its reader: the written pieces in order, kept as written.

A bytearray receive buffer copied every write into it (and grew, moved and reallocated
itself on the way); here a write's bytes object is queued as it is and a read that takes it
whole gets that very object, so bulk data is copied only out of the writer's memory and into
the reader's, as a host kernel copies it. Small writes are gathered in one bytearray (a chunk
per byte would cost far more host memory than the bytes charged for it), and a piece kept from
a larger object is copied out when it is less than half of it, so what the queue pins stays
within twice what it holds.
"""

from __future__ import annotations

from collections import deque

#: Writes shorter than this are appended to a gathering bytearray rather than queued apart.
SMALL = 4096

Piece = bytes | bytearray | memoryview


class RxQueue:
    """Ordered bytes, appended at the end and taken from the front (``+=``, :meth:`take`)."""

    __slots__ = ("chunks", "size")

    def __init__(self) -> None:
        self.chunks: deque[Piece] = deque()
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def __bool__(self) -> bool:
        return self.size > 0

    def __iadd__(self, data: Piece) -> RxQueue:
        """Queue ``data``: bytes (or a read-only view of bytes) as it is, anything else copied,
        since its owner may change it later."""
        n = len(data)
        if not n:
            return self
        chunks = self.chunks
        if n < SMALL:
            last = chunks[-1] if chunks else None
            if type(last) is bytearray and len(last) < SMALL:
                last += data
            else:
                chunks.append(bytearray(data))
        elif type(data) is bytes or (type(data) is memoryview and data.readonly and type(data.obj) is bytes):
            chunks.append(data if type(data) is bytes or 2 * n >= len(data.obj) else bytes(data))
        else:
            chunks.append(bytes(data))
        self.size += n
        return self

    def take(self, count: int) -> bytes | bytearray:
        """Up to ``count`` bytes from the front (at least one; the queue must not be empty). A
        piece taken whole is handed over, not copied."""
        chunks = self.chunks
        first = chunks[0]
        n = len(first)
        if n <= count and (n == count or len(chunks) == 1):
            chunks.popleft()
            self.size -= n
            return first if type(first) is not memoryview else first.tobytes()
        if n > count:
            view = memoryview(first)
            chunks[0] = view[count:]
            self.size -= count
            return view[:count].tobytes()
        parts: list[Piece] = []
        want = count
        while chunks and want:
            piece = chunks[0]
            if len(piece) <= want:
                parts.append(chunks.popleft())
                want -= len(piece)
            else:
                view = memoryview(piece)
                parts.append(view[:want])
                chunks[0] = view[want:]
                want = 0
        self.size -= count - want
        return b"".join(parts)

    def peek(self, count: int) -> bytes:
        """Up to ``count`` bytes from the front, left in place (MSG_PEEK)."""
        parts: list[Piece] = []
        for piece in self.chunks:
            if count <= 0:
                break
            parts.append(piece if len(piece) <= count else memoryview(piece)[:count])
            count -= len(piece)
        return b"".join(parts)

    def clear(self) -> None:
        self.chunks.clear()
        self.size = 0
