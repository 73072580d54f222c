"""Processes and threads from real programs: fork, exec, wait, kill, pthreads, futexes."""

from __future__ import annotations

import json

import pytest
from support import USER_BIN, run_kernel

EXPECTED = {
    "fork": "fork: child reaped\nfork: exited 7\n",
    "exec": "Hello from kernkit!\nexec: exited 0\n",
    "kill": "kill: killed by signal 15\n",
    "tree": "tree: exited 6\n",
    "orphan": "orphan: parent is now 1\n",
    "condvar": "condvar: consumed 500500\n",
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED))
def test_process_scenarios(scenario):
    run = run_kernel("procs", scenario)
    assert (run.status, run.out, run.err) == (0, EXPECTED[scenario], "")


@pytest.mark.parametrize("cores", [1, 2, 4])
def test_pthreads_share_memory_and_join_on_any_number_of_cores(cores):
    run = run_kernel("procs", "threads", "8", machine__cores=cores)
    assert run.out == "threads: 8 joined, counter 36000 (expected 36000)\n"
    assert run.status == 0


def test_threads_really_run_on_several_cores():
    run = run_kernel("procs", "threads", "8", machine__cores=4, trace=True)
    assert run.status == 0
    assert run.trace.count('"ev":"thread"') == 9
    cores = {json.loads(line)["core"] for line in run.trace.splitlines() if '"ev":"run"' in line}
    assert cores == {0, 1, 2, 3}


def test_threads_under_fast_mode():
    """The host timer preempts cores between translated blocks, never inside an instruction, so
    a lock keeps its counter exact however often it fires (here every 200 us)."""
    run = run_kernel("procs", "threads", "8", machine__cores=4, machine__mode="fast", machine__slice_us=200)
    assert run.out == "threads: 8 joined, counter 36000 (expected 36000)\n"


def test_multicore_threads_are_deterministic():
    first = run_kernel("procs", "threads", "8", machine__cores=4, trace=True)
    second = run_kernel("procs", "threads", "8", machine__cores=4, trace=True)
    assert first.trace == second.trace and first.kernel.instructions == second.kernel.instructions


def test_execve_finds_programs_in_the_namespace(tmp_path):
    assert run_kernel("procs", "exec").out == "Hello from kernkit!\nexec: exited 0\n"  # /bin/hello
    # a namespace without /bin: the exec fails
    run = run_kernel("procs", "exec", namespace__root={"/lib": str(tmp_path)})
    assert run.out == "exec failed\nexec: exited 127\n"


def test_exec_path_is_searched_for_programs_the_namespace_lacks(tmp_path):
    (tmp_path / "hello").write_bytes((USER_BIN / "hello").read_bytes())
    run = run_kernel("procs", "exec", namespace__root={}, linux__exec_path=[str(tmp_path)])
    assert run.out == "Hello from kernkit!\nexec: exited 0\n"


def test_zombies_are_reaped_and_the_process_table_shrinks():
    run = run_kernel("procs", "fork", trace=True)
    assert list(run.kernel.processes) == [1]  # the child was reaped by waitpid


def test_futex_ping_pong_hands_over_every_round():
    run = run_kernel("threads", "pingpong", "300", machine__cores=2)
    assert run.status == 0
    assert run.out.startswith("pingpong: 300 rounds, 600 switches, ")


def test_busy_threads_keep_every_core_busy():
    four = run_kernel("threads", "spin", "4", "200000", machine__cores=4)
    one = run_kernel("threads", "spin", "4", "200000", machine__cores=1)
    assert four.out == one.out == "spin: 4 threads x 200000 iterations\n"
    assert four.kernel.now() < 0.4 * one.kernel.now()  # four cores in parallel, in virtual time


@pytest.mark.parametrize(("waiters", "wake", "cores"), [(5, 2, 1), (4, 1, 2), (3, 3, 4)])
def test_futex_wake_wakes_exactly_as_many_waiters_as_asked(waiters, wake, cores):
    run = run_kernel("threads", "wake", str(waiters), str(wake), machine__cores=cores)
    rest = waiters - wake
    assert run.out.splitlines() == [
        f"wake {wake} of {waiters}: returned {wake}, {wake} woken",
        # requeue: one more woken, the others moved to the second futex (counted in the result)
        f"requeue: returned {rest}, {wake + min(rest, 1)} woken",
        "wake the first futex again: returned 0",
        f"wake the second futex: returned {max(rest - 1, 0)}, {waiters} woken",
        f"woken waits that returned 0: {waiters} of {waiters}",  # the count is the waker's
    ]
