"""Linux as the oracle: run a packaged guest program natively on this host, in a sandbox that
gives it what kernkit gives init (support/sandbox.py), and compare what it printed with what it
prints under kernkit. Where they differ on purpose, ``Difference`` says so and why; docs/testing.md
lists every one."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from kernkit.core.programs import packaged_programs_dir

SANDBOX = Path(__file__).with_name("sandbox.py")


@attrs.frozen
class NativeRun:
    status: int  # as kernkit reports it: 128+N for a program killed by signal N
    out: str
    err: str


@attrs.frozen
class Difference:
    """Lines (a regular expression, matched from the start) that say something else on Linux and
    under kernkit for ``program`` (its name and arguments, as the cases write them), and why."""

    program: str
    lines: str
    reason: str
    part: str = ""  # only this (a regular expression) differs in those lines; all of them if empty

    def mask(self, text: str) -> str:
        """``text`` with each run of these lines (however many on either side) as one mark, or
        with the differing part of each marked."""
        mark = f"<differs: {self.reason}>"
        if self.part:
            return re.sub(f"(?m)^(?:{self.lines}).*$", lambda line: re.sub(self.part, mark, line[0]), text)
        marked = re.sub(f"(?m)^(?:{self.lines}).*$", mark, text)
        return re.sub(r"(?m)^(<differs: .*>\n)\1+", r"\1", marked)


def _unshare() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare is not installed (apt-get install util-linux)")
    return [unshare, "--mount", "--net", *([] if os.geteuid() == 0 else ["--map-root-user"])]


@functools.cache
def _sandbox_problem() -> str:
    """Why native runs cannot be sandboxed here ('' when they can)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "unshare is not installed"
    probe = subprocess.run(
        [*_unshare(), sys.executable, str(SANDBOX), "/bin/true", "true"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "" if probe.returncode == 0 else probe.stderr.strip() or f"exit status {probe.returncode}"


def native(program: str, *args: str, stdin: bytes = b"", timeout: float = 120) -> NativeRun:
    """``program`` (a packaged guest) run natively in the sandbox; skips, saying why, where
    mount and network namespaces cannot be made."""
    problem = _sandbox_problem()
    if problem:
        pytest.skip(
            f"no sandbox for native runs ({problem}); it needs unshare (apt-get install util-linux) "
            "and mount and network namespaces (root, or user namespaces)"
        )
    path = packaged_programs_dir() / program
    result = subprocess.run(
        [*_unshare(), sys.executable, str(SANDBOX), str(path), program, *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    status = result.returncode if result.returncode >= 0 else 128 - result.returncode
    return NativeRun(status, result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace"))
