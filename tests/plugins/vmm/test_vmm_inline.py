"""Guest pcores run inside vmm_run (plugins/vmm/inline.py) against the slow path through the
run loop (``[vmm] run_inline = false``): the same guest output, exits, instruction counts and
virtual time, down to each thread, across quantum and budget boundaries."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import run_kernel

from kernkit.arch.x86_64.guest import EXIT_IO, GuestCpu
from kernkit.core.physmem import PhysicalMemory
from kernkit.plugins.vmm import read_vmexits
from kernkit.plugins.vmm.context import GuestContext
from kernkit.plugins.vmm.cpuid import cpuid_for

ROOT = Path(__file__).resolve().parents[3]
VMM = ROOT / "configs" / "vmm.toml"
OUT = ("vmmcheck", "/bin/badguest", "out", "300")

CASES = {
    # two guest pcores on vcores, a timer thread, interrupts, HLT kept in the kernel
    "vmrunkernel": ((), {}),
    "vmrunkernel-short-quanta": ((), {"machine__quantum": 1013}),
    "out": (OUT, {}),
    "out-short-quanta": (OUT, {"machine__quantum": 501}),
    "spin-short-quanta": (("vmmcheck", "/bin/badguest", "spin", "20000"), {"machine__quantum": 777}),
    "instruction-budget": (OUT, {"kernel__max_instructions": 12345, "machine__quantum": 501}),
    "max-exits": (("vmmcheck", "/bin/badguest", "flood"), {"vmm__max_exits": 50}),
}


def outcome(run) -> dict:
    kernel = run.kernel
    return {
        "status": run.status,
        "out": run.out,
        "err": run.err,
        "vmexits": read_vmexits(kernel, kernel.init),
        "instructions": kernel.instructions,
        "elapsed_ns": kernel.elapsed_ns(),
        "context_switches": kernel.context_switches,
        "threads": sorted(
            (p.pid, t.tid, t.instructions, t.clock) for p in kernel.processes.values() for t in p.threads
        ),
    }


@pytest.fixture
def guest_runs(monkeypatch):
    """How many times the run loop ran a guest pcore (the slow path's trip)."""
    calls = []
    original = GuestContext.run_on_core

    def counted(self, core, *budgets):
        calls.append(core)
        return original(self, core, *budgets)

    monkeypatch.setattr(GuestContext, "run_on_core", counted)
    return calls


@pytest.mark.parametrize("case", sorted(CASES))
def test_inline_and_slow_paths_agree(case, guest_runs):
    args, settings = CASES[case]
    inline = outcome(run_kernel(*args, config=VMM, **settings))
    loop_runs_inline = len(guest_runs)
    guest_runs.clear()
    slow = outcome(run_kernel(*args, config=VMM, vmm__run_inline=False, **settings))
    assert inline == slow
    assert loop_runs_inline < len(guest_runs)  # the inline path was taken


def test_most_exits_skip_the_run_loop(guest_runs):
    run = run_kernel(*OUT, config=VMM)
    assert "vmmcheck: guest exited with status 0 after 301 exits" in run.out
    assert len(guest_runs) <= 3  # only runs cut by the end of a quantum go through the loop


def test_the_budgets_hold_exactly():
    run = run_kernel(*OUT, config=VMM, kernel__max_instructions=12345, machine__quantum=501)
    assert run.status == 124
    assert run.kernel.instructions == 12345
    assert "instruction budget exhausted after 12345 instructions" in run.err


def test_a_fast_mode_vmm_gets_the_same_exits_either_way():
    runs = [run_kernel(*OUT, config=VMM, machine__mode="fast", vmm__run_inline=v) for v in (True, False)]
    for run in runs:
        assert run.status == 0, run.err
        assert "vmmcheck: guest exited with status 0 after 301 exits" in run.out
    assert runs[0].out == runs[1].out
    assert read_vmexits(runs[0].kernel, runs[0].kernel.init) == read_vmexits(
        runs[1].kernel, runs[1].kernel.init
    )


def test_a_traced_vmm_takes_the_slow_path_and_shows_each_guest_run(guest_runs):
    run = run_kernel(*OUT, config=VMM, trace=True)
    assert run.status == 0, run.err
    assert len(guest_runs) >= 300
    assert run.trace.count('"ev":"vmexit"') == 301


INC_RAX, OUT_80, NOP = b"\x48\xff\xc0", b"\xe6\x80", b"\x90"


@pytest.mark.parametrize(
    ("runs", "expected"),
    [
        ([(100, None)], [(11, EXIT_IO)]),  # ten incs and the OUT, not the inc after it
        # a budget ends a run at a block boundary: this block runs on to its OUT
        ([(5, None)], [(11, EXIT_IO)]),
        # a limit holds exactly, inside a block too
        ([(5, 5), (100, None)], [(5, None), (6, EXIT_IO)]),
        ([(10, 10), (1, 1), (3, 3)], [(10, None), (1, EXIT_IO), (3, None)]),
    ],
)
def test_a_guest_run_counts_the_instructions_it_retired(runs, expected):
    """What a guest run reports is what it is charged (inline or not): exactly what it ran."""
    memory = PhysicalMemory(0x10000)
    cpu = GuestCpu(memory, lambda gpa: gpa if gpa < memory.size else None, cpuid_for(0))
    memory.write(0x1000, INC_RAX * 10 + OUT_80 + INC_RAX * 10)
    cpu.set_state({"rip": 0x1000, "rsp": 0x8000, "rflags": 0x2}, 0)
    results = []
    for budget, limit in runs:
        executed, exit_ = cpu.run(budget, limit)
        results.append((executed, exit_.reason if exit_ is not None else None))
    assert results == expected
    assert cpu.state()["rax"] == sum(n for n, _ in results) - 1  # every inc that ran, and the OUT


def test_an_out_written_into_code_that_already_ran_still_exits_right_after_it():
    """Code rewritten in place by the guest is translated again: the block's entry is dropped,
    the scan sees the new OUT, and the exit comes right after it, not at the block's end."""
    memory = PhysicalMemory(0x10000)
    cpu = GuestCpu(memory, lambda gpa: gpa if gpa < memory.size else None, cpuid_for(0))
    # loop: three incs, two nops (patched to OUT 0x80 on the second pass), three incs;
    # the first pass patches them and jumps back
    code = (
        INC_RAX * 3 + NOP * 2 + INC_RAX * 3
        + b"\x48\x83\xfb\x01"  # cmp rbx, 1
        + b"\x74\x14"  # je done (+20)
        + b"\xc6\x04\x25\x09\x10\x00\x00\xe6"  # mov byte [0x1009], 0xe6
        + b"\xc6\x04\x25\x0a\x10\x00\x00\x80"  # mov byte [0x100a], 0x80
        + b"\xb3\x01"  # mov bl, 1
        + b"\xeb\xd2"  # jmp loop (-46)
        + b"\xf4"  # done: hlt
    )  # fmt: skip
    memory.write(0x1000, code)
    cpu.set_state({"rip": 0x1000, "rsp": 0x8000, "rflags": 0x2}, 0)
    executed, exit_ = cpu.run(1000)
    assert exit_ is not None and exit_.reason == EXIT_IO
    # first pass: 3 + 2 + 3 + cmp + je + 2 movs + mov + jmp = 14; second: 3 incs and the OUT
    assert executed == 18
    assert cpu.state()["rip"] == 0x100B
    assert cpu.state()["rax"] == 9
