"""Akaros's process state machine: legal moves work, illegal ones are a kernel panic with a report."""

from __future__ import annotations

import io

import pytest
from support import run_kernel

from kernkit.core.assemble import assemble, boot
from kernkit.core.errors import KernelPanic
from kernkit.core.process import TRANSITIONS, ProcState

S = ProcState
LEGAL = {
    (S.CREATED, S.RUNNABLE_S),
    (S.CREATED, S.DYING),
    (S.RUNNABLE_S, S.RUNNING_S),
    (S.RUNNABLE_S, S.DYING),
    (S.RUNNING_S, S.RUNNABLE_S),
    (S.RUNNING_S, S.RUNNABLE_M),
    (S.RUNNING_S, S.WAITING),
    (S.RUNNING_S, S.DYING),
    (S.WAITING, S.RUNNABLE_S),
    (S.WAITING, S.RUNNING_S),
    (S.WAITING, S.RUNNABLE_M),
    (S.WAITING, S.DYING),
    (S.RUNNABLE_M, S.RUNNING_M),
    (S.RUNNABLE_M, S.DYING),
    (S.RUNNING_M, S.RUNNABLE_S),
    (S.RUNNING_M, S.RUNNABLE_M),
    (S.RUNNING_M, S.WAITING),
    (S.RUNNING_M, S.DYING),
    (S.DYING, S.DYING_ABORT),
}


def test_transition_table_is_akaros():
    table = {(a, b) for a, targets in TRANSITIONS.items() for b in targets}
    assert table == LEGAL


def _kernel():
    kernel = assemble(None, stdout=io.BytesIO(), stderr=io.BytesIO(), stdin=io.BytesIO())
    boot(kernel)
    return kernel


@pytest.mark.parametrize(("start", "target"), [(a, b) for a in S for b in S if a != b])
def test_every_transition(start, target):
    process = _kernel().init
    process.state = start
    if (start, target) in LEGAL:
        process.set_state(target)
        assert process.state is target
    else:
        with pytest.raises(
            KernelPanic, match=f"illegal process state transition {start.value} -> {target.value}"
        ):
            process.set_state(target)


def test_illegal_transition_at_run_time_is_a_panic_report():
    def bad_getpid(thread):
        thread.process.set_state(ProcState.RUNNING_M)  # RUNNING_S -> RUNNING_M is not allowed
        return 0

    out, err = io.BytesIO(), io.BytesIO()
    kernel = assemble(
        None,
        overrides={"init.program": "syscall_loop", "init.args": ["3"]},
        stdout=out,
        stderr=err,
        stdin=io.BytesIO(),
    )
    boot(kernel)
    kernel.init.syscall_map[39] = kernel.init.syscall_map[39].__class__(39, "getpid", bad_getpid, 0)
    assert kernel.run() == 70
    report = err.getvalue().decode()
    assert report.startswith("kernkit: kernel panic: illegal process state transition RUNNING_S -> RUNNING_M")
    assert "PID  Name" in report and "syscall_loop" in report
    assert "Traceback" not in report


def test_states_seen_by_a_sleeping_process():
    run = run_kernel("clock", trace=True)
    states = [line for line in run.trace.splitlines() if '"ev":"state"' in line]
    assert any('"to":"WAITING"' in s for s in states)  # nanosleep
    assert any('"from":"WAITING","to":"RUNNABLE_S"' in s for s in states)
