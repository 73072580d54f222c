"""Shared fixtures; the helpers tests import live in the ``support`` package next to this file."""

from __future__ import annotations

import os
import sys

import pytest
from hypothesis import settings

#: support.peers: a skip for a missing peer fails where .ci/run installed every peer.
pytest_plugins = ["pytester", "support.peers"]

# The fuzz tests draw the same inputs on every run, so a red CI run is a real regression and
# reruns the same way; HYPOTHESIS_PROFILE=explore draws new inputs (for hunting, not for CI).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A directory on sys.path (and, passed as PYTHONPATH, for the CLI) to put plugin modules in."""
    directory = tmp_path / "pyplugins"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    before = set(sys.modules)
    yield directory
    for name in set(sys.modules) - before:
        if name.startswith("kk_"):
            del sys.modules[name]



@pytest.fixture
def guest(tmp_path):
    """``guest(program, *args, options=())``: kernkit waiting for gdb (gdb_support.Guest); killed
    at the end of the test if still running."""
    from support.gdb import Guest

    started: list[Guest] = []

    def start(*program: str, options: tuple[str, ...] = ()) -> Guest:
        started.append(Guest(tmp_path, *program, options=options))
        return started[-1]

    yield start
    for running in started:
        running.close()


