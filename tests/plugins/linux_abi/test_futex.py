"""futex from a guest (user/threads.c): errors, the 32-bit compare, timeouts on both clocks,
exact wake and requeue counts (on words in a shared mapping), what a woken wait returns; and
futexes shared between processes (user/mmaptest.c). threads prints the same natively on Linux
(test_linux_oracle.py) but for how long the waits took; mmaptest's lines are Linux's too."""

from __future__ import annotations

import re

import pytest
from support import run_kernel

EXPECTED = """\
wake with nobody waiting: 0
an unaligned word: EINVAL
wait for a value the word does not hold: EAGAIN
a value compared in 32 bits (2^32 is 0): ETIMEDOUT
wake after waits, with nobody waiting: 0
an unknown operation: ENOSYS
a timeout of 1e9 ns in tv_nsec: EINVAL
a negative timeout: EINVAL
a timeout at a bad address: EFAULT
cmp_requeue with a changed value: EAGAIN
wait on a word beside another: ETIMEDOUT
cmp_requeue with the value the word holds: 0
wait on the last word of a page: ETIMEDOUT
a zero timeout: ETIMEDOUT
wait 3 ms: ETIMEDOUT, waited as asked: yes (3000 us)
wait_bitset until 3 ms from now (monotonic): ETIMEDOUT, waited as asked: yes (3000 us)
wait_bitset until 3 ms from now (realtime): ETIMEDOUT, waited as asked: yes (3000 us)
wait_bitset until a time past: ETIMEDOUT, waited as asked: yes (PAST us)
cmp_requeue wake 1, move at most 2: 3, 1 woken
cmp_requeue wake none, move the rest beside the waiters moved before: 2, 1 woken
wake the second futex: 4, 5 woken
wake the first: 0, 5 woken
woken waits that returned 0: 5 of 5
"""


@pytest.mark.parametrize("cores", [1, 2])
def test_futex_errors_timeouts_and_requeue_limits(cores):
    run = run_kernel("threads", "futex", machine__cores=cores)
    assert run.status == 0, run.err
    past = re.search(r"a time past: .*\((\d+) us\)", run.out)
    assert past and int(past[1]) < 1000  # no wait beyond the rest of a round
    assert run.out == EXPECTED.replace("PAST", past[1])


def test_futexes_of_different_processes_at_the_same_address_are_apart():
    # fork: the child's memory is a copy, so its futex words are its own; two processes wait on
    # the same address, and each wake counts only its own waiters
    run = run_kernel("threads", "wake", "3", "1", also=[["threads", "wake", "2", "2"]], machine__cores=2)
    assert run.status == 0
    assert "wake 1 of 3: returned 1, 1 woken\n" in run.out
    assert "wake 2 of 2: returned 2, 2 woken\n" in run.out


def test_futexes_in_shared_mappings_are_shared_between_processes_unless_private():
    # user/mmaptest's futex group: a word in shared anonymous memory from fork or in a file each
    # process maps itself is one futex in both processes for shared calls, and a private wake
    # from the other process finds nobody; a word in private memory is each process's own. What
    # Linux prints (test_memory.py runs the whole program on this host too and compares).
    run = run_kernel("mmaptest", "/tmp", "/bin/hello", "futex")
    assert run.status == 0, run.err
    assert run.out.splitlines() == [
        f"futex: {what}: a private wake finds 0, a shared one 1; the child woke and saw 1"
        for what in ("shared anonymous memory from fork", "a file each process maps itself")
    ] + [
        "futex: private memory after fork: a wake from the parent finds 0",
        "futex: a named semaphore posted by the parent wakes the child: yes",
    ]
