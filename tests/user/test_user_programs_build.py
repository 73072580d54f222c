"""The shipped guest programs rebuild from source, identically, and the rebuilt ones run."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support import ROOT, USER_BIN, run_kernel

pytestmark = pytest.mark.skipif(
    shutil.which("musl-gcc") is None or shutil.which("make") is None,
    reason="musl-gcc and make are needed to rebuild user programs (apt-get install musl-tools make)",
)


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory):
    out = tmp_path_factory.mktemp("bin")
    subprocess.run(["make", "-s", "-C", str(ROOT / "user"), f"OUT={out}"], check=True, capture_output=True)
    return out


#: Built with gcc alone (no libc, no musl-gcc wrapper): bare-metal guest kernels and the freestanding program.
GCC_ONLY = ("guest", "badguest", "minimal")


@pytest.mark.skipif(
    shutil.which("gcc") is None, reason="gcc (apt-get install gcc) is needed to build the guests"
)
def test_gcc_only_programs_build_byte_identical_twice(rebuilt, tmp_path):
    """Nothing of the build (a temporary file's name, a path, a time) may leak into a binary:
    two builds into different directories give the same bytes."""
    again = tmp_path / "again"
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / "user"), f"OUT={again}", *(f"{again}/{name}" for name in GCC_ONLY)],
        check=True,
        capture_output=True,
    )
    for name in GCC_ONLY:
        assert (again / name).read_bytes() == (rebuilt / name).read_bytes(), (
            f"{name} differs between two builds"
        )


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
