"""What kernkit matrix --compare says changed since the previous run (tools/matrix/history.py),
in process: which cells are new, failing, fixed or slower, with their figures."""

from __future__ import annotations

from kernkit.tools.matrix import history


def cell(cid: str, status: str = "PASS", reason: str = "", mode: str | None = None, **metrics: int) -> dict:
    params = {} if mode is None else {"machine.mode": mode}
    return {
        "id": cid,
        "status": status,
        "reason": reason,
        "params": params,
        **{m: metrics.get(m) for m in history.COMPARED_METRICS},
    }


def test_new_failing_and_fixed_cells():
    old = {"a": cell("a"), "b": cell("b", "FAIL", "exit status 1, expected 0"), "c": cell("c", "ERROR")}
    new = [
        cell("a", "FAIL", "exit status 4, expected 0"),
        cell("b"),
        cell("c", "MISS", "no result"),
        cell("d", "SKIP"),
    ]
    assert history.compare(old, new) == [
        "now failing  a: FAIL (exit status 4, expected 0)",
        "fixed        b: was FAIL",
        "new cell     d: SKIP",
    ]


def test_an_expected_failure_that_now_passes_and_one_that_passes_unexpectedly():
    old = {"a": cell("a", "XFAIL"), "b": cell("b", "XFAIL"), "c": cell("c", "XFAIL")}
    new = [cell("a"), cell("b", "XPASS", "passed, expected to fail"), cell("c", "XFAIL")]
    assert history.compare(old, new) == [
        "now passing  a: was an expected failure",
        "now failing  b: XPASS (passed, expected to fail)",
    ]


def test_a_metric_more_than_ten_percent_higher_is_a_regression():
    old = {"a": cell("a", virtual_ns=1000, instructions=1000, syscalls=10)}
    assert history.compare(old, [cell("a", virtual_ns=1100, instructions=1101, syscalls=30)]) == [
        "regression   a: instructions 1000 -> 1101 (+10%)",
        "regression   a: syscalls 10 -> 30 (+200%)",
    ]


def test_less_equal_or_missing_figures_are_no_regression():
    old = {"a": cell("a", virtual_ns=1000, instructions=1000, syscalls=None)}
    assert history.compare(old, [cell("a", virtual_ns=100, instructions=1000, syscalls=50)]) == []
    assert history.compare({"a": cell("a", instructions=0)}, [cell("a", instructions=5)]) == []
    assert history.compare({"a": cell("a", instructions=5)}, [cell("a", instructions=None)]) == []


def test_fast_mode_figures_are_not_compared_but_its_statuses_are():
    old = {"a": cell("a", mode="fast", instructions=10)}
    assert history.compare(old, [cell("a", "FAIL", "timeout", mode="fast", instructions=1000)]) == [
        "now failing  a: FAIL (timeout)"
    ]
    deterministic = {"a": cell("a", mode="deterministic", instructions=10)}
    assert history.compare(deterministic, [cell("a", mode="deterministic", instructions=12)]) == [
        "regression   a: instructions 10 -> 12 (+20%)"
    ]


def test_the_previous_run_is_the_last_of_the_same_matrix_before_this_one(tmp_path):
    db = tmp_path / "h.db"
    assert history.previous(db, "m.toml", 1) is None  # no history yet
    first = history.record(db, {"matrix": "m.toml", "cells": [cell("a", instructions=1)]})
    history.record(db, {"matrix": "other.toml", "cells": [cell("a", instructions=2)]})
    second = history.record(db, {"matrix": "m.toml", "cells": [cell("a", instructions=3), cell("b")]})
    third = history.record(db, {"matrix": "m.toml", "cells": [cell("a", instructions=4)]})
    assert history.previous(db, "m.toml", first) is None
    assert history.previous(db, "m.toml", second) == {"a": cell("a", instructions=1)}
    assert history.previous(db, "m.toml", third) == {"a": cell("a", instructions=3), "b": cell("b")}
    assert history.previous(db, "other.toml", third)["a"]["instructions"] == 2


def test_every_cell_is_compared_whatever_comes_before_it():
    old = {"fast": cell("fast", mode="fast", instructions=1), "b": cell("b", instructions=10)}
    new = [cell("new"), cell("fast", mode="fast", instructions=9), cell("b", instructions=20)]
    assert history.compare(old, new) == [
        "new cell     new: PASS",
        "regression   b: instructions 10 -> 20 (+100%)",
    ]


def test_a_row_without_params_is_deterministic():
    row = {k: v for k, v in cell("a", instructions=20).items() if k != "params"}
    assert history.compare({"a": cell("a", instructions=10)}, [row]) == [
        "regression   a: instructions 10 -> 20 (+100%)"
    ]
