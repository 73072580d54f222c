"""A pytest plugin (named in tests/conftest.py): where every peer the tests talk to is meant to be
installed (``.ci/run`` sets ``KERNKIT_REQUIRE_PEERS=1``), a test that skips because one is missing
fails instead, so a broken install cannot pass as a green run.

A skip is for a missing peer when its reason says how to get it: "(apt-get install diod)",
"pip install ...", or ".ci/run makes one". Skips for other reasons stay skips."""

from __future__ import annotations

import os

import pytest

REQUIRE_PEERS = "KERNKIT_REQUIRE_PEERS"
INSTALL_HINTS = ("apt-get install", "pip install", ".ci/run")


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ARG001, ANN201
    outcome = yield
    report = outcome.get_result()
    if not report.skipped or hasattr(report, "wasxfail") or not os.environ.get(REQUIRE_PEERS):
        return
    reason = skip_reason(report)
    if any(hint in reason for hint in INSTALL_HINTS):
        report.outcome = "failed"
        report.longrepr = (
            f"skipped for a missing peer, but {REQUIRE_PEERS} is set (.ci/run installs it): {reason}"
        )
