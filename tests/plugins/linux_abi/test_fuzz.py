"""Random syscalls with random arguments: the host never raises; only the guest can die."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import run_kernel

from kernkit.plugins.linux_abi import LINUX

#: Every call of the personality (signals, timers, groups, limits included); exits end the run early.
IMPLEMENTED = [call.number for call in LINUX.syscalls if call.number not in (60, 231)]
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
