"""Kernel messages: immediate ones run first and all together, routine ones FIFO, one per pass."""

from __future__ import annotations

import io

from kernkit.core.assemble import assemble, boot


def booted(program: str, *args: str, **settings):
    kernel = assemble(
        None,
        overrides={"init.program": program, "init.args": list(args), **settings},
        stdin=io.BytesIO(),
        stdout=io.BytesIO(),
        stderr=io.BytesIO(),
    )
    boot(kernel)
    return kernel


def test_immediate_messages_run_before_routine_ones_and_routine_ones_one_per_pass():
    kernel = booted("spin", "200000", **{"machine.cores": 2, "machine.quantum": 10_000})
    ran: list[tuple[str, int]] = []

    def record(name: str):
        return lambda: ran.append((name, kernel.round_start_ns))

    kernel.send_kmsg(1, "r1", record("r1"))
    kernel.send_kmsg(1, "i1", record("i1"), routine=False)
    kernel.send_kmsg(1, "r2", record("r2"))
    kernel.send_kmsg(1, "i2", record("i2"), routine=False)
    kernel.send_kmsg(1, "r3", record("r3"))
    assert [m.name for m in kernel.kmsgs.queued(1)] == ["i1", "i2", "r1", "r2", "r3"]
    kernel._round()
    assert [name for name, _ in ran] == ["i1", "i2", "r1"]
    kernel._round()
    kernel._round()
    names = [name for name, _ in ran]
    assert names == ["i1", "i2", "r1", "r2", "r3"]
    times = [t for _, t in ran[2:]]
    assert times[0] < times[1] < times[2], "one routine message per pass"
    assert kernel.kmsgs.queued(1) == []
    kernel.shutdown()


def test_an_immediate_message_sent_by_a_message_runs_in_the_same_pass():
    kernel = booted("spin", "100000", **{"machine.cores": 2})
    ran: list[str] = []

    def first() -> None:
        ran.append("routine")
        kernel.send_kmsg(1, "follow-up", lambda: ran.append("immediate"), routine=False)

    kernel.send_kmsg(1, "first", first)
    kernel._round()
    assert ran == ["routine", "immediate"] or ran == ["routine"]
    kernel._round()
    assert ran == ["routine", "immediate"]
    kernel.shutdown()


def test_messages_run_on_their_core_before_it_runs_a_thread():
    kernel = booted("spin", "300000", **{"machine.cores": 2, "machine.quantum": 10_000})
    seen: list[tuple[int, int | None, int]] = []
    for n in range(3):
        kernel.send_kmsg(0, f"m{n}", lambda n=n: seen.append((n, kernel.active_core, kernel.instructions)))
    assert kernel.run() == 0
    assert [n for n, _, _ in seen] == [0, 1, 2]
    assert all(core == 0 for _, core, _ in seen)
    assert seen[0][2] == 0, "the first routine message runs before init's first instruction"


def test_kmsgs_are_traced_and_shown_by_the_monitor():
    from kernkit.core.monitor import run_command

    kernel = booted("spin", "300000", **{"machine.cores": 2, "machine.quantum": 10_000})
    kernel.send_kmsg(1, "__startcore", lambda: None)
    kernel.send_kmsg(1, "__urgent", lambda: None, routine=False)
    shown = run_command(kernel, "kmsgs")
    lines = shown.splitlines()
    assert lines[0].startswith("core 1: immediate __urgent")
    assert lines[1].startswith("core 1: routine   __startcore")
    kernel._round()
    kernel._round()
    assert run_command(kernel, "kmsgs") == "no kernel messages waiting (2 sent so far)"
    kernel.shutdown()
