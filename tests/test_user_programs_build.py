"""The shipped guest programs rebuild from source, identically, and the rebuilt ones run."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from conftest import ROOT, USER_BIN, run_kernel

pytestmark = pytest.mark.skipif(
    shutil.which("musl-gcc") is None or shutil.which("make") is None,
    reason="musl-gcc (apt-get install musl-tools) and make are needed to rebuild user programs",
)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    out = tmp_path_factory.mktemp("bin")
    subprocess.run(["make", "-s", "-C", str(ROOT / "user"), f"OUT={out}"], check=True, capture_output=True)
    return out


def test_every_shipped_program_rebuilds(rebuilt):
    # byte equality holds only with the same toolchain, so compare the set, then run them
    shipped = sorted(p.name for p in USER_BIN.iterdir() if p.is_file())
    assert sorted(p.name for p in rebuilt.iterdir()) == shipped


@pytest.mark.parametrize(
    ("program", "args", "expected"),
    [
        ("hello", (), "Hello from kernkit!\n"),
        ("minimal", (), "minimal: ok\n"),
        ("tls", (), "tls counter=42\ntls counter=43\n"),
        ("echo_args", ("x",), None),
    ],
)
def test_rebuilt_programs_run(rebuilt, program, args, expected):
    run = run_kernel(str(rebuilt / program), *args)
    assert run.status == 0
    if expected is not None:
        assert run.out == expected
    else:
        assert "argv[1]=x" in run.out
