"""A thread switch inside a system call (X86Core._hand_off) saves the stopped thread with RIP
still on its syscall instruction and lets the blob settle it: whoever looks at a blocked
thread's registers sees them as the thread will resume, and resuming runs on after the call."""

from __future__ import annotations

import io

from support import run_kernel

from kernkit.core.assemble import assemble, boot
from kernkit.core.process import BLOCKED

SYSCALL = b"\x0f\x05"
FUTEX = 202


def test_a_thread_blocked_by_a_hand_off_reads_as_it_resumes():
    settings = {"init.program": "threads", "init.args": ["pingpong", "100000"]}
    kernel = assemble(None, overrides=settings, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    boot(kernel)
    try:
        for _ in range(20):  # part of the run: the two threads take turns in futex waits
            kernel._round()
        blocked = [t for t in kernel.init.threads if t.state is BLOCKED and t.context.rip_lag]
        assert blocked, "no thread is blocked after a hand-off"
        for thread in blocked:
            context = thread.context
            pc = context.pc  # settles the lag
            assert context.rip_lag == 0
            assert thread.process.aspace.read(pc - 2, 2) == SYSCALL
            assert context.syscall_number() == FUTEX
            assert context.pc == pc  # settled once
        while not kernel.finished:  # and the run goes on from there
            kernel._round()
        assert kernel.exit_status == 0
    finally:
        kernel.shutdown()


def test_hand_offs_change_nothing_a_program_sees():
    runs = [run_kernel("threads", "pingpong", "3000") for _ in range(2)]
    assert runs[0].status == 0, runs[0].err
    assert runs[0].out == runs[1].out
    assert runs[0].kernel.context_switches > 6000  # every round trip is two switches
    assert runs[0].kernel.instructions == runs[1].kernel.instructions
