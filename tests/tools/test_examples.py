"""The external example plugins install with pip and run next to the built-ins."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from support import CONFIGS, ROOT, kernkit_cli, pip_install_target

LOTTERY = ROOT / "examples" / "kernkit-lottery"


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    return pip_install_target(LOTTERY, tmp_path_factory.mktemp("site"))


def test_lottery_is_found_through_its_entry_point(installed):
    listed = kernkit_cli("plugins", env=installed).stdout.decode()
    assert "kernkit_lottery 0.1.0 [entry point]" in listed or "lottery 0.1.0 [entry point]" in listed
    assert "lottery (" in listed.split("schedulers: ")[1].splitlines()[0]


def test_lottery_runs_pthreads(installed):
    result = kernkit_cli(
        "boot",
        "--set",
        "sched.policy=lottery",
        "--set",
        "machine.cores=2",
        "--",
        "procs",
        "threads",
        "8",
        env=installed,
    )
    assert result.stdout == b"threads: 8 joined, counter 36000 (expected 36000)\n", result.stderr


def test_matrix_runs_lottery_next_to_rr(installed, tmp_path):
    matrix = tmp_path / "m.toml"
    matrix.write_text(f'''base = "{CONFIGS / "minimal.toml"}"
[axes]
"sched.policy" = ["rr", "lottery"]
"machine.cores" = [1, 2]
[[workload]]
name = "threads"
program = "procs"
args = ["threads", "8"]
expect_output = "threads: 8 joined, counter 36000 (expected 36000)\\n"
''')
    result = kernkit_cli(
        "matrix",
        str(matrix),
        "--json",
        str(tmp_path / "r.json"),
        "--db",
        str(tmp_path / "h.db"),
        env=installed,
    )
    assert result.returncode == 0, result.stdout.decode()
    ids = {c["id"]: c["status"] for c in json.loads((tmp_path / "r.json").read_text())["cells"]}
    assert ids == {f"threads[cores={c},policy={p}]": "PASS" for c in (1, 2) for p in ("rr", "lottery")}


def test_lottery_passes_its_own_tests():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=LOTTERY,
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout.decode()[-2000:]
    assert b"2 passed" in result.stdout
