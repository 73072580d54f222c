"""The pthreads 2LS (user/posix): the repository's own pthread programs built unchanged against
parlib run as MCPs with their pthreads on vcores, and a program a user brings builds with
``make -C user posix SRC=...`` and prints what it prints natively (musl, on this host)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from support import run_kernel

AKAROS = {"kernel__personalities": ["linux", "akaros"], "sched__policy": "mcp"}
USER = Path(__file__).resolve().parents[3] / "user"
PROGRAM = Path(__file__).parent / "programs" / "pthread_user.c"


def granted_pcores(trace: str) -> set[int]:
    events = [json.loads(line) for line in trace.splitlines()]
    assert any(e["ev"] == "change_to_m" for e in events), "the program never became an MCP"
    return {e["pcore"] for e in events if e["ev"] == "grant"}


@pytest.mark.parametrize(
    "args", [("threads", "8"), ("condvar",)], ids=lambda a: " ".join(a) if isinstance(a, tuple) else a
)
def test_procs_runs_unchanged_as_an_mcp(args):
    """procs.c built against the POSIX layer prints what the musl build prints under Linux
    scheduling, and its pthreads ran on several of the MCP's cores."""
    linux = run_kernel("procs", *args, machine__cores=4)
    parlib = run_kernel("procs-parlib", *args, machine__cores=4, trace=True, **AKAROS)
    assert parlib.status == 0 and linux.status == 0, parlib.err
    assert parlib.out == linux.out
    assert len(granted_pcores(parlib.trace)) >= 2


def test_pthread_switch_runs_as_an_mcp_without_the_kernel():
    """Every hand-over of pthread_switch is a uthread switch: the run makes a few dozen system
    calls for 4,000 switches (the musl build makes two futex calls per switch)."""
    run = run_kernel("pthread_switch-parlib", "2000", machine__cores=2, **AKAROS)
    assert run.status == 0, run.err
    assert '"switches": 4000' in run.out
    assert run.kernel.dispatcher.count < 200


@pytest.fixture(scope="module")
def user_program(tmp_path_factory) -> dict[str, Path]:
    if not (shutil.which("gcc") and shutil.which("make") and shutil.which("musl-gcc")):
        pytest.skip("needs gcc, make and musl-gcc to build the program")
    out = tmp_path_factory.mktemp("posix")
    subprocess.run(
        ["make", "-s", "-C", str(USER), "posix", f"SRC={PROGRAM}", f"OUT={out}"],
        check=True,
        capture_output=True,
    )
    native = out / "pthread_user-musl"
    subprocess.run(["musl-gcc", "-static", "-O2", "-o", str(native), str(PROGRAM)], check=True)
    return {"parlib": out / "pthread_user", "native": native}


def test_a_users_pthread_program_behaves_as_on_linux(user_program):
    native = subprocess.run([str(user_program["native"])], capture_output=True, text=True, timeout=60)
    run = run_kernel(str(user_program["parlib"]), machine__cores=4, trace=True, **AKAROS)
    assert run.status == 0, run.err
    assert run.out == native.stdout
    assert "4/4 threads" in run.out and "EBADF" in run.out
    assert len(granted_pcores(run.trace)) >= 2


def test_a_sleeping_pthread_does_not_hold_its_vcore(user_program):
    """On one vcore (cores 0 and 1: the MCP gets core 1), a pthread sleeping 2 ms and one computing
    1 ms take about 2 ms of virtual time, not 3: the sleep is an asynchronous system call and the
    vcore ran the other pthread meanwhile."""
    run = run_kernel(str(user_program["parlib"]), "sleep", machine__cores=2, trace=True, **AKAROS)
    assert run.status == 0, run.err
    figures = json.loads(run.out.strip().splitlines()[-1])
    assert granted_pcores(run.trace) == {1}
    assert figures["computed_at_us"] < 1300
    assert 2000 <= figures["elapsed_us"] < 2400
