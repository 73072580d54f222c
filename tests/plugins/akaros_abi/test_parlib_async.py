"""Parlib's asynchronous system calls, event queues and preemption recovery, checked from inside
MCPs by user/async_check.c, evq_check.c and pdr_check.c (one utest line per rule), and from the
kernel side where a guest cannot see it."""

from __future__ import annotations

import json

import pytest
from support import run_kernel
from support.akaros import booted_mcp
from support.utest import utest_results

from kernkit.plugins.akaros_abi import layout

AKAROS = {"kernel__personalities": ["linux", "akaros"], "sched__policy": "mcp"}


def passed(run, program: str, expected: list[str]) -> None:
    found = utest_results(run.out, program)
    assert list(found) == expected, run.out + run.err
    failed = {name: why for name, why in found.items() if why != "PASSED"}
    assert not failed, failed
    assert run.status == 0, run.err


def json_of(run) -> dict:
    return json.loads(next(line for line in run.out.splitlines() if line.startswith("{")))


ASYNC_RULES = [
    "a_blocking_call_returns_not_done",
    "the_kernel_finishes_it_later",
    "sc_progress_is_set_for_a_call_that_waited",
    "a_batch_of_quick_calls_is_done_at_once",
    "an_error_sets_retval_and_err",
    "a_bad_struct_syscall_is_efault",
    "the_sleeper_slept",
    "one_vcore_all_along",
    "the_other_uthread_ran_while_it_slept",
    "the_blocked_uthread_did_not_hold_the_vcore",
    "the_call_went_the_asynchronous_way",
]


def test_a_blocked_uthread_does_not_block_its_vcore():
    """On one vcore, a uthread sleeps 2 ms in sys_block while another counts for 1 ms: in
    virtual time the two take 2 ms, not 3; the kernel task finished the call on core 0."""
    run = run_kernel("async_check", machine__cores=2, trace=True, **AKAROS)
    passed(run, "async_check", ASYNC_RULES)
    figures = json_of(run)
    assert 2_000_000 <= figures["elapsed_cycles"] < 2_200_000
    assert figures["worker_done_before_wakeup_cycles"] > 900_000
    events = [json.loads(line) for line in run.trace.splitlines()]
    blocked = [e for e in events if e["ev"] == "sysc_blocked"]
    assert [e["nr"] for e in blocked] == [2, 2]  # the raw submission and the sleeper's sys_block
    task = blocked[1]["tid"]
    runs = [e for e in events if e["ev"] == "run" and e.get("tid") == task]
    assert runs and all(e["core"] == 0 for e in runs)  # not on the MCP's core


def test_calls_that_finish_at_once_share_one_kernel_task():
    """Every submitted call runs on a kernel task; one that finished at once leaves its task for
    the next submit, so async_check's quick calls run on a task per call that waited, not one
    each; a call that waits keeps its task to itself (two waits, two tasks)."""
    run = run_kernel("async_check", machine__cores=2, trace=True, **AKAROS)
    passed(run, "async_check", ASYNC_RULES)
    events = [json.loads(line) for line in run.trace.splitlines()]
    threads = {e["tid"] for e in events if e["ev"] == "thread"}
    calls_by_task: dict[int, int] = {}
    for e in events:
        if e["ev"] == "syscall" and e["tid"] not in threads:
            calls_by_task[e["tid"]] = calls_by_task.get(e["tid"], 0) + 1
    waited = [e["tid"] for e in events if e["ev"] == "sysc_blocked"]
    assert len(set(waited)) == len(waited) == 2
    assert len(calls_by_task) <= len(waited) + 1 < sum(calls_by_task.values())


def test_a_plain_blocking_call_holds_the_vcore_instead():
    """The contrast: the same program with a register-convention sys_block blocks its vcore, and
    the checks about the vcore fail."""
    run = run_kernel("async_check", "sync", machine__cores=2, **AKAROS)
    found = utest_results(run.out, "async_check")
    assert found["the_sleeper_slept"] == "PASSED"
    assert "the vcore waited for the call" in found["the_blocked_uthread_did_not_hold_the_vcore"]
    assert found["the_other_uthread_ran_while_it_slept"] != "PASSED"
    assert json_of(run)["elapsed_cycles"] >= 3_000_000 and run.status == 1


def test_async_check_is_deterministic():
    first = run_kernel("async_check", machine__cores=2, trace=True, **AKAROS)
    second = run_kernel("async_check", machine__cores=2, trace=True, **AKAROS)
    assert first.out == second.out and first.kernel.tracer.digest == second.kernel.tracer.digest


def test_a_process_dying_with_a_call_in_flight_leaves_no_task():
    run = run_kernel("async_check", machine__cores=2, kernel__max_instructions=1_500_000, **AKAROS)
    assert run.status == 124
    assert not [p for p in run.kernel.processes.values() if p.alive]


EVQ_RULES = [
    "a_vcore_mailbox_holds_a_thousand_events",
    "a_ucq_spans_pages_in_order",
    "consumed_pages_are_reused",
    "an_empty_ucq_says_so",
    "ceq_events_of_a_type_coalesce",
    "ceq_other_types_stay_apart",
    "a_ceq_whose_ring_overflowed_loses_nothing",
    "a_type_beyond_the_ceq_is_dropped",
    "ceq_add_sums",
    "bitmap_sets_a_bit_per_type",
    "bitmap_is_empty_after",
    "indir_alerts_once_until_handled",
    "the_ev_event_runs_the_queue_handler",
    "handled_queues_alert_again",
    "nothrottle_sends_every_indir",
    "the_messages_wait_in_the_queue",
    "a_bad_queue_is_efault",
    "a_vcore_beyond_max_vcores_is_einval",
    "spam_public_reaches_a_running_vcore",
    "without_spam_it_waits_in_the_offline_vcores_mailbox",
    "another_vcore_can_take_them",
]


def test_event_queues_and_mailboxes():
    passed(run_kernel("evq_check", machine__cores=3, **AKAROS), "evq_check", EVQ_RULES)


def test_an_event_to_a_queue_in_bad_memory_is_dropped_not_fatal():
    """The kernel reads and writes queues and mailboxes in user memory: one at a bad address
    loses the event (traced as event_dropped), and nothing raises."""
    from kernkit.plugins.akaros_abi.events import EventMsg, post_mbox, send_event

    kernel, _ = booted_mcp()
    process = kernel.init
    send_event(process, 0x10, EventMsg(layout.EV_USER_IPI), 0)  # the queue itself unmapped
    assert post_mbox(process, 0x10, EventMsg(layout.EV_USER_IPI)) is False
    procdata = layout.PROCDATA_ADDR  # a mailbox of an unknown type: the procdata header
    assert post_mbox(process, procdata + layout.PD_AMT_WANTED, EventMsg(layout.EV_USER_IPI)) is False
    kernel.tracer.flush()
    dropped = [line for line in kernel.tracer._stream.getvalue().splitlines() if '"event_dropped"' in line]  # noqa: SLF001
    assert len(dropped) == 3
    kernel.kill(process, 9)
    kernel.shutdown()


PDR_LOCK_RULES = [
    "the_holder_lost_its_core_holding_the_lock",
    "the_waiter_saw_its_holder_preempted",
    "the_holder_finished_its_section_on_the_waiters_core",
    "the_waiter_was_recovered_and_got_the_lock",
]


def test_a_vcore_preempted_holding_a_pdr_lock_is_recovered_by_another_vcore():
    run = run_kernel("pdr_check", "lock", machine__cores=3, trace=True, **AKAROS)
    passed(run, "pdr_check", PDR_LOCK_RULES)
    events = [json.loads(line) for line in run.trace.splitlines()]
    changes = [(e["from"], e["vcore"], e["core"]) for e in events if e["ev"] == "change_vcore"]
    # the waiter (vcore 0, pcore 1) hands its core to the holder (vcore 1), which finishes and
    # hands it back
    assert changes == [(0, 1, 1), (1, 0, 1)]
    preempted = [e for e in events if e["ev"] == "vcore_preempt"]
    assert [(e["pid"], e["vcore"]) for e in preempted] == [(2, 1)]


def test_without_preemption_detection_the_waiter_spins_for_ever():
    """The contrast: a plain spinlock's waiter never learns that its holder has no core."""
    run = run_kernel("pdr_check", "plain", machine__cores=3, kernel__max_instructions=40_000_000, **AKAROS)
    assert run.status == 124 and "PASSED" not in run.out


def test_a_preempted_vcores_uthread_is_taken_over_by_another_vcore():
    run = run_kernel("pdr_check", "steal", machine__cores=3, **AKAROS)
    passed(run, "pdr_check", ["the_preempted_vcores_uthread_was_taken_over", "it_finished_on_another_vcore"])


@pytest.mark.parametrize("vcore_context", [False, True])
def test_the_kernel_keeps_a_preempted_vcores_context_where_the_2ls_finds_it(vcore_context):
    """Preempted in uthread context: the uthread's registers go to uthread_ctx (VC_UTHREAD_SAVED,
    for the 2LS to take over) and the vcore later restarts fresh at vcore_entry. Preempted in
    vcore context (notifications disabled): vcore_ctx, and the restart resumes it as it was."""
    from kernkit.plugins.akaros_abi.state import of
    from kernkit.plugins.akaros_abi.vcores import VCORES, restart_registers

    kernel, _ = booted_mcp()
    process = kernel.init
    state = of(process)
    thread = state.online[0]
    if vcore_context:
        state.data.set_u8(state.vcpd(0, layout.VCPD_NOTIF_DISABLED), 1)
    rip = thread.context.user_registers()["rip"]
    VCORES.preempt_vcore(thread)
    flags = state.flags(0)
    assert 0 in state.preempted and 0 not in state.online and flags & layout.VC_PREEMPTED
    field = layout.VCPD_VCORE_CTX if vcore_context else layout.VCPD_UTHREAD_CTX
    assert state.load_context(0, field)["rip"] == rip
    assert bool(flags & layout.VC_UTHREAD_SAVED) is not vcore_context
    restart = restart_registers(state, 0)
    assert restart["rip"] == (rip if vcore_context else state.vcore_entry())
    kernel.kill(process, 9)
    kernel.shutdown()
