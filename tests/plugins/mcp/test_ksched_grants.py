"""The mcp ksched's core grants (plugins/mcp/ksched.py), driven directly: which process gets which
core and when, what provisioning takes from whom, what goes back when a process lets go. The
kernel here records what the scheduler asks of it; processes are as the scheduler sees them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kernkit.core.process import BLOCKED, EXITED, RUNNABLE, RUNNING
from kernkit.plugins.mcp.ksched import McpScheduler


class Thing:
    """A process or a thread as the scheduler sees them (kept in sets and as keys: by identity)."""

    def __init__(self, **fields) -> None:  # noqa: ANN003
        self.__dict__.update(fields)


class Kernel:
    def __init__(self, cores: int, alloc: str = "fcfs", linux_threads: str = "cores") -> None:
        options = SimpleNamespace(tick_us=10_000, alloc=alloc, linux_threads=linux_threads)
        self.config = {"sched.mcp": options}
        self.current = [None] * cores
        self.granted = [None] * cores
        self.log: list[tuple] = []
        self.messages: list[tuple] = []
        self.time = 0
        self.processes: dict = {}  # the scheduler looks for processes pinned to cores

    def trace_event(self, kind: str, process, **fields) -> None:  # noqa: ANN001
        self.log.append((kind, process.pid, *fields.values()))

    def send_kmsg(self, core: int, name: str, action) -> None:  # noqa: ANN001
        self.messages.append((core, name, action))

    def deliver(self) -> list[str]:
        """Run the kernel messages sent so far, as the cores would; their names."""
        names = []
        while self.messages:
            core, name, action = self.messages.pop(0)
            names.append(f"{name}@{core}")
            action()
        return names

    def yield_core(self, thread) -> None:  # noqa: ANN001
        self.log.append(("yield", thread.process.pid, thread.tid))

    def now(self, core: int | None = None) -> int:
        return self.time


class Vcores:
    """An Akaros personality's vcores, as the scheduler sees them."""

    def __init__(self) -> None:
        self.wanted: dict[int, int] = {}
        self.started: list[tuple[int, int]] = []
        self.warned: list[int] = []
        self.preempted: list[int] = []
        self.refuse = False

    def vcores_wanted(self, process) -> int:  # noqa: ANN001
        return self.wanted.get(process.pid, 0)

    def start_vcore(self, process, core):  # noqa: ANN001, ANN201
        if self.refuse:
            return None
        self.started.append((process.pid, core))
        thread = Thing(
            process=process, tid=100 * process.pid + core, state=RUNNABLE, core=core, affinity=None
        )
        process.threads.append(thread)
        return thread

    def preempt_warning(self, thread) -> None:  # noqa: ANN001
        self.warned.append(thread.tid)

    def preempt_vcore(self, thread) -> None:  # noqa: ANN001
        self.preempted.append(thread.tid)
        thread.state = EXITED


def mcp(pid: int, vcores: Vcores, wanted: int) -> SimpleNamespace:
    vcores.wanted[pid] = wanted
    return Thing(pid=pid, alive=True, mcp=True, personality=SimpleNamespace(vcores=vcores), threads=[])


def linux(pid: int, threads: int, state=RUNNABLE) -> SimpleNamespace:  # noqa: ANN001
    process = Thing(pid=pid, alive=True, mcp=False, personality=SimpleNamespace(vcores=None), threads=[])
    process.threads = [
        Thing(process=process, tid=10 * pid + i, state=state, core=None, affinity=None)
        for i in range(threads)
    ]
    return process


def grants(kernel: Kernel) -> list[tuple]:
    return [entry for entry in kernel.log if entry[0] in ("grant", "release", "preempt_warn")]


def ksched_with(cores: int, *wanted: int):  # noqa: ANN201
    """(kernel, vcores, ksched, MCPs): the MCPs (pids 1, 2, ...) want ``wanted`` vcores each."""
    kernel, vcores = Kernel(cores), Vcores()
    return kernel, vcores, McpScheduler(kernel), [mcp(pid, vcores, n) for pid, n in enumerate(wanted, 1)]


def asking(ksched: McpScheduler, *processes) -> None:  # noqa: ANN002
    for process in processes:
        ksched.cores_wanted(process)


def test_mcps_get_idle_cores_first_come_first_served_up_to_what_they_want():
    kernel, vcores, ksched, (a, b) = ksched_with(4, 2, 5)
    asking(ksched, a, b)
    assert ksched.cores_of == {a: [1, 2], b: [3]}  # b wants 5, but only one core is left
    assert kernel.granted == [None, a, a, b] and ksched.owner == {1: a, 2: a, 3: b}
    assert grants(kernel) == [("grant", 1, 1), ("grant", 1, 2), ("grant", 2, 3)]
    assert kernel.deliver() == ["__startcore@1", "__startcore@2", "__startcore@3"]
    assert vcores.started == [(1, 1), (1, 2), (2, 3)]
    assert {core: t.tid for core, t in ksched.pinned.items()} == {1: 101, 2: 102, 3: 203}
    assert ksched.pick_next(2).tid == 102 and ksched.pick_next(3).tid == 203
    assert ksched.max_vcores(a) == 3  # core 0 is the management core


def test_a_vcore_that_yields_gives_its_core_to_the_next_process_that_wants_one():
    kernel, vcores, ksched, (a, b) = ksched_with(3, 2, 1)
    asking(ksched, a, b)
    kernel.deliver()
    assert ksched.cores_of == {a: [1, 2]} and b not in ksched.cores_of
    vcores.wanted[1] = 1
    ksched.thread_exited(ksched.pinned[2])  # the vcore on core 2 yields
    assert ksched.cores_of == {a: [1], b: [2]} and kernel.granted == [None, a, b]
    assert grants(kernel)[-2:] == [("release", 1, 2), ("grant", 2, 2)]
    assert 2 not in ksched.pinned or ksched.pinned[2].process is b


def test_a_process_that_exits_gives_every_core_back_at_once():
    kernel, vcores, ksched, (a, b) = ksched_with(4, 3, 3)
    asking(ksched, a, b)
    kernel.deliver()
    ksched.provision(a, 3)
    a.alive = False
    ksched.process_exited(a)
    assert ksched.cores_of == {b: [1, 2, 3]} and a not in ksched.mcps and ksched.provisioned == {}
    assert kernel.granted == [None, b, b, b]
    assert [e for e in grants(kernel) if e[0] == "release"] == [
        ("release", 1, 1),
        ("release", 1, 2),
        ("release", 1, 3),
    ]


def test_a_core_is_given_only_while_the_process_lives_and_wants_it():
    kernel, vcores = Kernel(4), Vcores()
    ksched = McpScheduler(kernel)
    a = mcp(1, vcores, 0)
    ksched.cores_wanted(a)
    assert ksched.cores_of == {} and list(ksched.idle) == [1, 2, 3]
    dead = mcp(2, vcores, 2)
    dead.alive = False
    ksched.cores_wanted(dead)  # a dead process is not even queued
    assert dead not in ksched.mcps and ksched.cores_of == {}
    vcores.wanted[1] = 2
    ksched.cores_wanted(a)
    assert ksched.cores_of == {a: [1, 2]}
    a.alive = False  # it died between passes: the pass forgets it
    ksched._pass()
    assert a not in ksched.mcps


def test_a_granted_core_the_process_no_longer_wants_at_start_goes_back():
    kernel, vcores, ksched, (a,) = ksched_with(3, 1)
    asking(ksched, a)
    vcores.refuse, vcores.wanted[1] = True, 0  # by the time __startcore runs, it wants no more
    kernel.deliver()
    assert ksched.cores_of == {} and ksched.pinned == {} and 1 in ksched.idle
    assert ksched.pick_next(1) is None


def test_startcore_for_a_core_taken_meanwhile_does_nothing():
    kernel, vcores, ksched, (a, b) = ksched_with(2, 1, 1)
    asking(ksched, a)
    vcores.wanted[1] = 0
    ksched._release(1, run_pass=False)  # core 1 went back before its __startcore ran
    ksched.cores_wanted(b)
    kernel.deliver()
    assert vcores.started == [(2, 1)] and ksched.pinned[1].process is b


def test_provisioned_cores_are_preempted_from_another_mcp_after_a_warning():
    kernel, vcores, ksched, (a, b) = ksched_with(4, 3, 1)
    asking(ksched, a)
    kernel.deliver()
    ksched.cores_wanted(b)
    assert ksched.cores_of == {a: [1, 2, 3]}  # no idle core for b
    ksched.provision(b, 2)
    assert vcores.warned == [102] and grants(kernel)[-1] == ("preempt_warn", 1, 2, 2)
    ksched.provision(b, 2)  # asked again before the preemption ran: one warning, one preemption
    assert vcores.warned == [102]
    assert kernel.deliver() == ["__preempt@2", "__startcore@2"]
    assert vcores.preempted == [102]
    assert ksched.cores_of == {a: [1, 3], b: [2]} and ksched.pinned[2].process is b
    assert grants(kernel)[-2:] == [("release", 1, 2), ("grant", 2, 2)]


def test_a_preemption_for_a_process_that_died_meanwhile_gives_the_core_to_whoever_wants_it():
    kernel, vcores, ksched, (a, b, c) = ksched_with(3, 2, 1, 1)
    asking(ksched, a)
    kernel.deliver()
    ksched.cores_wanted(c)
    ksched.provision(b, 1)
    ksched.cores_wanted(b)
    b.alive, vcores.wanted[1] = False, 1
    kernel.deliver()
    assert ksched.cores_of == {a: [2], c: [1]}  # c was waiting, first come first served


def with_a_preemption_pending(cores: int, *wanted: int):  # noqa: ANN201
    """As ``ksched_with``, the first MCP holding the cores it wants, and core 1 provisioned to the
    second, which asks for cores: its preemption is sent, not yet run."""
    kernel, vcores, ksched, processes = ksched_with(cores, *wanted)
    asking(ksched, processes[0])
    kernel.deliver()
    ksched.provision(processes[1], 1)
    ksched.cores_wanted(processes[1])
    return kernel, vcores, ksched, processes


def test_a_preemption_whose_core_changed_hands_only_runs_a_pass():
    kernel, vcores, ksched, (a, b) = with_a_preemption_pending(3, 2, 1)
    vcores.wanted[1] = 1
    ksched.thread_exited(ksched.pinned[1])  # a lets core 1 go before the preemption runs
    assert ksched.cores_of[b] == [1]
    kernel.deliver()
    assert vcores.preempted == [] and ksched.cores_of == {a: [2], b: [1]}


def test_unprovisioning_stops_the_preference():
    kernel, vcores, ksched, (a,) = ksched_with(4, 1)
    ksched.provision(a, 3)
    ksched.provision(None, 3)
    ksched.provision(None, 2)  # nothing there: nothing happens
    ksched.cores_wanted(a)
    assert ksched.cores_of == {a: [1]}


@pytest.mark.parametrize(
    ("alloc", "free", "held", "expected"),
    [
        ("fcfs", [1, 5, 2, 3], [4], 1),
        ("packed", [1, 5, 2, 3], [4], 3),
        ("packed", [1, 7, 5], [4, 6], 5),
        ("packed", [6, 2], [4], 2),  # equally near: the lower core
        ("packed", [3, 1], [], 3),  # nothing held yet: the head of the list
    ],
)
def test_which_idle_core_is_chosen(alloc, free, held, expected):
    kernel, vcores = Kernel(8, alloc), Vcores()
    ksched = McpScheduler(kernel)
    process = mcp(1, vcores, 9)
    ksched.idle.clear()
    ksched.idle.extend(free)
    for core in held:
        ksched.owner[core] = process
        ksched.cores_of.setdefault(process, []).append(core)
    assert ksched._choose_core(process) == expected
    assert expected not in ksched.idle and len(ksched.idle) == len(free) - 1
    ksched.idle.clear()
    assert ksched._choose_core(process) is None


def runnable_linux_process(kernel: Kernel, threads: int):  # noqa: ANN201
    """(ksched, process): a Linux process whose ``threads`` threads all became runnable."""
    ksched = McpScheduler(kernel)
    process = linux(1, threads)
    for thread in process.threads:
        ksched.thread_runnable(thread)
    return ksched, process


def test_threads_of_a_linux_process_get_cores_as_many_as_are_runnable():
    kernel = Kernel(4)
    ksched, process = runnable_linux_process(kernel, 2)
    assert ksched.cores_of == {process: [1, 2]}
    assert [t.tid for t in ksched.queues[process]] == [10, 11] and not ksched.scp_queue
    first = ksched.pick_next(1)
    assert first.tid == 10 and ksched.pick_next(2).tid == 11
    process.threads[1].state = BLOCKED
    ksched.thread_blocked(process.threads[1])
    assert ksched.pick_next(2) is None  # nothing to run there: the core goes back
    assert ksched.cores_of == {process: [1]} and 2 in ksched.idle
    process.threads[0].state = RUNNING
    kernel.current[1] = process.threads[0]
    ksched._release(1)  # its last core: the running thread yields, and still wants a core
    assert ("yield", 1, 10) in kernel.log and ksched.cores_of == {process: [3]}


def test_single_threaded_processes_share_core_0():
    kernel = Kernel(4)
    ksched = McpScheduler(kernel)
    one, two = linux(1, 1), linux(2, 1)
    ksched.thread_runnable(one.threads[0])
    ksched.thread_runnable(two.threads[0])
    assert ksched.cores_of == {} and [t.tid for t in ksched.scp_queue] == [10, 20]
    assert ksched.pick_next(0).tid == 10 and ksched.pick_next(3) is None


@pytest.mark.parametrize(("cores", "linux_threads"), [(4, "core0"), (1, "cores")])
def test_linux_threads_stay_on_core_0_when_asked_or_alone(cores, linux_threads):
    ksched, _ = runnable_linux_process(Kernel(cores, linux_threads=linux_threads), 3)
    assert ksched.cores_of == {} and len(ksched.scp_queue) == 3


def test_a_linux_process_wants_no_more_cores_than_there_are_besides_core_0():
    ksched, process = runnable_linux_process(Kernel(3), 5)
    assert ksched.cores_of == {process: [1, 2]}
    assert len(ksched.queues[process]) == 5 and not ksched.scp_queue
    process.alive = False
    assert ksched._wanted(process) == 0


def test_threads_queued_for_cores_a_process_loses_run_on_core_0():
    """A Linux process's runnable threads wait in its cores' queue; when a provisioned MCP
    takes its last core, they go to core 0's queue and still run."""
    kernel, vcores = Kernel(2), Vcores()
    ksched, process = runnable_linux_process(kernel, 3)
    assert ksched.cores_of == {process: [1]} and not ksched.scp_queue
    taker = mcp(2, vcores, 1)
    ksched.provision(taker, 1)
    ksched.cores_wanted(taker)
    assert kernel.deliver() == ["__preempt@1", "__startcore@1"]
    assert ksched.cores_of == {taker: [1]}
    assert [ksched.pick_next(0).tid for _ in range(3)] == [10, 11, 12]
    assert ksched.pick_next(0) is None
    taker.alive = False
    ksched.process_exited(taker)  # core 1 back: nothing queued for it runs a second time
    assert ksched.cores_of == {process: [1]} and ksched.pick_next(1) is None


def test_a_process_that_died_unnoticed_does_not_stop_the_others_getting_cores():
    kernel, vcores, ksched, (a, b) = ksched_with(3, 0, 1)
    asking(ksched, a)
    a.alive = False  # died; the scheduler has not been told yet
    ksched.cores_wanted(b)
    assert ksched.cores_of == {b: [1]} and ksched.mcps == [b]


def test_a_core_can_be_provisioned_back_and_preempted_again():
    kernel, vcores, ksched, (a, b) = ksched_with(2, 1, 1)
    asking(ksched, a, b)
    kernel.deliver()
    ksched.provision(b, 1)
    kernel.deliver()
    assert ksched.cores_of == {b: [1]}
    ksched.provision(a, 1)  # and back: a second warning, a second preemption
    assert kernel.deliver() == ["__preempt@1", "__startcore@1"]
    assert ksched.cores_of == {a: [1]} and vcores.preempted == [101, 201]


def test_a_core_unprovisioned_while_its_preemption_waits_goes_first_come_first_served():
    kernel, vcores, ksched, (a, b) = with_a_preemption_pending(2, 1, 1)
    ksched.provision(None, 1)  # b's claim is gone before the preemption runs
    kernel.deliver()
    assert vcores.preempted == [101] and ksched.cores_of == {a: [1]}  # a asked first


def pinned(process, mask: int):  # noqa: ANN001, ANN201
    for thread in process.threads:
        thread.affinity = mask
    return process


@pytest.mark.parametrize("alloc", ["fcfs", "packed"])
def test_a_pinned_process_gets_only_its_cores_and_no_one_else_does(alloc: str):
    kernel, vcores = Kernel(5, alloc=alloc), Vcores()
    ksched = McpScheduler(kernel)
    load = pinned(linux(1, 4), 0b11001)  # cores 0, 3 and 4: two it may be granted
    server = mcp(2, vcores, 4)
    kernel.processes = {1: load, 2: server}
    asking(ksched, server)
    assert ksched.cores_of == {server: [1, 2]}, "the cores kept for the pinned process stay idle"
    asking(ksched, load)
    assert ksched.cores_of == {server: [1, 2], load: [3, 4]}, "four threads, two cores allowed"
    assert ksched._wanted(load) == 2 and ksched._wanted(pinned(linux(3, 1), 0b11000)) == 1
    assert ksched._wanted(pinned(linux(4, 3), 0b00001)) == 0, "core 0 is never granted"
    load.alive = False
    ksched.process_exited(load)
    assert ksched.cores_of == {server: [1, 2, 3, 4]}


def test_a_core_granted_before_its_process_pinned_itself_to_it_is_taken_back_on_a_tick():
    kernel, vcores = Kernel(4), Vcores()
    ksched = McpScheduler(kernel)
    load, other, server = linux(1, 1), linux(2, 2), mcp(3, vcores, 1)
    kernel.processes = {1: load, 2: other, 3: server}
    asking(ksched, other, server)
    kernel.deliver()
    assert ksched.cores_of == {other: [1, 2], server: [3]}
    pinned(load, 0b1010)  # cores 1 and 3, both held by others
    assert ksched.tick(1, other.threads[0]) is False
    assert 1 not in ksched.cores_of[other] and ksched.owner.get(1) is not other
    ksched.tick(3, ksched.pinned[3])
    assert vcores.warned == [303] and 3 in ksched._preempting
    assert ksched.tick(2, other.threads[1]) is False and ksched.owner[2] is other, "not kept: stays"
