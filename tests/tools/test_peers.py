"""Where .ci/run installed every peer, a test that skips for a missing one fails."""

from __future__ import annotations

import pytest

SKIPS = """
import pytest

def test_needs_a_tool():
    pytest.skip("frobnicate is not installed (apt-get install frobnicate)")

@pytest.mark.skipif(True, reason="pip install frobnicate")
def test_needs_a_package():
    pass

def test_skips_for_another_reason():
    pytest.skip("not on this architecture")
"""


@pytest.mark.parametrize("required", ["", "1"])
def test_a_skip_for_a_missing_peer_fails_only_where_peers_are_required(pytester, monkeypatch, required):
    monkeypatch.setenv("KERNKIT_REQUIRE_PEERS", required)
    pytester.makepyfile(test_skips=SKIPS)
    result = pytester.runpytest("-p", "support.peers", "-rfs")
    if required:
        result.assert_outcomes(failed=1, errors=1, skipped=1)  # the skipif fails at set-up: an error
        result.stdout.fnmatch_lines(
            ["*KERNKIT_REQUIRE_PEERS is set (.ci/run installs it): frobnicate is not*"]
        )
    else:
        result.assert_outcomes(skipped=3)
