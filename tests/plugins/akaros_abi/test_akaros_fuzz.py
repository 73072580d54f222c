"""Random Akaros system calls with random arguments, pointers and lengths (user/akfuzz.c): the
host never raises and the kernel never panics; only the calling process can die."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import run_kernel

from kernkit.plugins.akaros_abi import SYSCALLS
from kernkit.plugins.akaros_abi.layout import PROCDATA_ADDR, PROCINFO_ADDR

EXITS = {12}  # proc_destroy of itself ends the run early; it is still called, rarely
IMPLEMENTED = [number for number, *_ in SYSCALLS if number not in EXITS]
POINTERS = [
    0,
    1,
    0x10,
    0x400000,
    0x401000,
    PROCINFO_ADDR,
    PROCINFO_ADDR + 0xFF8,
    PROCDATA_ADDR,
    PROCDATA_ADDR + 64,
    PROCDATA_ADDR + 0x8FFF,
    0x7FFF_FFFF_D000,
    0x7FFF_FFFF_E000,
    0x8000_0000_0000,
    0xFFFF_8000_0000_0000,
    0xFFFF_FFFF_FFFF_FFFF,
]
argument = st.one_of(
    st.sampled_from(POINTERS),
    st.integers(min_value=0, max_value=70),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
    st.sampled_from([1 << 20, 1 << 31, 1 << 32, (1 << 32) + 1, (1 << 63) - 1, 4096, 4097]),
)
call = st.tuples(
    st.one_of(st.sampled_from(IMPLEMENTED), st.sampled_from(sorted(EXITS)), st.integers(0, 200)),
    *[argument] * 6,
)


def _check(calls, **overrides):
    script = "".join(" ".join(f"{value:x}" for value in c) + "\n" for c in calls).encode()
    run = run_kernel(
        "akfuzz",
        stdin=script,
        kernel__personalities=["linux", "akaros"],
        kernel__max_instructions=5_000_000,
        **overrides,
    )
    assert "kernel panic" not in run.err, run.err
    assert "Traceback" not in run.err, run.err
    assert 0 <= run.status <= 255
    for line in run.out.splitlines():
        assert line == "akfuzz done" or " -> " in line, line
    return run


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(call, min_size=1, max_size=12))
def test_random_akaros_syscalls_never_crash_the_kernel(calls):
    _check(calls)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(call, min_size=1, max_size=12))
def test_random_akaros_syscalls_under_the_mcp_ksched(calls):
    _check(calls, sched__policy="mcp", machine__cores=4)


def test_the_calls_the_fuzz_first_found():
    """Each of these panicked the kernel (a Python exception in a handler)."""
    cases = [
        (25, 1, 1 << 32, 0, 0, 0, 0),  # notify: an event type that does not fit u32
        (26, 0, 1 << 40, 0, 0, 0, 0),  # self_notify: likewise
        (145, 0x401000, 0, 0x401000, 0, 0, 0),  # nbind: empty paths
        (146, 0, 0x401000, 0, 0, 0, 0),  # nmount: an empty path
        (147, 0x401000, 0, 0x401000, 0, 0, 0),  # nunmount: an empty path
        (10, 0x401000, 0, 0, 0, 0, 0),  # proc_create: an empty program name
    ]
    run = _check(cases)
    results = dict(line.split(" -> ") for line in run.out.splitlines()[:-1])
    assert run.out.endswith("akfuzz done\n"), run.out
    assert results["19"] == "0" and results["1a"] == "0"  # truncated to u32, delivered
    assert results["91"] == "-2" and results["92"] in ("-2", "-9") and results["93"] == "-2"
    assert results["a"] == "-2"  # ENOENT
