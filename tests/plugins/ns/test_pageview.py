"""Views of a #tmpfs file's frames (pageview.py) show what a copying read returns."""

from __future__ import annotations

import random

from kernkit.core.pagecache import PageCache
from kernkit.core.physmem import PAGE_SIZE, PhysicalMemory
from kernkit.plugins.ns.pageview import view_of


def test_a_view_shows_what_a_read_copies_or_is_refused():
    """Pages written out of order (frames apart), holes and a run written in one go: where a
    view is given it holds the bytes a read returns; a range in one run of frames gets one."""
    memory = PhysicalMemory(128 * PAGE_SIZE)
    rng = random.Random(7)
    scattered, contents = PageCache(memory), bytearray(24 * PAGE_SIZE + 77)
    for _ in range(40):
        offset = rng.randrange(len(contents))
        data = rng.randbytes(min(rng.randrange(1, 3 * PAGE_SIZE), len(contents) - offset))
        scattered.write(offset, data)
        contents[offset : offset + len(data)] = data
    scattered.resize(len(contents))
    whole = PageCache(memory)
    whole.write(0, rng.randbytes(16 * PAGE_SIZE + 100))
    given = refused = 0
    for cache in (scattered, whole):
        for _ in range(2000):
            offset, count = rng.randrange(cache.size + 8), rng.randrange(9 * PAGE_SIZE)
            view = view_of(cache, offset, count)
            if view is None:
                refused += 1
            else:
                given += 1
                assert bytes(view) == cache.read(offset, count)
    assert view_of(whole, 0, whole.size) is not None  # one run of frames: no copy
    assert view_of(whole, whole.size, 10) is None
    assert given > 1000 and refused > 100
