"""Shared fixtures: boot a kernel in-process and capture what it printed."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from kernkit.core.assemble import assemble, boot
from kernkit.core.programs import packaged_programs_dir

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
USER_BIN = packaged_programs_dir()


@attrs.frozen
class Run:
    """What a kernel run produced."""

    status: int
    stdout: bytes
    stderr: bytes
    kernel: object
    trace: str = ""

    @property
    def out(self) -> str:
        return self.stdout.decode(errors="replace")

    @property
    def err(self) -> str:
        return self.stderr.decode(errors="replace")


def run_kernel(
    program: str | None = None,
    *args: str,
    config: str | Path | None = None,
    stdin: bytes = b"",
    trace: bool = False,
    **overrides: object,
) -> Run:
    """Assemble and boot ``config`` (default: minimal), optionally with ``program`` as init.

    Keyword overrides use ``__`` for dots: ``machine__cores=2`` sets machine.cores.
    """
    settings = {key.replace("__", "."): value for key, value in overrides.items()}
    if program is not None:
        settings["init.program"] = str(program)
        settings["init.args"] = list(args)
    out, err = io.BytesIO(), io.BytesIO()
    trace_stream = io.StringIO() if trace else None
    kernel = assemble(
        config, overrides=settings, stdin=io.BytesIO(stdin), stdout=out, stderr=err, trace=trace_stream
    )
    boot(kernel)
    status = kernel.run()
    return Run(
        status, out.getvalue(), err.getvalue(), kernel, trace_stream.getvalue() if trace_stream else ""
    )


@pytest.fixture
def kernel_run():
    """The :func:`run_kernel` helper, for tests that boot kernels."""
    return run_kernel


def kernkit_cli(
    *args: str, stdin: bytes = b"", cwd: Path | None = None, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the real ``kernkit`` command in a subprocess (as a user would)."""
    return subprocess.run(
        [sys.executable, "-m", "kernkit.core.cli", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
