"""CPU affinity as the schedulers honour it: `taskset` pins a program and the threads it creates;
under `rr` they run only on the cores named, under `mcp` those cores are granted to the pinned
process and to no one else (the web experiment in bench/akaros.py rests on this)."""

from __future__ import annotations

import json

from kernkit.tools.testing import boot_kernel


def cores_of(trace: str) -> dict[int, set[int]]:
    """The cores each process's threads ran on."""
    cores: dict[int, set[int]] = {}
    for event in map(json.loads, trace.splitlines()):
        if event["ev"] == "run":
            cores.setdefault(event["pid"], set()).add(event["core"])
    return cores


def test_taskset_keeps_a_program_and_its_threads_on_the_cores_named_under_rr():
    run = boot_kernel(
        "taskset", "-c", "2-3", "threads", "spin", "4", "30000", trace=True,
        also=[["threads", "spin", "4", "30000"]], sched__policy="rr", machine__cores=4,
    )  # fmt: skip
    assert run.status == 0, run.err
    pinned, other = run.kernel.init.pid, run.others[0].pid
    cores = cores_of(run.trace)
    assert cores[pinned] - {0} == {2, 3}, "the pinned process moves to its cores at once"
    assert 0 in cores[other] and 1 in cores[other]


def test_the_mcp_ksched_grants_a_pinned_core_to_its_process_only():
    run = boot_kernel(
        "taskset", "0x8", "threads", "spin", "3", "30000", trace=True,
        also=[["threads", "spin", "3", "30000"]], sched__policy="mcp", machine__cores=4,
    )  # fmt: skip
    assert run.status == 0, run.err
    pinned, other = run.kernel.init.pid, run.others[0].pid
    cores = cores_of(run.trace)
    assert cores[pinned] == {0, 3}, "core 0 while an SCP, then its one pinned core"
    assert 3 not in cores[other] and {1, 2} <= cores[other]


def test_taskset_refuses_a_bad_list_and_a_mask_of_no_core():
    bad = boot_kernel("taskset", "-c", "1-x", "hello")
    assert bad.status == 2 and "taskset: bad core list: 1-x" in bad.err
    none = boot_kernel("taskset", "0x100", "hello", machine__cores=2)
    assert none.status == 1 and "sched_setaffinity" in none.err
