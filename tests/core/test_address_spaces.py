"""Address spaces: free-gap search, copy-on-write sharing, page caches, translated code."""

from __future__ import annotations

import random

import pytest
from support import run_kernel

from kernkit.core import regions as regions_module
from kernkit.core.gaps import GapIndex
from kernkit.core.pagecache import PageCache
from kernkit.core.physmem import PAGE_SIZE, PhysicalMemory
from kernkit.core.regions import RegionMap
from kernkit.plugins.ns.api import devices

LIMIT = 1 << 30


def lowest_gap(regions: RegionMap, start: int, length: int) -> int | None:
    """find_gap the slow way: every candidate start, in order."""
    spans = [(r.start, r.end) for r in regions]
    inside = regions.find(start)
    if inside is not None:
        start = inside.end
    for candidate in sorted({start, *(end for _, end in spans if end >= start)}):
        if candidate + length <= LIMIT and not any(
            s < candidate + length and e > candidate for s, e in spans
        ):
            return candidate
    return None


@pytest.mark.parametrize("indexed", [False, True])
def test_find_gap_finds_the_lowest_fitting_gap(monkeypatch, indexed):
    if indexed:  # the gap index from the first region on, not only for large maps
        monkeypatch.setattr(regions_module, "INDEX_ABOVE", 2)
        monkeypatch.setattr(regions_module, "UNINDEX_BELOW", 1)
    for seed in range(30):
        rng = random.Random(seed)
        regions = RegionMap()
        for _ in range(300):
            start = rng.randrange(400) * PAGE_SIZE
            end = start + rng.randrange(1, 20) * PAGE_SIZE
            action = rng.random()
            if action < 0.5:
                regions.insert(start, end, rng.choice([1, 3]), "anon")
            elif action < 0.75:
                regions.remove(start, end)
            else:
                regions.protect(start, end, rng.choice([1, 3]))
            at, length = rng.randrange(420) * PAGE_SIZE, rng.randrange(1, 30) * PAGE_SIZE
            assert regions.find_gap(at, length, LIMIT) == lowest_gap(regions, at, length)


def test_the_gap_index_answers_like_a_scan():
    rng = random.Random(7)
    index, gaps = GapIndex(), {}
    for _ in range(3000):
        if rng.random() < 0.6 or not gaps:
            start = rng.randrange(2000)
            if start in gaps:
                index.remove(start)
            gaps[start] = rng.randrange(1, 60)
            index.add(start, gaps[start])
        else:
            start = rng.choice(list(gaps))
            index.remove(start)
            del gaps[start]
        at, size = rng.randrange(2000), rng.randrange(1, 60)
        expected = min((s for s, z in gaps.items() if s >= at and z >= size), default=None)
        assert index.first_fit(at, size) == expected
    assert len(index) == len(gaps)


def test_every_frame_comes_back_after_forks_mappings_and_files():
    # copy-on-write pages, page caches of removed files, shared anonymous memory, vfork: after
    # the run (every process gone, every file removed) no frame is held any more but the
    # pages of host files #root keeps cached for the next program that maps them
    run = run_kernel("mmaptest", "/tmp", "/bin/hello")
    assert run.status == 0, run.err
    memory = run.kernel.machine.memory
    cached = {
        frame >> 12
        for _, cache in devices(run.kernel).driver("root").caches.values()
        for frame in cache.pages.values()
    }
    assert cached  # /bin/hello's first page
    assert [number for number, held in enumerate(memory.refs) if held and number not in cached] == []


def test_page_cache_reads_writes_holes_and_truncation():
    memory = PhysicalMemory(64 * PAGE_SIZE)
    cache = PageCache(memory)
    cache.write(PAGE_SIZE + 10, b"hello")
    assert cache.size == PAGE_SIZE + 15
    assert cache.read(0, 4) == bytes(4)  # a hole
    assert 0 not in cache.pages  # holes take no frame
    assert cache.read(PAGE_SIZE + 8, 100) == b"\0\0hello"
    cache.resize(PAGE_SIZE + 12)
    assert cache.read(PAGE_SIZE + 8, 100) == b"\0\0he"
    cache.resize(3 * PAGE_SIZE)
    assert cache.read(PAGE_SIZE + 8, 8) == b"\0\0he\0\0\0\0"  # the cut-off bytes are gone
    used = 64 - memory.free_frames
    cache.drop()
    assert 64 - memory.free_frames == used - 1


def test_page_cache_reads_match_the_file_whatever_frames_hold_it():
    """Reads slice runs of adjacent frames at once: pages written out of order (frames not
    adjacent), holes and one run written in one go all read back as written."""
    memory = PhysicalMemory(128 * PAGE_SIZE)
    rng = random.Random(21)
    scattered, contents = PageCache(memory), bytearray(24 * PAGE_SIZE + 77)
    for _ in range(40):
        offset = rng.randrange(len(contents))
        data = rng.randbytes(min(rng.randrange(1, 3 * PAGE_SIZE), len(contents) - offset))
        scattered.write(offset, data)
        contents[offset : offset + len(data)] = data
    scattered.resize(len(contents))
    whole = rng.randbytes(16 * PAGE_SIZE)
    adjacent = PageCache(memory)
    adjacent.write(0, whole)
    frames = [adjacent.pages[i] for i in range(16)]
    assert frames == list(range(frames[0], frames[0] + 16 * PAGE_SIZE, PAGE_SIZE))
    for _ in range(2000):
        offset, count = rng.randrange(len(contents) + 8), rng.randrange(9 * PAGE_SIZE)
        assert scattered.read(offset, count) == bytes(contents[offset : offset + count])
        offset = rng.randrange(len(whole))
        assert adjacent.read(offset, count) == whole[offset : offset + count]


def test_exits_do_not_drop_all_translated_code(monkeypatch):
    """Freed code frames are forgotten one range at a time: a shell running programs one
    after another keeps its own translations."""
    from kernkit.arch.x86_64.cpu import X86Core

    flushes = []
    original = X86Core._run_once

    def counting(self, *args):
        if self.needs_tb_flush:
            flushes.append(self.index)
        return original(self, *args)

    monkeypatch.setattr(X86Core, "_run_once", counting)
    run = run_kernel("run", *["hello"] * 5, "echo_args done")
    assert run.status == 0 and "argv[1]=done" in run.out, run.err
    assert flushes == []


def test_kernel_copies_follow_forks_write_faults_moves_and_unmaps():
    """The kernel's copies to and from user ranges take the frames the page tables hold now:
    the same buffer copied again after a fork, a copy-on-write fault, an mremap, a discard or
    an munmap reaches the new frames, never those it used before."""
    import io

    from kernkit.core.assemble import assemble
    from kernkit.core.vm import PROT_READ, PROT_WRITE, AddressSpace

    machine = assemble(None, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO()).machine
    parent = AddressSpace(machine.memory, machine.new_page_table(), machine.user_limit)
    base, length = 0x400000, 5 * PAGE_SIZE
    parent.add_region(base, base + 8 * PAGE_SIZE, PROT_READ | PROT_WRITE)
    buffer = base + 100  # across six pages
    for _ in range(2):  # the second copy of each range is the remembered one
        parent.write(buffer, b"a" * length)
        assert parent.read(buffer, length) == b"a" * length
    child = parent.fork(machine.new_page_table())
    parent.write(buffer, b"b" * length)  # a copy-on-write fault in each page
    assert child.read(buffer, length) == b"a" * length
    assert parent.read(buffer, length) == b"b" * length
    for _ in range(2):
        child.write(buffer, b"c" * length)
        assert parent.read(buffer, length) == b"b" * length
        assert child.read(buffer, length) == b"c" * length
    parent.move_range(base, 8 * PAGE_SIZE, base + 16 * PAGE_SIZE)
    parent.add_region(base, base + 8 * PAGE_SIZE, PROT_READ | PROT_WRITE)
    assert parent.read(buffer, length) == bytes(length)
    assert parent.read(buffer + 16 * PAGE_SIZE, length) == b"b" * length
    parent.write(buffer, b"d" * length)
    parent.discard(base, base + 8 * PAGE_SIZE)
    assert parent.read(buffer, length) == bytes(length)
    parent.write(buffer, b"e" * length)
    parent.remove_range(base, base + 8 * PAGE_SIZE)
    parent.add_region(base, base + 8 * PAGE_SIZE, PROT_READ | PROT_WRITE)
    assert parent.read(buffer, length) == bytes(length)
    assert child.read(buffer, length) == b"c" * length
