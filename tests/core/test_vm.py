"""Address spaces over real x86-64 page tables, without a machine: what a page's rights allow,
demand paging, PROT_NONE, and the kernel's copies in and out of user memory (BadAddress is the
guest's EFAULT)."""

from __future__ import annotations

import pytest

from kernkit.arch.x86_64.paging import ADDRESS_MASK, NO_EXECUTE, PRESENT, USER, WRITABLE, X86PageTable, walk
from kernkit.core.errors import BadAddress, OutOfMemory
from kernkit.core.physmem import PAGE_SIZE, PhysicalMemory
from kernkit.core.vm import PROT_EXEC, PROT_READ, PROT_WRITE, AddressSpace

RW, RX, RO = PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, PROT_READ
LIMIT = 0x8000_0000_0000
BASE = 0x40_0000


def frames_left(memory: PhysicalMemory) -> int:
    """How many frames could still be allocated (they are given back)."""
    taken = []
    try:
        while True:
            taken.append(memory.alloc_frame())
    except OutOfMemory:
        pass
    for frame in taken:
        memory.free_frame(frame)
    return len(taken)


@pytest.fixture
def memory():
    physical = PhysicalMemory(128 * PAGE_SIZE)
    yield physical
    physical.close()


@pytest.fixture
def space(memory):
    aspace = AddressSpace(memory, X86PageTable(memory), LIMIT)
    aspace.events = []
    aspace.on_unmap = lambda a, code: a.events.append("unmap" if code else "unmap data")
    aspace.on_code_write = lambda a: a.events.append("code write")
    return aspace


# --- the page table --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writable", "executable"), [(False, False), (True, False), (False, True), (True, True)]
)
def test_a_mapping_carries_its_rights_in_the_entry_the_cpu_walks(memory, writable, executable):
    table = X86PageTable(memory)
    frame = memory.alloc_frame()
    table.map(BASE, frame, writable, executable)
    assert table.lookup(BASE) == (frame, writable, executable)
    entry = walk(memory.words, table.root, BASE)
    assert entry & ADDRESS_MASK == frame and entry & (PRESENT | USER) == PRESENT | USER
    assert bool(entry & WRITABLE) == writable and bool(entry & NO_EXECUTE) != executable
    table.protect(BASE, not writable, not executable)
    assert table.lookup(BASE) == (frame, not writable, not executable)


def test_each_level_of_the_address_picks_its_own_entry(memory):
    table = X86PageTable(memory)
    addresses = [
        BASE,
        BASE + PAGE_SIZE,
        BASE + (1 << 21),
        BASE + (1 << 30),
        BASE + (1 << 39),
        LIMIT - PAGE_SIZE,
    ]
    frames = [memory.alloc_frame() for _ in addresses]
    for va, frame in zip(addresses, frames, strict=True):
        table.map(va, frame, True, False)
    for va, frame in zip(addresses, frames, strict=True):
        assert table.lookup(va) == (frame, True, False)
        assert walk(memory.words, table.root, va) & ADDRESS_MASK == frame
        assert table.lookup(va + 12) == (frame, True, False)  # any address in the page
    for absent in (BASE + 2 * PAGE_SIZE, BASE + (2 << 21), BASE + (2 << 30), BASE + (2 << 39)):
        assert table.lookup(absent) is None and walk(memory.words, table.root, absent) == 0


def test_pages_of_neighbouring_2_mib_spans_go_into_their_own_leaf_tables(memory):
    # a second mapping in a span finds the span's leaf table by its number (va >> 21)
    table = X86PageTable(memory)
    spans = [BASE + span * (1 << 21) for span in range(4)]
    frames = {va: memory.alloc_frame() for va in spans}
    for va in spans:
        table.map(va, frames[va], True, False)
    more = {va + PAGE_SIZE: memory.alloc_frame() for va in spans}
    for va, frame in more.items():
        table.map(va, frame, False, True)
    for va, frame in {**frames, **more}.items():
        assert walk(memory.words, table.root, va) & ADDRESS_MASK == frame
    assert table.lookup(spans[2] + PAGE_SIZE) == (more[spans[2] + PAGE_SIZE], False, True)


def test_unmapping_gives_the_frame_back_and_absent_pages_are_left_alone(memory):
    table = X86PageTable(memory)
    frame = memory.alloc_frame()
    table.map(BASE, frame, True, True)
    before = frames_left(memory)
    assert table.unmap(BASE + (1 << 39)) is None  # no table there: none is made
    table.protect(BASE + (1 << 39), True, True)
    assert frames_left(memory) == before
    assert table.unmap(BASE + PAGE_SIZE) is None  # a table, but no entry
    table.protect(BASE + PAGE_SIZE, True, True)
    assert table.lookup(BASE + PAGE_SIZE) is None  # protect makes nothing present
    assert table.unmap(BASE) == frame
    assert table.lookup(BASE) is None and table.unmap(BASE) is None


def test_releasing_a_table_frees_every_table_page_but_not_the_mapped_frames(memory):
    fresh = frames_left(memory)
    table = X86PageTable(memory)
    frames = [memory.alloc_frame() for _ in range(3)]
    for i, frame in enumerate(frames):
        table.map(BASE + i * (1 << 39), frame, True, False)  # three PDPTs, PDs and PTs
    assert frames_left(memory) == fresh - 1 - 9 - 3
    table.release()
    assert frames_left(memory) == fresh - 3


# --- regions and demand paging ---------------------------------------------------------------


def test_regions_are_page_aligned_and_inside_the_limit(space):
    space.add_region(BASE + 5, BASE + PAGE_SIZE + 1, RW)
    region = space.region_at(BASE)
    assert (region.start, region.end) == (BASE, BASE + 2 * PAGE_SIZE)
    for start, end in [(BASE, BASE), (BASE + PAGE_SIZE, BASE), (LIMIT - PAGE_SIZE, LIMIT + 1)]:
        with pytest.raises(BadAddress):
            space.add_region(start, end, RW)
    space.add_region(LIMIT - PAGE_SIZE, LIMIT, RW)  # up to the limit itself is fine


@pytest.mark.parametrize(
    ("prot", "allowed"),
    [
        (RW, {"read", "write"}),
        (RO, {"read"}),
        (RX, {"read", "exec"}),
        (0, set()),
        (PROT_WRITE, {"read", "write"}),
    ],
)
def test_a_touch_maps_a_zero_page_only_for_what_the_region_allows(space, prot, allowed):
    for access in ("read", "write", "exec"):
        space.add_region(BASE, BASE + PAGE_SIZE, prot)
        frame = space.resolve_fault(BASE + 100, access)
        assert (frame is not None) == (access in allowed), access
        if frame is not None:
            entry = space.page_table.lookup(BASE)
            assert entry == (frame, bool(prot & PROT_WRITE), bool(prot & PROT_EXEC))
            assert bytes(space.memory.bytes[frame : frame + PAGE_SIZE]) == bytes(PAGE_SIZE)
            assert space.resolve_fault(BASE, "read") == frame  # present: the same frame
        space.remove_range(BASE, BASE + PAGE_SIZE)
    assert space.resolve_fault(BASE + (1 << 30), "read") is None  # no region


def test_a_present_read_only_page_refuses_a_write(space):
    space.add_region(BASE, BASE + PAGE_SIZE, RO)
    assert space.resolve_fault(BASE, "read") is not None
    assert space.resolve_fault(BASE, "write") is None


def test_protect_changes_the_rights_of_present_pages(space):
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    space.write(BASE, b"abc")
    frame = space.page_table.lookup(BASE)[0]
    space.events.clear()
    assert space.protect_range(BASE, BASE + PAGE_SIZE, RX)
    assert space.page_table.lookup(BASE) == (frame, False, True)
    assert space.memory.is_code(frame) and space.events == ["unmap"]  # every core drops its TLB
    assert space.page_table.lookup(BASE + PAGE_SIZE) is None  # not touched: still absent
    assert not space.protect_range(BASE, BASE + 3 * PAGE_SIZE, RO)  # a page past the region
    assert space.page_table.lookup(BASE) == (frame, False, True)


def test_protecting_a_range_with_no_page_present_succeeds_and_flushes_nothing(space):
    """musl maps a new thread's stack PROT_NONE and opens it read-write before any page exists:
    no TLB can hold an entry for it, so no core is told to flush; the rights hold at the fault."""
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, 0)
    space.events.clear()
    assert space.protect_range(BASE, BASE + 2 * PAGE_SIZE, RW)
    assert space.events == []
    assert space.resolve_fault(BASE + PAGE_SIZE, "write") is not None
    assert space.page_table.lookup(BASE + PAGE_SIZE)[1] is True


def test_prot_none_hides_pages_and_their_contents_come_back(space, memory):
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    space.write(BASE, b"kept")
    left = frames_left(memory)
    assert space.protect_range(BASE, BASE + 2 * PAGE_SIZE, 0)
    assert space.page_table.lookup(BASE) is None and frames_left(memory) == left  # the frame is kept
    with pytest.raises(BadAddress):
        space.read(BASE, 4)
    assert space.resolve_fault(BASE, "read") is None
    space.protect_range(BASE, BASE + 2 * PAGE_SIZE, RO)
    assert space.read(BASE, 4) == b"kept"
    assert space.page_table.lookup(BASE)[1:] == (False, False)


def test_unmapping_frees_present_and_hidden_pages(space, memory):
    fresh = frames_left(memory)
    space.add_region(BASE, BASE + 4 * PAGE_SIZE, RW)
    space.write(BASE, b"x" * (3 * PAGE_SIZE))
    space.protect_range(BASE + 2 * PAGE_SIZE, BASE + 3 * PAGE_SIZE, 0)
    tables = 3  # a PDPT, a PD and a PT under the PML4
    assert frames_left(memory) == fresh - 3 - tables
    space.events.clear()
    space.remove_range(BASE + 3 * PAGE_SIZE, BASE + 4 * PAGE_SIZE)  # nothing present there
    assert space.events == []
    space.remove_range(BASE, BASE + 4 * PAGE_SIZE)
    assert space.events == ["unmap data"] and frames_left(memory) == fresh - tables
    assert space.region_at(BASE) is None and space.resolve_fault(BASE, "read") is None


def test_a_shootdown_says_whether_executable_pages_were_among_the_changed(space):
    """The machine keeps what it learnt of the code at each address (block counts) across
    changes to data pages only: a thread's stack coming and going costs no recount."""
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    space.add_region(BASE + 2 * PAGE_SIZE, BASE + 4 * PAGE_SIZE, RX)
    for page in range(4):
        assert space.resolve_fault(BASE + page * PAGE_SIZE, "read") is not None
    space.events.clear()
    space.protect_range(BASE, BASE + PAGE_SIZE, 0)  # a stack's guard page
    space.discard(BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE)  # madvise(MADV_DONTNEED)
    space.write(BASE + PAGE_SIZE, b"again")
    space.remove_range(BASE, BASE + 2 * PAGE_SIZE)
    assert space.events == ["unmap data"] * 3
    space.events.clear()
    space.protect_range(BASE + 2 * PAGE_SIZE, BASE + 3 * PAGE_SIZE, RO)  # code no longer runs
    space.protect_range(BASE + 2 * PAGE_SIZE, BASE + 3 * PAGE_SIZE, RX)  # it runs again
    space.remove_range(BASE + 3 * PAGE_SIZE, BASE + 4 * PAGE_SIZE)
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.write(BASE, b"\xc3")
    space.protect_range(BASE, BASE + PAGE_SIZE, RX)  # code written, then made executable
    assert space.events == ["unmap"] * 4


def test_replacing_a_region_drops_its_pages(space):
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.write(BASE, b"old")
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    assert space.read(BASE, 3) == bytes(3)


def test_release_gives_everything_back(memory):
    fresh = frames_left(memory)
    space = AddressSpace(memory, X86PageTable(memory), LIMIT)
    released = []
    space.on_release = released.append  # what the cores cached of it goes with it
    space.add_region(BASE, BASE + 3 * PAGE_SIZE, RW)
    space.write(BASE, b"y" * 3 * PAGE_SIZE)
    space.protect_range(BASE, BASE + PAGE_SIZE, 0)
    space.release()
    assert frames_left(memory) == fresh and released == [space]
    assert space.region_at(BASE) is None and not space.present and not space.hidden


def test_find_free_skips_regions(space):
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    assert space.find_free(PAGE_SIZE, BASE) == BASE + 2 * PAGE_SIZE
    assert space.find_free(1, BASE + 5) == BASE + 2 * PAGE_SIZE
    assert space.find_free(PAGE_SIZE, BASE + 2 * PAGE_SIZE + 100) == BASE + 2 * PAGE_SIZE
    assert space.find_free(2 * LIMIT, 0) is None


def test_map_frame_installs_a_given_frame_with_the_rights_asked(space, memory):
    space.add_region(BASE, BASE + PAGE_SIZE, RX)
    frame = memory.alloc_frame()
    memory.bytes[frame : frame + 2] = b"\x90\xc3"
    space.map_frame(BASE + 7, frame, RX)
    assert space.page_table.lookup(BASE) == (frame, False, True) and memory.is_code(frame)
    assert space.read(BASE, 2) == b"\x90\xc3"


# --- the kernel's copies in and out ----------------------------------------------------------


def test_reads_and_writes_across_pages_fault_pages_in(space):
    space.add_region(BASE, BASE + 3 * PAGE_SIZE, RW)
    data = bytes(range(256)) * 20  # 5120 bytes over two page boundaries
    space.write(BASE + PAGE_SIZE - 100, data)
    assert space.read(BASE + PAGE_SIZE - 100, len(data)) == data
    end = BASE + PAGE_SIZE - 100 + len(data)
    assert space.read(BASE, 4) == bytes(4) and space.read(end - 4, 8) == data[-4:] + bytes(4)
    assert space.read(BASE, 0) == b""
    space.write(BASE, b"")
    space.write_u64(BASE + PAGE_SIZE - 4, -2)
    assert space.read(BASE + PAGE_SIZE - 4, 8) == b"\xfe" + b"\xff" * 7
    assert space.read_u64(BASE + PAGE_SIZE - 4) == 2**64 - 2
    space.write_u64(BASE, 0x0102030405060708)
    assert space.read(BASE, 8) == bytes([8, 7, 6, 5, 4, 3, 2, 1])


def test_a_copy_over_pages_whose_frames_are_apart_keeps_every_byte_in_place(space):
    space.add_region(BASE, BASE + 4 * PAGE_SIZE, RW)
    for page in (3, 2, 1, 0):  # touched last to first: no two frames follow each other
        space.write(BASE + page * PAGE_SIZE, b"t")
    data = bytes(range(251)) * 60  # 15060 bytes over four pages, none a multiple of another
    space.write(BASE + 100, data)
    assert space.read(BASE + 100, len(data)) == data
    pages = b"".join(space.read(BASE + page * PAGE_SIZE, PAGE_SIZE) for page in range(4))
    assert pages[100 : 100 + len(data)] == data  # page by page, as each page holds it


@pytest.mark.parametrize("length", [1, 8, PAGE_SIZE, PAGE_SIZE + 1])
def test_a_write_into_a_read_only_page_is_refused_and_writes_nothing(space, length):
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.add_region(BASE + PAGE_SIZE, BASE + 3 * PAGE_SIZE, RO)
    space.read(BASE + PAGE_SIZE, 1)  # present (and known to the kernel) read-only
    for va in (BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE, BASE + PAGE_SIZE - length // 2):
        with pytest.raises(BadAddress):
            space.write(va, b"w" * length)
    assert space.read(BASE + PAGE_SIZE, 2 * PAGE_SIZE) == bytes(2 * PAGE_SIZE)


def test_a_page_made_read_only_is_read_only_to_the_kernel_at_once(space):
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.write(BASE, b"before")  # the kernel now knows the page as writable
    space.protect_range(BASE, BASE + PAGE_SIZE, RO)
    with pytest.raises(BadAddress):
        space.write(BASE, b"after")
    with pytest.raises(BadAddress):
        space.write_u64(BASE, 1)
    assert space.read(BASE, 6) == b"before"
    assert not space.allows(BASE, 6, "write") and space.allows(BASE, 6, "read")
    space.protect_range(BASE, BASE + PAGE_SIZE, 0)
    with pytest.raises(BadAddress):
        space.read(BASE, 1)  # nor readable once PROT_NONE, though it was read before
    space.protect_range(BASE, BASE + PAGE_SIZE, RW)
    space.write(BASE, b"again")
    assert space.read(BASE, 6) == b"again!"[:5] + b"e"


def test_an_unmapped_page_is_gone_for_the_kernel_too(space):
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.write(BASE, b"data")
    space.remove_range(BASE, BASE + PAGE_SIZE)
    for call in (lambda: space.read(BASE, 4), lambda: space.write(BASE, b"x"), lambda: space.read_u64(BASE)):
        with pytest.raises(BadAddress):
            call()
    assert not space.allows(BASE, 1, "read")


@pytest.mark.parametrize(
    ("va", "length"),
    [(-1, 1), (-PAGE_SIZE, 2 * PAGE_SIZE), (LIMIT - 4, 8), (LIMIT, 1), (BASE + PAGE_SIZE - 2, 4), (BASE, -1)],
)
def test_pointers_outside_what_is_mapped_are_bad_addresses(space, va, length):
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.add_region(LIMIT - PAGE_SIZE, LIMIT, RW)
    with pytest.raises(BadAddress) as info:
        space.read(va, length)
    assert info.value.access == "read"
    if length > 0:
        with pytest.raises(BadAddress) as info:
            space.write(va, b"z" * length)
        assert info.value.access == "write"
        assert not space.allows(va, length, "read")


def test_allows_answers_without_touching(space):
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.add_region(BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE, RX)
    assert space.allows(BASE, PAGE_SIZE, "write") and space.allows(BASE, 2 * PAGE_SIZE, "read")
    assert not space.allows(BASE, PAGE_SIZE + 1, "write") and not space.allows(BASE, PAGE_SIZE + 1, "exec")
    assert space.allows(BASE + PAGE_SIZE, 10, "exec")
    assert not space.present  # nothing was touched
    space.write(BASE, b"x")
    assert space.allows(BASE + 10, 20, "write") and space.allows(BASE + PAGE_SIZE - 1, 1, "write")
    assert not space.allows(BASE + PAGE_SIZE - 1, 2, "write")
    assert not space.allows(BASE + 2 * PAGE_SIZE, 1, "read") and not space.allows(LIMIT - 1, 2, "read")


def test_a_write_into_a_code_page_tells_the_machine(space):
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC)
    space.write(BASE, b"\xc3")
    assert space.events == ["code write"]
    space.events.clear()
    space.write(BASE + PAGE_SIZE - 1, b"\x90\x90")  # across a page: the general path
    assert "code write" in space.events
    space.add_region(BASE + 4 * PAGE_SIZE, BASE + 6 * PAGE_SIZE, RW)
    space.events.clear()
    space.write(BASE + 4 * PAGE_SIZE, b"data")
    space.write(BASE + 5 * PAGE_SIZE - 2, b"1234")  # data pages only, either way: nothing to tell
    assert space.events == []


def test_strings_are_read_up_to_their_nul_within_the_limit(space):
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    space.add_region(BASE + 3 * PAGE_SIZE, BASE + 4 * PAGE_SIZE, RW)
    space.write(BASE, b"short\0rest")
    assert space.read_cstring(BASE, 100) == b"short"  # the page is known: the quick way
    assert space.read_cstring(BASE + 1, 6) == b"hort"
    assert space.read_cstring(BASE, 5) is None  # no NUL in the first 5 bytes
    assert space.read_cstring(BASE, 6) == b"short"
    space.write(BASE + PAGE_SIZE - 3, b"spans\0")
    assert space.read_cstring(BASE + PAGE_SIZE - 3, 100) == b"spans"  # across a page
    assert space.read_cstring(BASE + PAGE_SIZE - 3, 5) is None
    assert space.read_cstring(BASE + PAGE_SIZE + 10, 100) == b""  # a zero page: empty
    space.write(BASE + 2 * PAGE_SIZE - 4, b"edge")
    with pytest.raises(BadAddress):
        space.read_cstring(BASE + 2 * PAGE_SIZE - 4, 100)  # runs into a hole
    assert space.read_cstring(BASE + 2 * PAGE_SIZE - 4, 4) is None  # the limit comes first
    with pytest.raises(BadAddress):
        space.read_cstring(BASE + 2 * PAGE_SIZE, 10)
    with pytest.raises(BadAddress):
        space.read_cstring(-8, 10)
    fresh = BASE + 3 * PAGE_SIZE  # never touched: faulted in by the slow path
    assert space.read_cstring(fresh + 8, 10) == b""
    space.write(fresh + PAGE_SIZE - 2, b"ab")
    space.remove_range(fresh, fresh + PAGE_SIZE)
    space.add_region(fresh, fresh + PAGE_SIZE, RW)
    space.write(fresh, b"long string" * 30 + b"\0")
    assert space.read_cstring(fresh, 1000) == b"long string" * 30


# --- pages the kernel already knows (its cache of page-table entries) ----------------------------


def known(space, *pages: int) -> None:  # noqa: ANN001
    """Touch each page twice: the second access finds it present and remembers its entry."""
    for page in pages:
        space.read(page, 1)
        space.read(page, 1)


def test_known_pages_are_read_and_written_at_the_right_offsets(space):
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    known(space, BASE, BASE + PAGE_SIZE)
    space.write(BASE, b"a")
    space.write(BASE + PAGE_SIZE - 1, b"z")
    space.write(BASE + 100, b"middle")
    assert space.read(BASE, 1) == b"a" and space.read(BASE + PAGE_SIZE - 1, 1) == b"z"
    assert space.read(BASE + 99, 8) == b"\0middle\0"
    assert space.read(BASE + PAGE_SIZE - 2, 4) == b"\0z\0\0"
    space.write(BASE + PAGE_SIZE, b"1234")
    space.write_u64(BASE + 8, 0x0102030405060708)
    assert space.read(BASE + 8, 9) == bytes([8, 7, 6, 5, 4, 3, 2, 1, 0])  # eight bytes, no more
    assert space.read(BASE + PAGE_SIZE, 4) == b"1234"


def test_known_pages_keep_their_rights(space):
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.add_region(BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE, RX)
    space.add_region(BASE + 2 * PAGE_SIZE, BASE + 3 * PAGE_SIZE, RO)
    known(space, BASE, BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE)
    for page in (BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE):
        with pytest.raises(BadAddress):
            space.write(page, b"x")
        assert not space.allows(page, 1, "write") and space.allows(page, 1, "read")
    assert space.allows(BASE, PAGE_SIZE, "write")
    assert not space.allows(BASE + PAGE_SIZE - 1, 2, "write")  # the second byte is on the RX page
    assert not space.allows(BASE, PAGE_SIZE + 1, "write")
    assert space.read(BASE + PAGE_SIZE, 4) == bytes(4)


def test_a_write_into_a_known_code_page_tells_the_machine(space):
    space.add_region(BASE, BASE + PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC)
    known(space, BASE)
    space.events.clear()
    space.write(BASE + 5, b"\x90")
    assert space.events == ["code write"]


def test_address_zero_and_the_last_bytes_below_the_limit_are_ordinary_memory(space):
    space.add_region(0, PAGE_SIZE, RW)
    space.add_region(LIMIT - PAGE_SIZE, LIMIT, RW)
    space.write(0, b"zero page")
    assert space.read(0, 9) == b"zero page" and space.allows(0, 1, "read")
    space.write(LIMIT - 8, b"the end!")
    assert space.read(LIMIT - 8, 8) == b"the end!"
    assert space.allows(LIMIT - 8, 8, "write") and space.allows(LIMIT - PAGE_SIZE, PAGE_SIZE, "read")
    assert space.read_cstring(0, 100) == b"zero page"


def test_pages_at_address_zero_and_below_the_limit_are_allowed_before_they_are_touched(space):
    space.add_region(0, PAGE_SIZE, RW)
    space.add_region(LIMIT - PAGE_SIZE, LIMIT, RO)
    assert space.allows(0, 8, "write") and space.allows(LIMIT - 8, 8, "read")
    assert space.allows(LIMIT - 2 * PAGE_SIZE, 2 * PAGE_SIZE, "read") is False  # a hole before
    assert not space.allows(LIMIT - 8, 9, "read") and not space.allows(LIMIT - 8, 8, "write")
    assert not space.present  # answered from the regions alone


def test_a_string_ending_at_the_last_byte_before_a_hole(space):
    space.add_region(BASE, BASE + PAGE_SIZE, RW)  # never touched, then nothing mapped after it
    assert space.read_cstring(BASE + PAGE_SIZE - 1, 10) == b""
    space.write(BASE + PAGE_SIZE - 3, b"ab\0")
    assert space.read_cstring(BASE + PAGE_SIZE - 3, 10) == b"ab"


def test_known_strings_are_read_from_where_they_start(space):
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    space.write(BASE + 10, b"first\0second\0")
    space.write(BASE + PAGE_SIZE - 4, b"wrap\0")
    known(space, BASE, BASE + PAGE_SIZE)
    assert space.read_cstring(BASE + 10, 100) == b"first"
    assert space.read_cstring(BASE + 16, 100) == b"second"
    assert space.read_cstring(BASE + 16, 6) is None and space.read_cstring(BASE + 16, 7) == b"second"
    assert space.read_cstring(BASE + 11, 3) is None
    assert space.read_cstring(BASE + PAGE_SIZE - 4, 100) == b"wrap"
    space.write(BASE + PAGE_SIZE - 2, b"xy")  # now runs on into the next page
    space.write(BASE + PAGE_SIZE, b"z\0")
    assert space.read_cstring(BASE + PAGE_SIZE - 4, 100) == b"wrxyz"


def test_unmapping_a_range_leaves_the_page_just_past_it(space):
    space.add_region(BASE, BASE + 8 * PAGE_SIZE, RW)
    space.write(BASE + 4 * PAGE_SIZE, b"stays")
    space.remove_range(BASE, BASE + 4 * PAGE_SIZE)  # four pages, one present page past them
    assert space.read(BASE + 4 * PAGE_SIZE, 5) == b"stays"
    space.write(BASE + 6 * PAGE_SIZE, b"also")
    space.protect_range(BASE + 4 * PAGE_SIZE, BASE + 6 * PAGE_SIZE, 0)
    space.remove_range(BASE + 6 * PAGE_SIZE, BASE + 8 * PAGE_SIZE)
    space.protect_range(BASE + 4 * PAGE_SIZE, BASE + 6 * PAGE_SIZE, RW)
    assert space.read(BASE + 4 * PAGE_SIZE, 5) == b"stays"  # hidden, and kept


def test_protection_reaches_every_present_page_of_the_range(space):
    space.add_region(BASE, BASE + 3 * PAGE_SIZE, RW)
    space.write(BASE, b"x" * (3 * PAGE_SIZE))
    space.protect_range(BASE, BASE + 3 * PAGE_SIZE, RO)
    assert [space.page_table.lookup(BASE + i * PAGE_SIZE)[1:] for i in range(3)] == [(False, False)] * 3
    assert not any(space.memory.is_code(space.page_table.lookup(BASE + i * PAGE_SIZE)[0]) for i in range(3))
    space.protect_range(BASE, BASE + 3 * PAGE_SIZE, 0)
    assert all(space.page_table.lookup(BASE + i * PAGE_SIZE) is None for i in range(3))
    assert len(space.hidden) == 3


def test_no_frame_for_a_page_table_gives_the_data_frame_back():
    memory = PhysicalMemory(8 * PAGE_SIZE)
    space = AddressSpace(memory, X86PageTable(memory), LIMIT)
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.add_region(BASE + (1 << 39), BASE + (1 << 39) + PAGE_SIZE, RW)
    space.write(BASE, b"x")  # the root and three tables, and the page: 5 of 8 frames
    assert frames_left(memory) == 3
    with pytest.raises(OutOfMemory):
        space.write(BASE + (1 << 39), b"y")  # needs three tables and a page: four
    assert frames_left(memory) == 3 - 2  # two tables were made; the data frame came back
    memory.close()


def test_intermediate_tables_let_user_mode_through(memory):
    table = X86PageTable(memory)
    table.map(BASE, memory.alloc_frame(), False, False)
    entry_address = table.root
    for shift in (39, 30, 21):
        entry = memory.words[(entry_address >> 3) + ((BASE >> shift) & 511)]
        assert entry & (PRESENT | WRITABLE | USER) == PRESENT | WRITABLE | USER  # the leaf decides
        entry_address = entry & ADDRESS_MASK
    before = frames_left(memory)
    assert table.lookup(BASE + (1 << 39)) is None and frames_left(memory) == before  # looking makes no table


# --- frames held by more than one -------------------------------------------------------------


def test_a_forked_space_shares_pages_until_one_side_writes(memory):
    fresh = frames_left(memory)
    parent = AddressSpace(memory, X86PageTable(memory), LIMIT)
    parent.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    parent.write(BASE, b"p" * (2 * PAGE_SIZE))
    before_fork = frames_left(memory)
    child = parent.fork(X86PageTable(memory))
    tables = before_fork - frames_left(memory)  # the child's page tables, no data frame
    assert child.read(BASE, 3) == b"ppp" and parent.resolve_fault(BASE, "read") is not None
    assert child.resolve_fault(BASE, "read") == parent.resolve_fault(BASE, "read")  # a read copies nothing
    assert before_fork - frames_left(memory) == tables
    child.write(BASE, b"c")  # one copy, of the page written
    assert before_fork - frames_left(memory) == tables + 1
    assert parent.read(BASE, 2) == b"pp" and child.read(BASE, 2) == b"cp"
    child.release()  # the parent's frames stay with the parent
    assert frames_left(memory) == before_fork and parent.read(BASE, 2) == b"pp"
    parent.write(BASE + PAGE_SIZE, b"q")  # its own again: written in place
    assert frames_left(memory) == before_fork
    parent.release()
    assert frames_left(memory) == fresh


def test_a_buffer_copied_again_and_again_follows_the_pages_under_it(memory):
    """The kernel remembers where a buffer it copies to and from lies (a read loop's, across a
    page boundary); whatever changes the pages under it shows in the next copy at once."""
    parent = AddressSpace(memory, X86PageTable(memory), LIMIT)
    parent.add_region(BASE, BASE + 3 * PAGE_SIZE, RW)
    buf, size = BASE + PAGE_SIZE - 100, 200
    parent.write(buf, b"p" * size)
    assert parent.read(buf, size) == b"p" * size
    child = parent.fork(X86PageTable(memory))
    assert child.read(buf, size) == b"p" * size
    child.write(buf + size - 1, b"c")  # a copy of the second page for the child, written
    assert child.read(buf, size) == b"p" * (size - 1) + b"c" and parent.read(buf, size) == b"p" * size
    parent.write(buf, b"q" * size)  # copies for the parent, not the child's pages written
    assert child.read(buf, size) == b"p" * (size - 1) + b"c" and parent.read(buf, size) == b"q" * size
    parent.protect_range(BASE, BASE + 3 * PAGE_SIZE, RO)
    with pytest.raises(BadAddress):
        parent.write(buf, b"r" * size)
    parent.remove_range(BASE, BASE + 3 * PAGE_SIZE)
    with pytest.raises(BadAddress):
        parent.read(buf, size)
    parent.release()
    child.release()


def test_an_address_space_two_hold_lives_until_both_let_go(memory):
    fresh = frames_left(memory)
    space = AddressSpace(memory, X86PageTable(memory), LIMIT)
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.write(BASE, b"kept")
    space.users += 1  # a second process shares it (CLONE_VM)
    space.release()
    assert space.read(BASE, 4) == b"kept" and frames_left(memory) < fresh
    space.release()
    assert frames_left(memory) == fresh


def test_map_frame_over_a_present_page_frees_the_old_frame_and_writes_reach_the_new(space, memory):
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.write(BASE, b"old")
    fresh = frames_left(memory)
    frame = memory.alloc_frame()
    space.map_frame(BASE, frame, RW)
    assert frames_left(memory) == fresh  # one taken, the old one given back
    space.write(BASE + 1, b"new")  # the kernel writes into the frame it was given, no copy
    assert memory.bytes[frame : frame + 4].tobytes() == b"\0new" and space.page_table.lookup(BASE) == (
        frame,
        True,
        False,
    )
    space.map_frame(BASE, frame, RW)  # the same frame again: nothing freed
    assert frames_left(memory) == fresh and space.read(BASE, 4) == b"\0new"


def test_a_pinned_page_is_copied_for_a_forked_child_at_once(space, memory):
    """The kernel keeps writing a pinned frame by its physical address: a child gets its own."""
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    pinned, plain = memory.alloc_frame(), memory.alloc_frame()
    space.map_frame(BASE, pinned, RW, pinned=True)
    space.map_frame(BASE + PAGE_SIZE, plain, RW)
    child = space.fork(X86PageTable(memory))
    assert child.page_table.lookup(BASE)[0] != pinned
    assert child.page_table.lookup(BASE + PAGE_SIZE)[0] == plain  # shared, copy-on-write


def test_a_mapping_refused_names_where_and_why(space, monkeypatch):
    with pytest.raises(BadAddress) as info:
        space.add_region(LIMIT - PAGE_SIZE, LIMIT + PAGE_SIZE, RW)
    assert (info.value.address, info.value.access) == (LIMIT - PAGE_SIZE, "map")
    assert str(info.value) == f"bad guest address {LIMIT - PAGE_SIZE:#x} (map)"
    monkeypatch.setattr("kernkit.core.regions.MAX_REGIONS", 2)  # vm.max_map_count reached
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.add_region(BASE + 2 * PAGE_SIZE, BASE + 3 * PAGE_SIZE, RO, name="stack")
    with pytest.raises(BadAddress) as info:
        space.add_region(BASE + 4 * PAGE_SIZE, BASE + 5 * PAGE_SIZE, RW)
    assert (info.value.address, info.value.access) == (BASE + 4 * PAGE_SIZE, "map")
    assert str(info.value) == f"bad guest address {BASE + 4 * PAGE_SIZE:#x} (map)"
    regions = space.region_at(BASE), space.region_at(BASE + 2 * PAGE_SIZE)
    assert [(r.name, r.mapped, r.offset) for r in regions] == [("anon", None, 0), ("stack", None, 0)]


def test_a_64_bit_value_is_written_in_eight_bytes_and_no_more(space):
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.write(BASE, b"\xaa" * 16)
    space.write_u64(BASE + 4, 0x1122334455667788)
    assert space.read(BASE, 16) == b"\xaa" * 4 + bytes.fromhex("8877665544332211") + b"\xaa" * 4
    assert space.read_u64(BASE + 4) == 0x1122334455667788


def test_a_page_unmapped_is_no_longer_pinned(space, memory):
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    space.map_frame(BASE, memory.alloc_frame(), RW, pinned=True)
    space.map_frame(BASE + PAGE_SIZE, memory.alloc_frame(), RW, pinned=True)
    space.remove_range(BASE, BASE + PAGE_SIZE)  # the first only
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.write(BASE, b"ordinary")  # a demand-paged page: shared with a child until written
    child = space.fork(X86PageTable(memory))
    assert child.page_table.lookup(BASE)[0] == space.page_table.lookup(BASE)[0]
    assert child.page_table.lookup(BASE + PAGE_SIZE)[0] != space.page_table.lookup(BASE + PAGE_SIZE)[0]


def test_a_page_three_hold_is_freed_by_the_last_of_them(memory):
    fresh = frames_left(memory)
    parent = AddressSpace(memory, X86PageTable(memory), LIMIT)
    parent.add_region(BASE, BASE + PAGE_SIZE, RW)
    parent.write(BASE, b"three")
    one_space = fresh - frames_left(memory)  # its page tables and the data frame
    first, second = parent.fork(X86PageTable(memory)), parent.fork(X86PageTable(memory))
    first.release()
    parent.release()
    assert second.read(BASE, 5) == b"three" and fresh - frames_left(memory) == one_space
    second.release()
    assert frames_left(memory) == fresh


def test_a_write_all_or_none_writes_the_whole_range_or_nothing(space):
    """What a signal frame needs: it is on the stack entirely, or the stack is left alone."""
    space.add_region(BASE, BASE + PAGE_SIZE, RW)
    space.add_region(BASE + PAGE_SIZE, BASE + 2 * PAGE_SIZE, RO)
    space.add_region(BASE + 3 * PAGE_SIZE, BASE + 4 * PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC)
    assert space.write_all_or_none(BASE + 8, b"frame")  # not present yet: faulted in
    known(space, BASE)
    assert space.write_all_or_none(BASE + PAGE_SIZE - 6, b"second")  # a known page, to its end
    assert space.read(BASE + 4, 20) == b"\0\0\0\0frame" + bytes(11)
    assert space.read(BASE + PAGE_SIZE - 7, 7) == b"\0second"
    assert not space.write_all_or_none(BASE + PAGE_SIZE - 2, b"abcd")  # its end is read-only
    assert space.read(BASE + PAGE_SIZE - 2, 4) == b"nd\0\0"
    known(space, BASE + PAGE_SIZE)
    assert not space.write_all_or_none(BASE + PAGE_SIZE + 4, b"x")  # a known read-only page
    assert space.read(BASE + PAGE_SIZE + 4, 1) == b"\0"
    assert not space.write_all_or_none(BASE + 2 * PAGE_SIZE, b"x")  # nothing mapped
    assert not space.write_all_or_none(LIMIT - 2, b"abcd")
    space.events.clear()
    assert space.write_all_or_none(BASE, b"data") and space.events == []
    known(space, BASE + 3 * PAGE_SIZE)
    space.events.clear()
    assert space.write_all_or_none(BASE + 3 * PAGE_SIZE + 5, b"\x90") and space.events == ["code write"]
    assert space.read(BASE + 3 * PAGE_SIZE + 4, 3) == b"\0\x90\0"  # at an odd address, exactly there
    space.add_region(BASE + 5 * PAGE_SIZE, BASE + 6 * PAGE_SIZE, RX)
    known(space, BASE + 5 * PAGE_SIZE)
    assert not space.write_all_or_none(BASE + 5 * PAGE_SIZE, b"x")  # known code, not writable
    assert space.read(BASE + 5 * PAGE_SIZE, 1) == b"\0"


def test_holds_compares_memory_in_place_and_is_false_where_it_cannot_read(space):
    space.add_region(BASE, BASE + 2 * PAGE_SIZE, RW)
    space.write(BASE + PAGE_SIZE - 3, b"abcdef")  # across the two pages
    known(space, BASE, BASE + PAGE_SIZE)
    assert space.holds(BASE + PAGE_SIZE - 3, b"abcdef") and space.holds(BASE + PAGE_SIZE - 3, b"abc")
    assert not space.holds(BASE + PAGE_SIZE - 3, b"abcdeg") and not space.holds(BASE + PAGE_SIZE - 2, b"abc")
    assert space.holds(BASE + PAGE_SIZE, b"def") and not space.holds(BASE + PAGE_SIZE, b"deF")
    assert space.holds(BASE + 10, bytes(4))
    assert not space.holds(BASE + 2 * PAGE_SIZE - 1, b"\0\0")  # runs past the region
    assert not space.holds(LIMIT - 1, b"\0\0")
