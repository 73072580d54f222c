"""Random syscalls with random arguments: the host never raises; only the guest can die."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import USER_BIN, run_kernel

from kernkit.plugins.linux_abi import SYSCALLS

IMPLEMENTED = [number for number, *_ in SYSCALLS if number not in (60, 231)]  # exits end the run early
POINTERS = [
    0,
    1,
    0x10,
    0x400000,
    0x401000,
    0x7FFF_FFFF_D000,
    0x7FFF_FFFF_E000,
    0x7F00_0000_0000,
    0x8000_0000_0000,
    0xFFFF_8000_0000_0000,
    0xFFFF_FFFF_FFFF_FFFF,
    0x5555_5555_4000,
]
argument = st.one_of(
    st.sampled_from(POINTERS),
    st.integers(min_value=0, max_value=64),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
    st.sampled_from([1 << 20, 1 << 31, (1 << 63) - 1, 0x1002, 0x1003]),
)
call = st.tuples(
    st.one_of(st.sampled_from(IMPLEMENTED), st.integers(min_value=0, max_value=600)),
    *[argument] * 6,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(call, min_size=1, max_size=12))
def test_random_syscalls_never_crash_the_kernel(calls):
    script = "".join(" ".join(f"{value:x}" for value in c) + "\n" for c in calls).encode()
    run = run_kernel("sysfuzz", stdin=script, kernel__max_instructions=5_000_000)
    assert "kernel panic" not in run.err, run.err
    assert "Traceback" not in run.err
    assert 0 <= run.status <= 255  # any exit status: a random call may be exit_group(n)
    # a call may close stdout, so the output can stop early; what was printed is well formed
    for line in run.out.splitlines():
        assert line == "sysfuzz done" or " -> " in line, line


def _sysfuzz_string(text: bytes) -> int:
    """The address at which the packaged sysfuzz program holds ``text`` (a static, non-PIE
    ELF: its read-only data is where its program headers put it)."""
    import struct

    data = (USER_BIN / "sysfuzz").read_bytes()
    at = data.index(text)
    phoff, phnum = struct.unpack_from("<Q", data, 32)[0], struct.unpack_from("<H", data, 56)[0]
    for i in range(phnum):
        kind, _, offset, vaddr, _, filesz = struct.unpack_from("<IIQQQQ", data, phoff + 56 * i)
        if kind == 1 and offset <= at < offset + filesz:
            return vaddr + at - offset
    raise AssertionError("sysfuzz has no such string")


PAGE = 4096
#: Addresses in the mmap area, far from the program and its stack, so that no call (say, a
#: munmap of a random length) takes the caller's own code away: what is tested is the kernel.
AREA = [0x7F00_0000_0000, 0x7F00_0000_1000, 0x7F00_0000_2001, 0x7F00_4000_0000, 0x1000_0000]
size = st.one_of(st.sampled_from([0, 1, PAGE - 1, PAGE, 3 * PAGE, 1 << 20, 1 << 34]), st.integers(0, 1 << 35))
memory_call = st.tuples(
    st.sampled_from([9, 11, 25, 26, 27, 28]),  # mmap munmap mremap msync mincore madvise
    st.sampled_from(AREA),
    size,
    st.one_of(st.integers(0, 7), st.sampled_from([0x100_0000, 1 << 20])),  # prot, sizes, advice
    st.sampled_from([0x1, 0x2, 0x3, 0x11, 0x12, 0x22, 0x21, 0x4022, 0x100002, 0x40002, 0, 5, 7]),
    st.one_of(st.sampled_from([3, 3, 0, 1, 4]), st.integers(0, 1 << 32)),  # fd: mostly the memfd
    st.one_of(st.sampled_from([0, PAGE, 2 * PAGE, 100, 1 << 62, *AREA]), st.integers(0, 1 << 64 - 1)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 1 << 16), st.lists(memory_call, min_size=1, max_size=12))
def test_random_mappings_of_a_file_never_crash_the_kernel(length, calls):
    name = _sysfuzz_string(b"sysfuzz done")
    setup = [(319, name, 0, 0, 0, 0, 0), (77, 3, length, 0, 0, 0, 0)]  # memfd_create, ftruncate
    lines = []
    for nr, a, b, c, d, e, f in calls:
        if nr == 25 and f not in AREA:  # mremap's new address, when MREMAP_FIXED: in the area too
            f = AREA[f % len(AREA)]
        lines.append((nr, a, b, c, d, e, f))
        lines.append((1, 2, a, min(b, 3 * PAGE), 0, 0, 0))  # the kernel reads what is mapped there
    script = "".join(" ".join(f"{v & (1 << 64) - 1:x}" for v in c) + "\n" for c in setup + lines).encode()
    run = run_kernel("sysfuzz", stdin=script, kernel__max_instructions=5_000_000)
    assert "kernel panic" not in run.err, run.err
    assert "Traceback" not in run.err
    assert run.status == 0, run.err  # errors, EFAULT for what cannot be read; never a kill
    results = [line for line in run.out.splitlines() if " -> " in line]
    assert results[:2] == ["13f -> 3", "4d -> 0"]
