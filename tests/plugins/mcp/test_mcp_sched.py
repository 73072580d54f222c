"""The mcp ksched with processes of the Linux personality: SCPs share core 0 on a tick, the
threads of a multi-threaded process get the other cores, runs are deterministic."""

from __future__ import annotations

import json

import pytest
from support import config_error

from kernkit.tools.testing import boot_kernel


def runs(trace: str) -> list[dict]:
    return [e for e in map(json.loads, trace.splitlines()) if e["ev"] == "run"]


def cores_used(trace: str, pid: int | None = None) -> set[int]:
    return {e["core"] for e in runs(trace) if pid is None or e["pid"] == pid}


def test_single_core_processes_stay_on_core_0_while_other_cores_idle():
    run = boot_kernel("spin", "200000", trace=True, sched__policy="mcp", machine__cores=4)
    assert run.status == 0
    assert cores_used(run.trace) == {0}


def test_two_scps_share_core_0_on_the_tick():
    run = boot_kernel(
        "spin", "3000000", trace=True, also=[["spin", "3000000"]],
        sched__policy="mcp", machine__cores=4, sched__mcp__tick_us=1000,
    )  # fmt: skip
    assert run.status == 0
    assert cores_used(run.trace) == {0}
    order = [e["pid"] for e in runs(run.trace)]
    switches = sum(a != b for a, b in zip(order, order[1:], strict=False))
    assert switches >= 4, f"the two SCPs should alternate on core 0, got {order[:20]}"


def test_threads_of_a_multithreaded_process_get_the_other_cores():
    run = boot_kernel("threads", "spin", "3", "50000", trace=True, sched__policy="mcp", machine__cores=4)
    assert run.status == 0, run.err
    assert "spin: 3 threads x 50000 iterations" in run.out
    thread_cores = {e["core"] for e in runs(run.trace) if e["tid"] != e["pid"]}
    assert thread_cores and 0 not in thread_cores
    assert len(thread_cores) >= 2
    grants = [json.loads(line) for line in run.trace.splitlines() if '"ev":"grant"' in line]
    assert [g["pcore"] for g in grants][:3] == [1, 2, 3], "FCFS: idle cores in order"


def test_linux_threads_can_be_kept_on_core_0():
    run = boot_kernel(
        "threads", "spin", "3", "20000", trace=True,
        sched__policy="mcp", machine__cores=4, sched__mcp__linux_threads="core0",
    )  # fmt: skip
    assert run.status == 0
    assert cores_used(run.trace) == {0}


@pytest.mark.parametrize("program", [["procs", "threads", "4"], ["threads", "pingpong", "300"], ["procs", "fork"]])
def test_pthreads_and_processes_work_under_mcp(program):
    run = boot_kernel(*program, sched__policy="mcp", machine__cores=4)
    assert run.status == 0, run.err


def test_runs_under_mcp_are_deterministic():
    first = boot_kernel("procs", "threads", "6", trace=True, sched__policy="mcp", machine__cores=4)
    second = boot_kernel("procs", "threads", "6", trace=True, sched__policy="mcp", machine__cores=4)
    assert first.status == second.status == 0
    assert first.trace == second.trace
    assert first.out == second.out


def test_a_bad_allocation_policy_is_a_one_line_error(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text('[sched]\npolicy = "mcp"\n[sched.mcp]\nalloc = "spread"\n')
    message = config_error(path)
    assert "sched.mcp.alloc" in message and "fcfs" in message and "packed" in message


@pytest.mark.parametrize(("alloc", "expected"), [("fcfs", 1), ("packed", 3)])
def test_fcfs_takes_the_idle_list_head_and_packed_the_core_nearest_the_process(alloc, expected):
    import io

    from kernkit.core.assemble import assemble, boot

    kernel = assemble(
        None,
        overrides={"init.program": "spin", "init.args": ["1000"], "machine.cores": 6,
                   "sched.policy": "mcp", "sched.mcp.alloc": alloc},
        stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO(),
    )  # fmt: skip
    boot(kernel)
    ksched, process = kernel.scheduler, kernel.init
    ksched.idle.clear()
    ksched.idle.extend([1, 5, 2, 3])  # freed in this order; the process already holds core 4
    ksched.owner[4] = process
    ksched.cores_of[process] = [4]
    assert ksched._choose_core(process) == expected
    kernel.shutdown()


def test_provisioned_cores_come_first_for_their_process():
    import io

    from kernkit.core.assemble import assemble, boot

    kernel = assemble(
        None,
        overrides={"init.program": "spin", "init.args": ["1000"], "machine.cores": 4, "sched.policy": "mcp"},
        stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO(),
    )  # fmt: skip
    boot(kernel)
    ksched, process = kernel.scheduler, kernel.init
    ksched.provisioned[3] = process
    assert ksched._choose_core(process) == 3, "its provisioned core before the idle list's head"
    assert list(ksched.idle) == [1, 2]
    kernel.shutdown()
