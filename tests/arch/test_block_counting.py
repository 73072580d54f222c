"""Deterministic mode counts instructions by translated blocks (arch/x86_64/blocks.py): the C
hook and its pure-Python fallback give the same runs to the byte, counts are exact where they
are reported, and a quantum ends at the first block boundary at or after it."""

from __future__ import annotations

import json

import pytest
from support import run_kernel

from kernkit.arch.x86_64.blocks import native_library

#: Short quanta (odd, so they fall inside blocks) and several cores: many preemptions.
MATRIX = {
    "hello": (("hello",), {}),
    "spin-short-quanta": (("spin", "200000"), {"machine__quantum": 1013}),
    "threads-4-cores": (("procs", "threads", "8"), {"machine__cores": 4, "machine__quantum": 777}),
    "condvar-2-cores": (("procs", "condvar"), {"machine__cores": 2, "machine__quantum": 501}),
    "fork-exec": (("procs", "exec"), {"machine__quantum": 2003}),
    "fault": (("fault", "null"), {}),
    "rdtsc": (("vmcheck", "time"), {"machine__quantum": 997}),
    "guest-written-code": (("vmcheck", "jit"), {"stdin": b"\x6a\x02\x58\x90\x90\xc3"}),
    "budget": (("spin", "100000000"), {"kernel__max_instructions": 123_457, "machine__quantum": 10_007}),
}


def outcome(run) -> dict:
    kernel = run.kernel
    return {
        "status": run.status,
        "out": run.out,
        "err": run.err,
        "instructions": kernel.instructions,
        "elapsed_ns": kernel.elapsed_ns(),
        "trace": run.trace,
    }


def run_case(case: str, **more) -> dict:
    args, settings = MATRIX[case]
    return outcome(run_kernel(*args, trace=True, **settings, **more))


@pytest.mark.parametrize("case", sorted(MATRIX))
def test_the_python_hook_runs_exactly_as_the_c_hook(case, monkeypatch):
    if native_library() is None:
        pytest.skip("the C block hook is not built here (no compiler at install?)")
    native = run_case(case)
    monkeypatch.setenv("KERNKIT_PURE_PYTHON", "1")
    python = run_case(case)
    assert python == native
    assert native["status"] in (0, 124, 139), native["err"]


@pytest.mark.parametrize("pure_python", [False, True])
def test_runs_repeat_to_the_byte(pure_python, monkeypatch):
    if pure_python:
        monkeypatch.setenv("KERNKIT_PURE_PYTHON", "1")
    first, second = run_case("threads-4-cores"), run_case("threads-4-cores")
    assert first == second
    assert first["out"] == "threads: 8 joined, counter 36000 (expected 36000)\n"


def test_a_single_thread_runs_the_same_on_any_number_of_cores():
    runs = [run_case("spin-short-quanta", machine__cores=cores) for cores in (1, 2, 4)]
    assert [r["instructions"] for r in runs] == [runs[0]["instructions"]] * 3
    assert [r["elapsed_ns"] for r in runs] == [runs[0]["elapsed_ns"]] * 3
    assert [r["out"] for r in runs] == [runs[0]["out"]] * 3


def test_code_rewritten_in_place_is_counted_as_it_now_is():
    """vmcheck jit runs a 6-byte function at one address twice, the second time as the kernel
    rewrote it: two instructions (mov eax, 2; ret) or five (push 2; pop rax; nop; nop; ret)."""
    two = run_kernel("vmcheck", "jit", stdin=b"\xb8\x02\x00\x00\x00\xc3")
    five = run_kernel("vmcheck", "jit", stdin=b"\x6a\x02\x58\x90\x90\xc3")
    assert two.out == five.out == "jit 1 2\n"
    assert five.kernel.instructions - two.kernel.instructions == 3


def test_a_fault_inside_a_block_counts_only_what_ran():
    """The faulting instruction does not retire: a budget of exactly the reported count stops
    the program just before it (counted one instruction at a time), one more lets it fault."""
    run = run_kernel("fault", "null")
    assert run.status == 139
    count = run.kernel.instructions
    short = run_kernel("fault", "null", kernel__max_instructions=count)
    assert short.status == 124 and short.kernel.instructions == count
    assert f"instruction budget exhausted after {count} instructions" in short.err
    assert run_kernel("fault", "null", kernel__max_instructions=count + 1).status == 139


@pytest.mark.parametrize("budget", [1, 2, 1000, 1001, 54_321])
def test_instruction_budgets_hold_exactly(budget):
    run = run_kernel("spin", "100000000", kernel__max_instructions=budget, machine__quantum=1000)
    assert run.status == 124
    assert run.kernel.instructions == budget


def test_a_quantum_ends_at_the_first_block_boundary_after_it():
    run = run_kernel("spin", "100000", machine__quantum=1000, trace=True)
    runs = [json.loads(line) for line in run.trace.splitlines() if '"ev":"run"' in line]
    slices = [r["instructions"] for r in runs if r["stop"] == "slice"]
    assert len(slices) > 50
    # spin's loop is one 8-instruction block: a slice overruns its quantum by less than that,
    # and the core's next round starts that far in
    assert all(r < 1000 + 8 for r in slices), slices
    assert sum(slices) > 1000 * len(slices) - 8 * len(slices)
    assert run.kernel.elapsed_ns() == run.kernel.instructions  # 1 instruction = 1 ns: none lost
