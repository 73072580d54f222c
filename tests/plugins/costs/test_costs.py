"""The cost model: kernel work charged in virtual time to the core and thread that do it.

What a guest sees (its time-stamp counter, its figures) moves by exactly what the model says;
instruction counts do not move; without a cost model nothing changes and the hot paths check
nothing; the charges are deterministic.
"""

from __future__ import annotations

import json

import pytest
from support import CONFIGS, config_error, kernkit_cli, run_kernel

from kernkit.core.costs import KernelCosts
from kernkit.core.syscalls import CostingDispatcher, SyscallDispatcher
from kernkit.plugins.costs import CostOptions, resolve
from kernkit.plugins.costs.presets import PRESETS

AKAROS = {"kernel__personalities": ["linux", "akaros"], "machine__cores": 4}


def last_json(run) -> dict:
    return json.loads(next(line for line in reversed(run.out.splitlines()) if line.startswith("{")))


def test_no_cost_model_by_default_and_no_cost_checks():
    run = run_kernel("syscall_loop", "200")
    assert run.status == 0
    assert run.kernel.costs is None and run.kernel.cost_ledger is None
    assert type(run.kernel.dispatcher) is SyscallDispatcher  # nothing wrapped around dispatch


def test_a_table_of_zeros_is_no_cost_model():
    zeros = {f"costs__{knob}": 0 for knob in PRESETS["linux-like"] if knob not in ("tick_us", "tick_cores")}
    run = run_kernel("syscall_loop", "200", costs__preset="linux-like", **zeros)
    assert run.kernel.costs is None


def test_syscall_costs_move_the_guests_clock_by_exactly_their_cycles():
    """pthread_switch's switches make two futex calls each: entry + exit of 100 cycles add 200
    cycles to every switch it times with rdtsc, and not one instruction."""
    plain = run_kernel("pthread_switch", "500")
    costly = run_kernel("pthread_switch", "500", costs__syscall_entry=30, costs__syscall_exit=70)
    assert type(costly.kernel.dispatcher) is CostingDispatcher
    before, after = last_json(plain), last_json(costly)
    # two calls per switch, and a few more around the timed loop (its start and end)
    assert after["cycles_per_switch"] - before["cycles_per_switch"] == pytest.approx(200, abs=2)
    ledger = costly.kernel.cost_ledger
    assert ledger.events["syscall_entry"] == ledger.events["syscall_exit"] == costly.kernel.dispatcher.count
    assert ledger.cycles["syscall_entry"] == 30 * costly.kernel.dispatcher.count


def test_charged_cycles_are_time_not_instructions():
    plain = run_kernel("syscall_loop", "300")
    costly = run_kernel("syscall_loop", "300", costs__preset="linux-like")
    assert costly.kernel.instructions == plain.kernel.instructions
    assert costly.kernel.elapsed_ns() > plain.kernel.elapsed_ns() + 300 * 105


def test_context_switches_are_charged_to_the_thread_that_runs_next():
    plain = last_json(run_kernel("pthread_switch", "500"))
    costly = last_json(run_kernel("pthread_switch", "500", costs__context_switch=1000))
    assert costly["cycles_per_switch"] == pytest.approx(plain["cycles_per_switch"] + 1000, abs=2)


def test_a_uthread_switch_enters_no_kernel_so_costs_nothing():
    plain = last_json(run_kernel("uthread_switch", "500", sched__policy="mcp", **AKAROS))
    costly = last_json(
        run_kernel("uthread_switch", "500", sched__policy="mcp", costs__preset="linux-like", **AKAROS)
    )
    assert costly["cycles_per_switch"] == plain["cycles_per_switch"]


def test_linux_like_ticks_every_4ms_on_a_busy_core():
    """The interference program reads the clock back to back: every tick is a gap of the
    tick's cost (plus the read itself), one per 4 ms of virtual time."""
    run = run_kernel("interference", "200", "12000000", "1", "scp", costs__preset="linux-like", **AKAROS)
    result = last_json(run)
    assert result["gaps"] == 3  # 12 ms: ticks at 4 and 8 ms, and the one at 12 ms ends the window
    assert result["max_gap"] - PRESETS["linux-like"]["tick"] < 50
    assert run.kernel.cost_ledger.events["tick"] >= 3


def test_akaros_like_never_ticks_a_core_granted_to_an_mcp():
    run = run_kernel(
        "interference", "200", "12000000", "1", costs__preset="akaros-like", sched__policy="mcp", **AKAROS
    )
    result = last_json(run)
    assert result["mode"] == "mcp" and result["per_vcore"][0]["pcore"] != 0
    assert result["gaps"] == 0 and result["stolen_cycles"] == 0


def test_kernel_messages_and_ipis_are_charged_where_they_run():
    run = run_kernel("mcp_hello", "3", "6", sched__policy="mcp", costs__kmsg=300, costs__ipi=1000, **AKAROS)
    assert run.status == 0, run.err
    ledger = run.kernel.cost_ledger
    assert ledger.events["kmsg"] >= 3  # a __startcore per granted core at least
    assert ledger.cycles["kmsg"] == 300 * ledger.events["kmsg"]
    assert 0 < ledger.events["ipi"] <= ledger.events["kmsg"]
    assert sum(ledger.per_core) == sum(ledger.cycles.values())


def test_page_faults_are_charged():
    run = run_kernel("memtest", costs__page_fault=1000)
    assert run.status == 0, run.err
    ledger = run.kernel.cost_ledger
    assert ledger.events["page_fault"] > 100
    assert ledger.cycles["page_fault"] == 1000 * ledger.events["page_fault"]


def test_a_timer_interrupt_delays_the_thread_it_wakes():
    plain = run_kernel("procs", "orphan")  # its parent sleeps 5 ms in nanosleep
    costly = run_kernel("procs", "orphan", costs__timer_interrupt=5000)
    assert costly.kernel.cost_ledger.events["timer_interrupt"] >= 1
    assert costly.kernel.elapsed_ns() > plain.kernel.elapsed_ns()


def test_costs_are_deterministic():
    def digest() -> str:
        run = run_kernel("procs", "threads", "3", costs__preset="linux-like", machine__cores=2, trace=True)
        assert run.status == 0
        return run.kernel.tracer.digest

    assert digest() == digest()


def test_a_knob_overrides_the_preset():
    costs = resolve(CostOptions(preset="linux-like", context_switch=123, tick_cores="ungranted"))
    assert costs.context_switch == 123
    assert costs.syscall_entry == PRESETS["linux-like"]["syscall_entry"]
    assert costs.tick_period_ns == 4_000_000 and costs.tick_granted is False
    assert resolve(CostOptions()) == KernelCosts() and not KernelCosts().enabled


def test_bad_costs_are_one_line_errors(tmp_path):
    path = tmp_path / "k.toml"
    path.write_text("[costs]\nsyscall_entry = -5\n")
    assert "costs.syscall_entry" in config_error(path)
    path.write_text('[costs]\npreset = "solaris-like"\n')
    error = config_error(path)
    assert "costs.preset" in error and "linux-like" in error
    with pytest.raises(ValueError, match="cycle count"):
        KernelCosts(tick=-1)


def test_fast_mode_ignores_the_cost_model_with_a_warning():
    run = run_kernel("hello", costs__preset="linux-like", machine__mode="fast")
    assert run.status == 0 and run.kernel.costs is None
    assert "cost model needs machine.mode = deterministic" in run.err


def test_the_matrix_sweeps_costs_like_any_option(tmp_path):
    report = tmp_path / "costs.json"
    result = kernkit_cli("matrix", str(CONFIGS / "costs-matrix.toml"), "--json", str(report), timeout=600)
    assert result.returncode == 0, result.stderr.decode()
    cells = {tuple(sorted(c["params"].items())): c for c in json.loads(report.read_text())["cells"]}
    for preset in ("none", "linux-like"):
        times = [
            cells[(("costs.context_switch", cs), ("costs.preset", preset))]["virtual_ns"]
            for cs in (0, 1000, 4000)
        ]
        assert times[0] < times[1] < times[2]
