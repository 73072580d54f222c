"""The compatibility suite: its files load, its references agree with qemu-user, a fast subset
passes (or fails as marked) in the default run, and ``kernkit compat`` summarises a run."""

from __future__ import annotations

import json
import os
import shutil

import pytest
from support import CONFIGS, ROOT, kernkit_cli

from kernkit.core.errors import ConfigError
from kernkit.tools.compat import table
from kernkit.tools.compat.suite import load_family, load_suite, read_expected
from kernkit.tools.compat.workloads import workload
from kernkit.tools.matrix.spec import Cell
from kernkit.tools.matrix.worker import run_cell

SUITE = ROOT / "compat"
SUITES = (SUITE, SUITE / "cpython")

#: A few checks of each cheap family, run in the default test run (the whole suite is slow).
FAST = (
    "busybox.links.echo",
    "busybox.links.sort-key",
    "busybox.links.awk",
    "busybox.links.sed-script",
    "busybox.links.tar-list",
    "busybox.links.sh-pipeline",
    "busybox.links.touch",
    "busybox.links.du",  # #tmpfs counts the pages a file holds
    "busybox.alone.md5sum",
    "busybox.alone.sh-pipeline",  # busybox re-executes /proc/self/exe
    "busybox.alone.linux32",
    "shells.bash.loops",
    "shells.ash.heredocs",
    "shells.dash.loops",  # whatever the suite marks: an expected failure must still fail
    "lua.strings",
    "sqlite.rollback",
)


@pytest.fixture(scope="module")
def checks():
    return {
        check.name: check for folder in SUITES for family in load_suite(folder) for check in family.checks
    }


def test_every_family_loads_and_every_check_has_a_reference(checks):
    assert len([c for c in checks.values() if c.family == "busybox"]) >= 2 * 175
    for folder in SUITES:
        for family in load_suite(folder, build=False):
            recorded = read_expected(folder, family.name)
            names = {check.name for check in family.checks}
            assert set(recorded) <= names, f"stale references: {sorted(set(recorded) - names)}"
            assert names <= set(recorded), f"checks without a reference: {sorted(names - set(recorded))}"


@pytest.mark.parametrize("name", FAST)
def test_fast_checks_do_what_the_suite_says(name, checks):
    check = checks[name]
    if check.skip:
        pytest.skip(check.skip)
    cell = Cell(name, str(CONFIGS / "minimal.toml"), (), workload(check))
    result = run_cell(cell.as_dict())
    assert result["status"] == ("XFAIL" if check.xfail else "PASS"), result


def test_a_bad_family_file_is_a_one_line_error(tmp_path):
    (tmp_path / "bad.toml").write_text(
        'family = "bad"\n[program.p]\npath = "/bin/sh"\n[[check]]\nname = "x"\nxfail = 3\n'
    )
    with pytest.raises(ConfigError, match=r"bad.toml: check\[0\].xfail: expected a reason"):
        load_family(tmp_path / "bad.toml")
    (tmp_path / "bad.toml").write_text('family = "bad"\nprogramme = 1\n')
    with pytest.raises(ConfigError, match="bad.toml: programme: unknown key"):
        load_family(tmp_path / "bad.toml")
    (tmp_path / "bad.toml").write_text(
        'family = "bad"\n[program.p]\nbuild = "c"\nsources = ["nope.c"]\n[[check]]\nname = "x"\n'
    )
    with pytest.raises(ConfigError, match=r"program.p.sources: expected the program's source files"):
        load_family(tmp_path / "bad.toml")


def test_a_program_that_is_not_installed_skips_with_the_package_to_install(tmp_path):
    (tmp_path / "f.toml").write_text(
        'family = "f"\n[program.p]\npath = "/nonexistent/prog"\npackage = "prog-static"\n'
        '[[check]]\nname = "x"\nargs = ["a"]\n'
    )
    (check,) = load_family(tmp_path / "f.toml").checks
    assert check.skip == "p needs /nonexistent/prog (apt-get install prog-static)"


def _reference_tools_missing() -> str | None:
    if shutil.which("qemu-x86_64-static") is None or shutil.which("unshare") is None:
        return "qemu-x86_64-static and unshare are needed (apt-get install qemu-user-static util-linux)"
    if os.geteuid() != 0:
        return "recording references needs root (a chroot in new namespaces)"
    return None


@pytest.mark.parametrize("name", ["busybox.links.sort-key", "busybox.alone.sh-pipeline", "shells.bash.subst"])
def test_qemu_user_still_prints_the_recorded_reference(name, checks):
    from kernkit.tools.compat.reference import run_reference

    missing = _reference_tools_missing() or checks[name].skip
    if missing:
        pytest.skip(missing)
    run = run_reference(checks[name], under_qemu=True)
    assert (run.status, run.stdout) == (checks[name].expect_status, checks[name].expect_output)


def test_partial_notes_describe_their_handlers_as_they_are():
    assert table.stale_notes() == []


def test_linux_compat_lists_the_causes_of_expected_failures_most_checks_first():
    from types import SimpleNamespace as Marked

    checks = [
        Marked(name="busybox.links.touch", recorded=True, xfail="needs utimensat"),
        Marked(name="busybox.alone.touch", recorded=True, xfail="needs utimensat"),
        Marked(name="sqlite.wal", recorded=True, xfail="needs a shared mapping"),
        Marked(name="lua.gc", recorded=False, xfail="not recorded, so not counted"),
        Marked(name="lua.strings", recorded=True, xfail=None),
    ]
    assert table.failure_causes(checks) == [
        ("needs utimensat", 2, ["busybox.alone", "busybox.links"]),
        ("needs a shared mapping", 1, ["sqlite"]),
    ]


def test_compat_summarises_a_report_per_program_with_the_enosys_calls(tmp_path):
    report = {
        "cells": [
            {"id": "busybox.links.echo", "workload": "busybox.links.echo", "status": "PASS", "enosys": {"157": 2}},
            {"id": "busybox.links.touch", "workload": "busybox.links.touch", "status": "XFAIL",
             "enosys": {"280": 1, "157": 1}},
            {"id": "lua.gc", "workload": "lua.gc", "status": "SKIP"},
        ]
    }  # fmt: skip
    (tmp_path / "r.json").write_text(json.dumps(report))
    result = kernkit_cli("compat", "--report", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr.decode()
    lines = result.stdout.decode().splitlines()
    assert lines[0].split() == ["program", "passes", "tried", "qemu-user", "skipped"]
    assert lines[1].split() == ["busybox.links", "1", "2", "2", "0"]
    assert lines[2].split() == ["lua", "0", "0", "0", "1"]
    assert "  prctl (157): 3 calls, 2 workloads: busybox.links.echo, busybox.links.touch" in lines
    assert "  utimensat (280): 1 calls, 1 workloads: busybox.links.touch" in lines


@pytest.mark.slow
def test_the_whole_suite_does_what_it_says(tmp_path):
    """Every check passes, or fails as marked (an expected failure that passes fails this)."""
    result = kernkit_cli(
        "compat", "--json", str(tmp_path / "r.json"), "--db", str(tmp_path / "h.db"), "--progress", "lines",
        timeout=3600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout.decode()[-5000:]


@pytest.mark.slow
def test_go_passes_under_rr_and_mcp_on_1_and_4_cores_deterministic_and_fast(tmp_path):
    result = kernkit_cli(
        "matrix", str(CONFIGS / "compat-variants.toml"), "--filter", "go.*", "--json", str(tmp_path / "r.json"),
        "--db", str(tmp_path / "h.db"), timeout=1800,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout.decode()[-5000:]
    cells = json.loads((tmp_path / "r.json").read_text())["cells"]
    assert len(cells) == 4 * 8 and {cell["status"] for cell in cells} == {"PASS"}
