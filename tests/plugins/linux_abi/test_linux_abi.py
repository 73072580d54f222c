"""Linux syscall semantics, issued one by one from a real guest (user/sysfuzz.c)."""

from __future__ import annotations

import os

import pytest
from support import run_kernel
from support.oracle import sandboxed

MAP_PRIVATE_ANON, MAP_FIXED, MAP_FIXED_NOREPLACE = 0x22, 0x10, 0x100000
EFAULT, EINVAL, ENOMEM, ENODEV, EEXIST, ENOSYS, EBADF = -14, -22, -12, -19, -17, -38, -9
AT = 0x1000_0000


def results_of(out: str, calls: tuple) -> list[int]:
    results = [int(line.split(" -> ")[1]) for line in out.split("\n") if " -> " in line]
    assert len(results) == len(calls), out
    return results


def syscalls(*calls: tuple[int, ...], not_linux: dict[int, str] | None = None, **settings) -> list[int]:
    """Run the calls in one guest; their results, in order. Linux is the oracle: the same
    calls made natively (support.oracle) give the same results, but for the calls (by index)
    ``not_linux`` names, with the reason (docs/testing.md lists them)."""
    script = "".join(
        " ".join(f"{v & (2**64 - 1):x}" for v in (*c, 0, 0, 0, 0, 0, 0)[:7]) + "\n" for c in calls
    ).encode()
    run = run_kernel("sysfuzz", stdin=script, **settings)
    assert run.status == 0, run.err
    results = results_of(run.out, calls)
    if "MUTANT_UNDER_TEST" in os.environ:  # mutation testing: Linux's answers do not change
        return results
    linux = sandboxed("sysfuzz", stdin=script)
    assert linux.status == 0, linux.err
    differing = set(not_linux or {})
    assert [r for i, r in enumerate(results_of(linux.out, calls)) if i not in differing] == [
        r for i, r in enumerate(results) if i not in differing
    ]
    return results


def test_mmap_fixed_write_protect_unmap():
    results = syscalls(
        (9, AT, 0x2000, 3, MAP_PRIVATE_ANON | MAP_FIXED, -1, 0),  # mmap RW at a fixed address
        (1, 1, AT, 4),  # write 4 bytes from it: zero-filled pages
        (10, AT, 0x1000, 0),  # mprotect PROT_NONE
        (1, 1, AT, 4),  # now a bad pointer
        (1, 1, AT + 0x1000, 4),  # the second page is still readable
        (11, AT + 1, 0x1000),  # munmap needs an aligned address
        (11, AT, 0x2000),
        (1, 1, AT + 0x1000, 4),  # gone
    )
    assert results == [AT, 4, 0, EFAULT, 4, EINVAL, 0, EFAULT]


def test_the_kernel_never_writes_into_a_read_only_page():
    ro = AT + 0x1000
    results = syscalls(
        (9, AT, 0x2000, 3, MAP_PRIVATE_ANON | MAP_FIXED, -1, 0),
        (10, ro, 0x1000, 1),  # the second page read-only
        (228, 1, ro),  # clock_gettime
        (318, ro, 16, 0),  # getrandom
        (5, 1, ro),  # fstat
        (63, ro),  # uname
        (293, ro, 0),  # pipe2
        (79, ro, 64),  # getcwd
        (228, 1, ro - 8),  # a timespec across the boundary: its second half is read-only
        (1, 1, ro - 4, 8),  # the read-only page can still be read
        (228, 1, AT),  # the writable page takes it
    )
    assert results == [AT, 0, *[EFAULT] * 7, 8, 0]


def test_mmap_errors():
    results = syscalls(
        (9, 0, 0, 3, MAP_PRIVATE_ANON, -1, 0),  # zero length
        (9, 0, 0x1000, 3, 0x2, 3, 0),  # a file mapping of a descriptor that is not open
        (9, AT + 1, 0x1000, 3, MAP_PRIVATE_ANON | MAP_FIXED, -1, 0),  # unaligned fixed address
        (9, AT, 0x1000, 3, MAP_PRIVATE_ANON | MAP_FIXED_NOREPLACE, -1, 0),
        (9, AT, 0x1000, 3, MAP_PRIVATE_ANON | MAP_FIXED_NOREPLACE, -1, 0),  # taken now
        (9, AT + 0x1000, 0x1000, 3 | 8, MAP_PRIVATE_ANON | MAP_FIXED, -1, 0),  # mmap ignores PROT_SEM
        (10, AT, 0x1000, 1 | 8),  # mprotect accepts it
        (10, AT, 0x1000, 0x10),  # not an unknown bit
        (10, 0x2000_0000, 0x1000, 1),  # mprotect of nothing
    )
    assert results == [EINVAL, EBADF, EINVAL, AT, EEXIST, AT + 0x1000, 0, EINVAL, ENOMEM]


PLACEMENT = "where mmap puts a mapping: kernkit from 0x7f0000000000 up, Linux down from below the stack"


def test_mmap_without_a_hint_places_mappings_apart():
    first, second = syscalls(
        (9, 0, 0x3000, 3, MAP_PRIVATE_ANON, -1, 0),
        (9, 0, 0x1000, 3, MAP_PRIVATE_ANON, -1, 0),
        not_linux={0: PLACEMENT, 1: PLACEMENT},
    )
    assert first % 0x1000 == 0 and second % 0x1000 == 0
    assert second >= first + 0x3000 or second + 0x1000 <= first


def test_brk_grows_and_shrinks():
    (base,) = syscalls((12, 0))  # runs are deterministic: the break starts at the same place
    results = syscalls(
        (12, 0), (12, base + 0x10000), (1, 1, base + 0x8000, 4), (12, base), (1, 1, base + 0x8000, 4)
    )
    assert results == [base, base + 0x10000, 4, base, EFAULT]


def test_clock_gettime_and_bad_pointers():
    results = syscalls(
        (228, 1, 0x7FFF_FFFF_D000),
        (228, 1, 0x10),
        (228, 99, 0x7FFF_FFFF_D000),
        (0x1F4,),  # a number no kernel has
        (39,),
        not_linux={4: "getpid: init is pid 1 under kernkit, natively the program has the host's next pid"},
    )
    assert results == [0, EFAULT, EINVAL, ENOSYS, 1]


def test_descriptors():
    results = syscalls(
        (1, 7, 0x7FFF_FFFF_D000, 1), (3, 7), (16, 1, 0x5413, 0x7FFF_FFFF_D000), (5, 1, 0x7FFF_FFFF_D000)
    )
    assert results == [EBADF, EBADF, -25, 0]  # ENOTTY for TIOCGWINSZ; fstat works on the console


@pytest.mark.parametrize("count", [-1, 1025])
def test_writev_rejects_bad_vector_counts(count):
    assert syscalls((20, 1, 0x7FFF_FFFF_D000, count)) == [EINVAL]


def test_prot_none_pages_cannot_be_read():
    run = run_kernel("vmcheck", "protnone")
    assert run.status == 139
    assert "killed by SIGSEGV: page fault, no read access at 0x" in run.err


def test_contents_survive_prot_none():
    assert run_kernel("vmcheck", "restore").out == "restore 42\n"


def test_code_written_by_guest_and_kernel_runs_as_written():
    # mov eax, 2; ret -- delivered by read() into a page that already ran other code
    run = run_kernel("vmcheck", "jit", stdin=b"\xb8\x02\x00\x00\x00\xc3")
    assert run.out == "jit 1 2\n"


def test_getrandom_fills_a_megabyte_quickly():
    results = syscalls((9, AT, 1 << 20, 3, MAP_PRIVATE_ANON | MAP_FIXED, -1, 0), (318, AT, 1 << 20, 0))
    assert results == [AT, 1 << 20]


def test_mmap_hint_is_only_a_hint_and_low_fixed_addresses_are_refused():
    near_top = 0x7FFF_FFFF_0000  # overlaps the stack: the mapping goes elsewhere
    hinted, low, huge = syscalls(
        (9, near_top, 0x10000, 3, MAP_PRIVATE_ANON, -1, 0),
        (9, 0, 0x1000, 3, MAP_PRIVATE_ANON | MAP_FIXED, -1, 0),
        (9, 0, 1 << 48, 3, MAP_PRIVATE_ANON, -1, 0),
        not_linux={
            0: PLACEMENT,
            1: "kernkit's processes are unprivileged: Linux lets root (CAP_SYS_RAWIO) map below vm.mmap_min_addr",
        },
    )
    assert hinted > 0 and hinted != near_top
    assert (low, huge) == (-1, ENOMEM)  # EPERM, as with Linux's mmap_min_addr


def test_writev_skips_empty_vectors():
    # musl's unbuffered stdio writes an empty buffer vector first, then the data
    run = run_kernel("procs", "fork")
    assert run.out.startswith("fork: child reaped\n")
