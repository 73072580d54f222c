"""The Akaros kernel's rules for many-core processes (the scheduler and vcore rules of BRIEF
section 2), checked from inside an MCP by user/akaros_rules.c, and from the kernel side where a
guest cannot see them (a notification and the core's owning_proc, the waiting process's state
in the trace, determinism).

The guest prints one Akaros-utest-style line per rule between BEGIN and END; every expected
rule must have a PASSED line (a missing line fails). Rules already covered elsewhere are not
repeated here: state-transition legality (test_process.py), kernel message ordering
(test_kmsg.py), provisioning moving cores between MCPs (test_parlib.py's provision_demo).
"""

from __future__ import annotations

import io
import json

import pytest
from support import run_kernel
from support.utest import utest_results

from kernkit.core.assemble import assemble, boot
from kernkit.core.programs import resolve_program
from kernkit.plugins.akaros_abi import layout
from kernkit.plugins.akaros_abi.state import of
from kernkit.plugins.akaros_abi.vcores import notify_now

MCP4 = {"kernel__personalities": ["linux", "akaros"], "sched__policy": "mcp", "machine__cores": 4}
#: A run takes about 28 million instructions; a kernel that breaks a rule so that the program
#: never gets on may not cost minutes.
RULES_RUN = {**MCP4, "kernel__max_instructions": 200_000_000}

#: Every line akaros_rules must print, in its order.
RULES = (
    # SCP: provisioning, pokes and notifications with bad input
    "max_vcores_is_num_cores_minus_1",
    "change_to_m_without_vcore_entry_einval",
    "self_notify_in_range",
    "self_notify_bad_vcore_einval_scp",
    "provision_core_out_of_range_enxio",
    "provision_core_0_ebusy",
    "provision_bad_resource_einval",
    "provision_unknown_pid_esrch",
    "provision_dead_pid_esrch",
    "poke_ksched_bad_input",
    # SCP -> MCP; cores granted = amt_wanted - granted, with Akaros's clamp
    "change_to_m",
    "change_to_m_twice_einval",
    "amt_wanted_0_counts_as_1",
    "amt_wanted_over_max_counts_as_1",
    "more_cores_than_exist_no_panic",
    "cores_granted_amt_wanted_minus_granted",
    # FCFS allocation
    "fcfs_first_grants_pcores_1_2_3",
    "provision_pid0_deprovisions",
    "getpcoreid_matches_vcoremap",
    "self_notify_bad_vcore_einval_mcp",
    # when proc_yield refuses
    "yield_not_nice_refused_while_wanted",
    "yield_refused_while_notif_pending",
    # vcore reuse and the idle list
    "mru_vcore_reused_first",
    "fcfs_freed_cores_go_to_tail",
    # a preemption in flight
    "yield_refused_while_preempt_pending",
    "preempted_vcore_resumes",
    # the last vcore's yield and the wake-up
    "event_without_wakeup_leaves_mcp_waiting",
    "event_wakeup_restarts_waiting_mcp",
    # checked at every point where the maps settled
    "core0_never_granted",
    "pcoremap_matches_vcoremap",
)

#: The arguments of akaros_rules's events to its waiting child.
MSG_NOWAKE, MSG_WAKE = 2, 3

def results(out: str) -> dict[str, str]:
    return utest_results(out, "akaros_rules")


@pytest.fixture(scope="module")
def rules_run():
    return run_kernel("akaros_rules", trace=True, **RULES_RUN)


def events_of(trace: str) -> list[dict]:
    return [json.loads(line) for line in trace.splitlines()]


def test_akaros_rules_prints_utest_lines_between_begin_and_end(rules_run):
    lines = rules_run.out.splitlines()
    assert lines[0] == "BEGIN akaros_rules", rules_run.out + rules_run.err
    assert lines[-1] == "END akaros_rules", rules_run.out + rules_run.err
    assert list(results(rules_run.out)) == list(RULES), "a rule without a test here, or the other way"
    assert rules_run.status == 0 and rules_run.err == ""


@pytest.mark.parametrize("name", RULES)
def test_rule(rules_run, name):
    found = results(rules_run.out)
    assert name in found, f"no line for {name} in:\n{rules_run.out}{rules_run.err}"
    assert found[name] == "PASSED", f"FAILED {name}: {found[name]}"


def test_akaros_rules_needs_four_cores():
    run = run_kernel("akaros_rules", **{**MCP4, "machine__cores": 2})
    assert (run.status, run.out) == (1, "akaros_rules: needs exactly 4 cores (this machine has 2)\n")


def test_the_last_yield_leaves_the_mcp_waiting_with_no_core_until_an_event_wakes_it(rules_run):
    events = events_of(rules_run.trace)
    waiter = next(e["pid"] for e in events if e["ev"] == "spawn" and e["argv"][2:] == ["waiter"])
    mine = [(i, e) for i, e in enumerate(events) if e.get("pid") == waiter]
    states = [(e["from"], e["to"]) for _, e in mine if e["ev"] == "state"]
    assert states == [
        ("CREATED", "RUNNABLE_S"),
        ("RUNNABLE_S", "RUNNING_S"),
        ("RUNNING_S", "RUNNABLE_M"),
        ("RUNNABLE_M", "RUNNING_M"),
        ("RUNNING_M", "WAITING"),
        ("WAITING", "RUNNABLE_M"),
        ("RUNNABLE_M", "RUNNING_M"),
        ("RUNNING_M", "DYING"),
    ]
    waiting = next(i for i, e in mine if e["ev"] == "state" and e["to"] == "WAITING")
    woken = next(i for i, e in mine if e["ev"] == "state" and e["from"] == "WAITING")
    # its only core went back when it started waiting, and none came while it waited
    held = sum({"grant": 1, "release": -1}.get(e["ev"], 0) for i, e in mine if i <= woken)
    assert held == 0
    meanwhile = [e for i, e in mine if waiting < i < woken]
    assert not [e for e in meanwhile if e["ev"] in ("grant", "thread", "vcore_start", "state")]
    # both events went into its mailbox: the first (without EVENT_WAKEUP) changed nothing
    assert [e["arg3"] for e in meanwhile if e["ev"] == "event"] == [MSG_NOWAKE, MSG_WAKE]
    # the event without EVENT_WAKEUP reached its mailbox while it waited and left it waiting
    notifies = [
        (i, e)
        for i, e in enumerate(events)
        if e["ev"] == "syscall" and e["name"] == "notify" and e["args"][0] == waiter
    ]
    assert [e["args"][3] for _, e in notifies] == [layout.EVENT_IPI, layout.EVENT_IPI | layout.EVENT_WAKEUP]
    assert waiting < notifies[0][0] < woken
    # the one with EVENT_WAKEUP made it RUNNABLE_M (a syscall is traced when it returns)
    at, wakeup = notifies[1]
    assert at > woken and wakeup["t"] == events[woken]["t"] and wakeup["core"] == events[woken]["core"]
    after = [e["ev"] for i, e in mine if i > woken]
    assert after[:2] == ["grant", "thread"]
    start = next(e for i, e in mine if i > woken and e["ev"] == "vcore_start")
    assert start["vcore"] == 0


def test_akaros_rules_runs_the_same_twice(rules_run):
    again = run_kernel("akaros_rules", trace=True, **RULES_RUN)
    assert again.status == rules_run.status
    assert again.out == rules_run.out
    assert again.trace == rules_run.trace
    assert len({e["pid"] for e in events_of(again.trace) if "pid" in e}) == 4  # with its 3 children


# --- __notify and owning_proc, from the kernel side --------------------------------------------


class SpinningMcp:
    """akaros_rules spin: an MCP whose main uthread counts, booted and run round by round until
    that uthread runs with notifications enabled on vcore 0; a Linux SCP spins on core 0."""

    def __init__(self, *args: str) -> None:
        self.stdout, self.trace = io.BytesIO(), io.StringIO()
        settings = {key.replace("__", "."): value for key, value in MCP4.items()}
        self.kernel = assemble(
            None,
            overrides={**settings, "init.program": "akaros_rules", "init.args": ["spin", *args]},
            stdin=io.BytesIO(),
            stdout=self.stdout,
            stderr=io.BytesIO(),
            trace=self.trace,
        )
        boot(self.kernel)
        self.other = self.kernel.spawn(
            resolve_program("spin", self.kernel.config.base_dir), ["spin", "50000000"], [], parent=None
        )
        self.process = self.kernel.init
        self.state = of(self.process)
        for _ in range(50):
            self.kernel._round()
            if 0 in self.state.online and not self.state.notif_disabled(0):
                break
        assert self.process.mcp and not self.state.notif_disabled(0), "the uthread never ran"
        assert self.process.alive and self.stdout.getvalue() == b"", "it should still be counting"
        self.thread = self.state.online[0]
        self.core = self.state.pcore[0]

    def flags(self) -> int:
        return self.state.data.u64(self.state.vcpd(0, layout.VCPD_FLAGS))

    def saved_context(self) -> dict[str, int]:
        raw = self.state.data.read(self.state.vcpd(0, layout.VCPD_UTHREAD_CTX), layout.USER_CONTEXT.size)
        return dict(zip(layout.USER_CONTEXT_FIELDS, layout.USER_CONTEXT.unpack(raw), strict=True))

    def traced(self, kind: str) -> list[dict]:
        self.kernel.tracer.flush()
        return [e for e in events_of(self.trace.getvalue()) if e["ev"] == kind]

    def finish(self) -> tuple[int, str]:
        self.kernel.kill(self.other, 9)
        status = self.kernel.run()
        return status, self.stdout.getvalue().decode()


def test_a_notify_on_a_core_the_mcp_does_not_own_is_ignored():
    mcp = SpinningMcp("3000000")
    kernel, process = mcp.kernel, mcp.process
    assert kernel.owning_proc(mcp.core) is process
    idle = next(c for c in range(1, 4) if kernel.owning_proc(c) is None)
    assert kernel.owning_proc(0) is mcp.other  # core 0 runs another process's thread
    context, registers = mcp.thread.context, mcp.thread.context.user_registers()
    for core in (idle, 0):
        notify_now(kernel, process, 0, core)
        assert mcp.thread.context is context and context.user_registers() == registers
        assert not mcp.flags() & layout.VC_UTHREAD_SAVED
        assert not mcp.state.notif_disabled(0)
    ignored = mcp.traced("notify_ignored")
    assert [(e["pid"], e["vcore"], e["pcore"], e["why"]) for e in ignored] == [
        (process.pid, 0, idle, "not owning_proc"),
        (process.pid, 0, 0, "not owning_proc"),
    ]
    assert mcp.traced("notify") == []
    status, out = mcp.finish()
    assert status == 0, out
    # only change_to_m saved the uthread's context: the ignored notifications did nothing
    assert "counted 3000000 of 3000000 on vcore 0, vcore entries 1, uthread contexts saved 1" in out


def test_a_notify_on_the_owning_core_saves_the_uthread_and_restarts_vcore_entry():
    mcp = SpinningMcp("3000000")
    state = mcp.state
    before = mcp.thread.context.user_registers()
    assert not mcp.flags() & layout.VC_UTHREAD_SAVED
    notify_now(mcp.kernel, mcp.process, 0, mcp.core)
    now = mcp.thread.context.user_registers()
    assert now["rip"] == state.vcore_entry() != before["rip"]
    assert now["rsp"] == state.data.u64(state.vcpd(0, layout.VCPD_STACK))
    assert now["fs_base"] == state.data.u64(state.vcpd(0, layout.VCPD_TLS))
    assert now["rdi"] == 0
    assert mcp.flags() & layout.VC_UTHREAD_SAVED
    assert mcp.saved_context() == before
    assert state.notif_disabled(0)
    assert [(e["vcore"], e["pcore"]) for e in mcp.traced("notify")] == [(0, mcp.core)]
    status, out = mcp.finish()
    assert status == 0, out
    # parlib resumed the interrupted uthread from the saved context and it counted on
    assert "counted 3000000 of 3000000 on vcore 0, vcore entries 2, uthread contexts saved 2" in out


def test_a_notified_uthread_may_read_the_clock_first():
    mcp = SpinningMcp("30000", "tsc")
    notify_now(mcp.kernel, mcp.process, 0, mcp.core)
    status, out = mcp.finish()
    assert status == 0, out
    assert "counted 30000 of 30000" in out
