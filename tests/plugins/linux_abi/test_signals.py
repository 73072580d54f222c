"""Signals, timers, process groups and limits as a program observes them (user/sigtest.c), built
with musl and with glibc. Linux is the oracle: the expected outputs in sigtest_expected/ are
what the same binaries print natively on Linux, and a test here checks they still do."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

import pytest
from support import USER_BIN, run_kernel

EXPECTED = Path(__file__).parent / "sigtest_expected"
GROUPS = sorted(p.stem for p in (EXPECTED / "musl").glob("*.txt"))
BUILDS = {"musl": "sigtest", "glibc": "sigtest-glibc"}
#: Lines a kernkit report adds on stderr for a child killed by a fault (Linux says nothing).
REPORT = "kernkit: "


def expected(libc: str, group: str) -> str:
    return (EXPECTED / libc / f"{group}.txt").read_text()


def check_stderr(err: str) -> None:
    """Only the kernel's fault reports for children the tests kill on purpose; no panic."""
    assert "panic" not in err and "Traceback" not in err, err
    assert all(line.startswith(REPORT) for line in err.splitlines()), err


@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("libc", sorted(BUILDS))
def test_sigtest_matches_linux(libc, group):
    run = run_kernel(BUILDS[libc], group)
    assert run.out == expected(libc, group)
    assert run.status == 0
    check_stderr(run.err)


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.machine() != "x86_64", reason="needs Linux x86-64"
)
@pytest.mark.parametrize("group", GROUPS)
@pytest.mark.parametrize("libc", sorted(BUILDS))
def test_linux_still_prints_the_expected_output(libc, group, tmp_path):
    """The oracle itself: the binaries run natively (in an empty directory: a core dump lands
    there and is removed). A few lines check timings with a margin; a loaded host may miss one,
    so a run is tried three times."""
    outputs = []
    for _ in range(3):
        run = subprocess.run([USER_BIN / BUILDS[libc], group], cwd=tmp_path, capture_output=True, timeout=60)
        outputs.append(run.stdout.decode())
        if outputs[-1] == expected(libc, group):
            return
    assert outputs[-1] == expected(libc, group)


@pytest.mark.parametrize("group", ["masks", "posixtimers", "stop", "eintr"])
def test_sigtest_is_deterministic_on_several_cores(group):
    """Two runs on two cores: the same output and the same trace, event for event."""
    first = run_kernel("sigtest", group, machine__cores=2, trace=True)
    second = run_kernel("sigtest", group, machine__cores=2, trace=True)
    assert first.out == second.out == expected("musl", group)
    assert first.kernel.tracer.digest == second.kernel.tracer.digest


@pytest.mark.parametrize("group", ["frame", "kill", "flags"])
def test_a_kill_to_itself_is_the_same_through_the_general_path(group):
    """kill(getpid(), ...) to a handler builds the frame at once; traced, it takes the general
    way (pending, then taken on the way out): Linux's output both ways, the result in rax too."""
    assert (
        run_kernel("sigtest", group, trace=True).out
        == run_kernel("sigtest", group).out
        == expected("musl", group)
    )


@pytest.mark.parametrize("group", ["frame", "kill"])
def test_frames_are_the_same_with_the_register_moves_in_python(group, monkeypatch):
    """Without the native library the register images move through Python: Linux's output."""
    monkeypatch.setenv("KERNKIT_PURE_PYTHON", "1")
    run = run_kernel("sigtest", group)
    assert run.out == expected("musl", group)
    check_stderr(run.err)


@pytest.mark.slow
@pytest.mark.parametrize("policy", ["rr", "mcp"])
@pytest.mark.parametrize("cores", [1, 2, 4])
@pytest.mark.parametrize("libc", sorted(BUILDS))
def test_sigtest_on_every_machine(libc, cores, policy):
    """Every group, each run twice: Linux's output, and the same trace both times."""
    for group in GROUPS:
        runs = [
            run_kernel(BUILDS[libc], group, machine__cores=cores, sched__policy=policy, trace=True)
            for _ in range(2)
        ]
        for run in runs:
            assert (run.status, run.out) == (0, expected(libc, group)), (group, run.err)
            check_stderr(run.err)
        assert runs[0].kernel.tracer.digest == runs[1].kernel.tracer.digest, group


def test_a_handler_sees_the_exact_fault_address_and_the_report_has_it_too():
    run = run_kernel("sigtest", "faults")
    assert "si_addr 0xdead123" in run.out
    # a child that dies of a fault is reported with the address it touched, not its page
    assert "not mapped at 0x10 (write)" in run.err
    assert "not mapped at 0x7000 (exec)" in run.err
