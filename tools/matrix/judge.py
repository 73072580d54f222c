"""Judging a workload's run: exit status and output against what it expects."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import attrs

#: ``compare = "unittest"``: the share of the expected output's passing tests that must pass.
UNITTEST_PASS_RATIO = 0.95
#: A test line of ``unittest -v`` (and ``python -m test -v``): ``name (module.Class.name) ...``.
_TEST_NAME = re.compile(r"^(\w+) \(([\w.]+)\)")
_TEST_RESULT = re.compile(r" \.\.\. (ok|FAIL|ERROR|skipped\b.*|expected failure|unexpected success)$")
#: unittest's words for a result -> the count it goes to.
_OUTCOMES = {
    "ok": "passed",
    "expected failure": "passed",
    "FAIL": "failed",
    "ERROR": "failed",
    "unexpected success": "failed",
}


@attrs.frozen
class Verdict:
    status: str  # PASS or FAIL
    reason: str = ""
    #: more to report about the run (per-test counts for compare = "unittest")
    details: dict[str, Any] = attrs.field(factory=dict)


def judge(workload: dict[str, Any], status: int, output: str) -> Verdict:
    if workload["compare"] == "unittest":
        return judge_tests(workload["expect_output"] or "", output)
    if status != workload["expect_status"]:
        return Verdict("FAIL", f"exit status {status}, expected {workload['expect_status']}")
    if workload["expect_output"] is not None and output != workload["expect_output"]:
        return Verdict(
            "FAIL",
            f"output differs from expect_output: {first_difference(output, workload['expect_output'])}",
        )
    pattern = workload["expect_output_regex"]
    if pattern is not None and not re.search(pattern, output):
        return Verdict("FAIL", f"output does not match {pattern!r}")
    return Verdict("PASS")


def first_difference(got: str, wanted: str) -> str:
    """Where two outputs part: the first line that differs, shown both ways."""
    got_lines, wanted_lines = got.splitlines(keepends=True), wanted.splitlines(keepends=True)
    for number, (a, b) in enumerate(zip(got_lines, wanted_lines, strict=False), 1):
        if a != b:
            return f"line {number} is {_short(a)}, expected {_short(b)}"
    shorter = min(len(got_lines), len(wanted_lines))
    if len(got_lines) < len(wanted_lines):
        return f"ends after {shorter} lines, expected line {shorter + 1}: {_short(wanted_lines[shorter])}"
    if len(got_lines) > len(wanted_lines):
        return f"has more than the expected {shorter} lines: {_short(got_lines[shorter])}"
    return f"{len(got)} bytes, expected {len(wanted)}"


def _short(line: str, limit: int = 80) -> str:
    return repr(line if len(line) <= limit else line[:limit] + "...")


def unittest_results(output: str) -> dict[str, str]:
    """Test id -> passed, failed or skipped, from ``unittest -v`` output."""
    results: dict[str, str] = {}
    current = None
    for line in output.splitlines():
        name = _TEST_NAME.match(line)
        if name:
            current = name.group(2)
        found = _TEST_RESULT.search(line)
        if found and current is not None and current not in results:
            word = found.group(1)
            results[current] = "skipped" if word.startswith("skipped") else _OUTCOMES[word]
    return results


def judge_tests(expected_output: str, output: str) -> Verdict:
    """PASS when at least UNITTEST_PASS_RATIO of the tests that passed in the expected output
    pass here; the details count passed, failed and skipped tests, here and there."""
    wanted, got = unittest_results(expected_output), unittest_results(output)
    should_pass = [test for test, result in wanted.items() if result == "passed"]
    passing = [test for test in should_pass if got.get(test) == "passed"]
    counts = Counter(got.values())
    details = {
        "tests": {
            "passed": counts["passed"],
            "failed": counts["failed"],
            "skipped": counts["skipped"],
            "expected_passed": len(should_pass),
            "expected_passed_passing": len(passing),
        }
    }
    if not should_pass:
        return Verdict("FAIL", "the expected output has no passing test", details)
    ratio = len(passing) / len(should_pass)
    if ratio < UNITTEST_PASS_RATIO:
        missing = next(test for test in should_pass if got.get(test) != "passed")
        reason = (
            f"{len(passing)} of the {len(should_pass)} tests expected to pass pass ({ratio:.0%}, "
            f"at least {UNITTEST_PASS_RATIO:.0%} needed); e.g. {missing}: {got.get(missing, 'not run')}"
        )
        return Verdict("FAIL", reason, details)
    return Verdict("PASS", "", details)
