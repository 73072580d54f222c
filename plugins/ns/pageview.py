"""A view of a page cache's bytes where they lie, for a reader that sends them at once.

``PageCache.read`` copies the range it returns. A 9P export answering a read of a #tmpfs file
sends those bytes straight to a socket, which copies them again; when the range lies in one
run of consecutive frames (a file written in one go mostly does), a view of the frames spares
the first copy. The view shows the frames as they are when it is read: it is only valid until
anything else runs (a write to the file changes what it shows, a truncation frees the frames
for other files), so its reader must send or copy it before handling anything else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.api import PAGE_SIZE

if TYPE_CHECKING:
    from kernkit.api import PageCache

PAGE_SHIFT = PAGE_SIZE.bit_length() - 1


def view_of(cache: PageCache, offset: int, count: int) -> memoryview | None:
    """The bytes ``cache.read(offset, count)`` would return, as a view of their frames; None
    when they do not lie in one run of frames held (a hole, a page not read in yet, frames
    apart) or the range is empty."""
    end = min(offset + count, cache.size)
    if offset >= end:
        return None
    first, last = offset >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT
    pages = cache.pages
    start = pages.get(first)
    if start is None:
        return None
    if last > first:
        stop = start + ((last - first + 1) << PAGE_SHIFT)
        if list(map(pages.get, range(first, last + 1))) != list(range(start, stop, PAGE_SIZE)):
            return None
    at = start + (offset & (PAGE_SIZE - 1))
    return cache.memory.bytes[at : at + end - offset]
