"""Random syscalls with random arguments: the host never raises; only the guest can die."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import USER_BIN, run_kernel

from kernkit.plugins.linux_abi import LINUX
from kernkit.plugins.net.sockets import SYSCALLS as SOCKET_CALLS

#: Every call of the personality (signals, timers, groups, limits included) and the net plugin's
#: sockets (socketpair ends too); exits end the run early.
IMPLEMENTED = [call.number for call in LINUX.syscalls if call.number not in (60, 231)]
IMPLEMENTED += [number for number, *_ in SOCKET_CALLS]
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


def assert_no_panic(err: str) -> None:
    """No kernel failure. A guest may wait for ever (pause, sigsuspend, a stop signal sent to
    itself): the kernel's verdict on that is its "deadlock" report, which is allowed."""
    assert "Traceback" not in err, err
    for line in err.splitlines():
        if "kernel panic" in line:
            assert "kernel panic: deadlock: every process is waiting" in line, err


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(call, min_size=1, max_size=12))
def test_random_syscalls_never_crash_the_kernel(calls):
    script = "".join(" ".join(f"{value:x}" for value in c) + "\n" for c in calls).encode()
    run = run_kernel("sysfuzz", stdin=script, kernel__max_instructions=5_000_000)
    assert_no_panic(run.err)
    assert 0 <= run.status <= 255  # any exit status: a random call may be exit_group(n)
    # a call may close stdout, so the output can stop early; what was printed is well formed
    for line in run.out.splitlines():
        assert line == "sysfuzz done" or " -> " in line, line


# --- signals: dispositions, masks, handlers at bogus addresses, corrupt sigreturn frames -------

signal_number = st.one_of(
    st.integers(min_value=0, max_value=70), st.sampled_from([10, 11, 12, 14, 17, 19, 20, 34, 64])
)
mask = st.one_of(
    st.integers(min_value=0, max_value=(1 << 64) - 1), st.sampled_from([0, 1 << 9, 1 << 10, 1 << 18])
)
handler_kind = st.one_of(
    st.sampled_from([0, 1, 2, 3]),
    st.sampled_from(POINTERS),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
)
operation = st.one_of(
    st.tuples(
        st.just("action"), signal_number, handler_kind, st.integers(min_value=0, max_value=0xFFFF_FFFF), mask
    ),
    st.tuples(
        st.just("scribble"),
        st.integers(min_value=0, max_value=1100),
        st.integers(min_value=0, max_value=(1 << 64) - 1),
    ),
    st.tuples(st.just("mask"), st.integers(min_value=0, max_value=3), mask),
    st.tuples(st.just("raise"), signal_number),
    st.tuples(st.just("tkill"), signal_number),
    st.tuples(st.just("queue"), signal_number, st.integers(min_value=0, max_value=(1 << 64) - 1)),
    st.tuples(
        st.just("altstack"),
        st.integers(min_value=0, max_value=1 << 17),
        st.sampled_from([0, 1, 2, 4, 1 << 31]),
    ),
    st.tuples(st.just("sigreturn"), st.integers(min_value=0, max_value=(1 << 64) - 1)),
    st.tuples(st.just("pending")),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=14))
def test_random_signal_operations_kill_only_the_guest(operations):
    """Random signal numbers, masks, handler addresses and flags, frames scribbled on by their
    handler, rt_sigreturn on random bytes: the guest may die (a bad frame or handler with
    SIGSEGV and a report naming the cause), the kernel never panics."""
    script = "".join(" ".join([op[0], *(f"{v:x}" for v in op[1:])]) + "\n" for op in operations).encode()
    run = run_kernel("sigfuzz", stdin=script, kernel__max_instructions=20_000_000)
    assert_no_panic(run.err)
    assert 0 <= run.status <= 255
    if run.status == 128 + 11:  # SIGSEGV: a report says why (a frame, an address, ...)
        assert "killed by SIGSEGV" in run.err, run.err
    for line in run.out.splitlines():
        assert line == "sigfuzz done" or " -> " in line or line.startswith("pending "), line


def test_a_corrupt_sigreturn_frame_kills_with_a_report():
    run = run_kernel("sigfuzz", stdin=b"sigreturn 1234\n")
    assert run.status == 128 + 11
    assert "killed by SIGSEGV: rt_sigreturn: bad signal frame" in run.err, run.err
    assert "sigreturn ->" not in run.out


def test_a_handler_scribbling_a_bad_code_selector_kills_with_a_report():
    # the saved cs is at offset 8 + 40 + 144 in the frame: a 32-bit selector there
    script = b"action a 3 0 0\nscribble c0 23\nraise a\n"
    run = run_kernel("sigfuzz", stdin=script)
    assert run.status == 128 + 11
    assert "bad code segment selector 0x23" in run.err, run.err


def test_a_handler_at_an_unmapped_address_kills_with_a_report():
    run = run_kernel("sigfuzz", stdin=b"action a 7000 0 0\nraise a\n")
    assert run.status == 128 + 11
    assert "not mapped at 0x7000 (exec)" in run.err, run.err


def test_signal_numbers_outside_1_to_64_are_einval():
    run = run_kernel("sigfuzz", stdin=b"action 41 2 0 0\naction 0 2 0 0\nraise 41\nqueue 41 0\n")
    assert run.out.splitlines()[:4] == [
        "action -> -22 (handled 0)",
        "action -> -22 (handled 0)",
        "raise -> -22 (handled 0)",
        "queue -> -22 (handled 0)",
    ]


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
