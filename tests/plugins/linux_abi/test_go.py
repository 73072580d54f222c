"""A Go program (CGO_ENABLED=0, static): the Go runtime installs handlers for every signal on an
alternate stack, preempts goroutines with SIGURG, takes a nil dereference as a SIGSEGV it turns
into a panic, and reads signals through os/signal. Built here with Debian's golang-go."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from support import run_kernel

SOURCE = Path(__file__).parent / "programs" / "gosignals.go"
GO = shutil.which("go")


@pytest.fixture(scope="module")
def go_program(tmp_path_factory) -> Path:
    if GO is None:
        pytest.skip("go is not installed (apt-get install golang-go)")
    out = tmp_path_factory.mktemp("go") / "gosignals"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-mod=mod", "GO111MODULE": "off"}
    subprocess.run(
        [GO, "build", "-o", str(out), str(SOURCE)], check=True, env=env, capture_output=True, timeout=600
    )
    return out


@pytest.mark.parametrize("cores", [1, 2])
def test_go_runtime_signals(go_program, cores):
    native = subprocess.run([go_program], capture_output=True, timeout=60).stdout.decode()
    run = run_kernel(str(go_program), machine__cores=cores)
    assert run.status == 0, run.err
    # the CPU count the runtime sees is the machine's; the rest is what Linux prints
    assert run.out == native.replace(f" {os.cpu_count()}\n", f" {cores}\n")
