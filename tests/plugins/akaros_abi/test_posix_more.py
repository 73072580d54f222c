"""What a pthreads program needs beyond threads and locks, on parlib's POSIX layer: posix_check
built against it (an MCP, pthreads on vcores) prints what the same source built with musl prints
natively on this host (Linux as the oracle)."""

from __future__ import annotations

import json

import pytest
from support import run_kernel
from support.oracle import native, need_native
from support.posix import AKAROS, on_linux, on_parlib

from kernkit.core.programs import packaged_programs_dir


@pytest.mark.parametrize("mode", ["timed", "cancel", "signal", "float", "sigmask", "sigwait", "eintr", "hexfloat", "ldouble"])
def test_posix_check_prints_what_it_prints_on_linux(mode):
    assert on_parlib(mode).out == on_linux(mode)


@pytest.mark.parametrize("cores", [2, 4])
def test_a_handler_cuts_waits_short_with_eintr_as_on_linux(cores):
    """A pthread_kill'd handler ends nanosleep (with the time left), sleep (the seconds left),
    usleep, sem_wait and a socket read with EINTR; under SA_RESTART the read and sem_wait wait
    on and the sleeps still end; a condition or mutex wait runs the handler and waits on; a
    blocked signal cuts nothing.  One vcore or several: Linux's output either way."""
    out = on_parlib("eintr", cores=cores).out
    assert out == on_linux("eintr")
    assert "nanosleep(1 s): -1 EINTR, handler ran 1, time left between 0.5 s and 1 s: yes" in out
    assert "read under SA_RESTART: 1 'x', handler ran 1" in out


def test_open_and_connect_are_cancellation_points_and_stdio_is_not():
    """A cancellation pending when a pthread enables it again: printf and fprintf go on (musl's
    stdio is no cancellation point either); open, openat and connect end the pthread, which runs
    its cleanup handler, as on Linux."""
    run = on_parlib("cancel")
    assert run.out == on_linux("cancel")
    for what in ("open", "openat", "connect"):
        assert f"{what}: so does fprintf\ncleanup: {what}\n{what}: cancelled yes" in run.out


def test_fpu_state_survives_switches_and_notifications():
    """Three pthreads compute with SSE in three rounding modes and one with x87 rounding toward
    zero, yielding to each other, while a fourth's sleeps end in notifications that interrupt
    them on their vcore (one vcore: cores 0 and 1): every result is Linux's to the last bit."""
    run = on_parlib("fp", cores=2, trace=True)
    assert run.out == on_linux("fp")
    events = [json.loads(line)["ev"] for line in run.trace.splitlines()]
    assert events.count("notify") >= 10


@pytest.mark.parametrize("cores", [2, 4])
def test_thread_local_variables_are_per_pthread(cores):
    """__thread and _Thread_local variables (initialised, zeroed, an array, one 64-byte aligned):
    four pthreads and the main thread each change their own copy, yielding, sleeping and
    interrupted by notifications, on one vcore or several; each starts from the initial value."""
    run = on_parlib("tls", cores=cores, trace=True)
    expected = on_linux("tls")
    assert run.out == expected
    assert "main: counter 5" in expected and "worker 4 from 1000: counter 2024" in expected
    events = [json.loads(line)["ev"] for line in run.trace.splitlines()]
    assert events.count("notify") >= 4


def test_a_cancelled_accept_is_aborted_in_the_kernel():
    """accept (like read and write) is a cancellation point: pthread_cancel aborts the call its
    kernel task waits in (SYS_abort_sysc), and the pthread runs its cleanup handler and exits."""
    run = on_parlib("cancel", trace=True)
    assert run.out == on_linux("cancel")
    assert "accept's cleanup handler ran\naccept: cancelled yes" in run.out
    events = [json.loads(line)["ev"] for line in run.trace.splitlines()]
    assert events.count("sysc_aborted") == 1


@pytest.mark.parametrize("cores", [3, 4])
def test_a_signal_runs_on_the_pthread_that_takes_it(cores):
    """sigwait takes kill'd and pthread_kill'd signals; a kill'd signal that one pthread leaves
    unblocked runs its handler on that pthread, on its own stack, while it computes, sleeps, pauses
    or waits in sigsuspend (not in vcore context); pthread_kill to a pthread that blocks it stays
    pending for that pthread alone."""
    run = on_parlib("sigwait", cores=cores)
    expected = on_linux("sigwait")
    assert run.out == expected
    assert "computing pthread: [10 in worker 1 on its stack 1]" in expected
    assert "sigwait got 10 12 15 10" in expected


def test_fork_exec_and_posix_spawn_from_an_mcp():
    """fork runs the child as vfork does until it execs (the new process's status comes back
    through waitpid) or _exits after a failed exec; posix_spawn is proc_create and proc_run."""
    exitcode = packaged_programs_dir() / "exitcode"
    expected = on_linux("spawn", str(exitcode))
    assert on_parlib("spawn", "exitcode").out == expected
    assert "exit status 7" in expected and "exit status 42" in expected


def test_posix_spawn_file_actions_and_a_fork_childs_descriptors(tmp_path):
    """posix_spawn's addopen, adddup2 and addclose set echo's stdout before it runs (proc_create
    with the caller's descriptors, then SYS_dup_fds_to); a failing action leaves no process and
    returns its error; a fork child's open, dup2 and close are for the program it execs, and the
    parent's descriptors stay as they were; dup and dup2 in the parent. All as on Linux."""
    echo = str(packaged_programs_dir() / "echo")
    need_native()
    native_run = native(packaged_programs_dir() / "posix_check", "spawnfd", echo, str(tmp_path / "out"))
    assert native_run.returncode == 0, native_run.stderr
    expected = native_run.stdout
    for line in (
        'adddup2: the file holds "dup2 then close"',
        "addopen of a missing file: posix_spawn No such file or directory, waited no",
        'fork: the file holds "from a fork child"',
        "its lowest free descriptor is 3",
    ):
        assert line in expected
    assert on_parlib("spawnfd", "echo", "/tmp/out").out == expected


def test_posix_spawn_attributes_set_the_new_programs_signal_mask_and_ignored_signals():
    """The new program starts with the caller's mask and what it ignores (a handled signal goes
    back to its default), as exec keeps them on Linux, or with SETSIGMASK's mask and SETSIGDEF's
    signals at their default; the attribute accessors, an unknown flag's EINVAL; a fork child's
    exec keeps them too (the kernel carries them to the child in procinfo, proc_sigstate)."""
    expected = on_linux("spawnattr", str(packaged_programs_dir() / "posix_check"))
    for line in (
        "no attributes: the new program starts with blocked: 10 ignored: 12 15",
        "SETSIGMASK(SIGHUP, SIGQUIT): the new program starts with blocked: 1 3 ignored: 12 15",
        "SETSIGDEF(SIGUSR2, SIGINT): the new program starts with blocked: 10 ignored: 15",
        "fork and exec: the new program starts with blocked: 10 ignored: 12 15",
    ):
        assert line in expected
    assert on_parlib("spawnattr", "posix_check-parlib").out == expected


def test_a_linux_program_posix_spawned_by_parlib_starts_with_the_same_signal_state():
    """The same attributes, but the program spawned is a Linux one (posix_check built with musl,
    the Linux personality): proc_sigstate gives it the mask and ignored signals through the
    Linux personality's signal state, so the kernel's SigBlk and SigIgn in /proc/self/status,
    read before any signal call, and then libc's sigprocmask and sigaction say what they say
    when Linux itself runs both programs."""
    posix_check = str(packaged_programs_dir() / "posix_check")
    expected = on_linux("spawnattr", posix_check, "procsigstate")
    for line in (
        "no attributes: /proc/self/status says SigBlk:\t0000000000000200 SigIgn:\t0000000000004800",
        "SETSIGMASK(SIGHUP, SIGQUIT): /proc/self/status says SigBlk:\t0000000000000005 SigIgn:\t0000000000004800",
        "SETSIGDEF(SIGUSR2, SIGINT): the new program starts with blocked: 10 ignored: 15",
        "fork and exec: the new program starts with blocked: 10 ignored: 12 15",
    ):
        assert line in expected
    assert on_parlib("spawnattr", "posix_check", "procsigstate").out == expected


def test_process_groups_and_sessions_as_on_linux():
    """setpgid, getpgid, getpgrp, setsid, getsid and their errors (EINVAL, EPERM for a session
    leader, EACCES for a child that ran its program, ESRCH for one reaped); posix_spawn's
    SETPGROUP (a new group, a second child joining it) and SETSID; a fork child's setpgid(0, 0)
    and setsid, for the program it execs; kill(-pgid) and killpg reaching every member of a
    group, sent right after the spawns (the signal waits, blocked, until the child's sigwait)."""
    posix_check = str(packaged_programs_dir() / "posix_check")
    expected = on_linux("jobs", posix_check)
    for line in (
        "setpgid of a child that ran its program: EACCES\n",
        "the other member: reaped, exit status 10\n",
        "SETSID: setsid again: EPERM; setpgid(0, 0): EPERM; setpgid(0, the parent's group): EPERM\n",
        "fork: the child leads a group yes, in the caller's session yes\n",
    ):
        assert line in expected
    assert on_parlib("jobs", "posix_check-parlib").out == expected


def test_a_parlib_program_a_linux_program_execs_keeps_its_signal_mask_and_ignored_signals():
    """posix_check built with musl (the Linux personality) posix_spawns and fork-execs
    posix_check-parlib: Linux's execve of an Akaros program passes the caller's mask and ignored
    signals on (procinfo's sig_blocked, sig_ignored), as Linux's exec keeps them."""
    expected = on_linux("spawnattr", str(packaged_programs_dir() / "posix_check"))
    assert "fork and exec: the new program starts with blocked: 10 ignored: 12 15" in expected
    run = on_parlib_parent_linux("spawnattr", "/bin/posix_check-parlib")
    assert run.out == expected


def on_parlib_parent_linux(*args: str):
    run = run_kernel("posix_check", *args, machine__cores=4, **AKAROS)
    assert run.status == 0, run.err
    return run


MS = 1_000_000  # virtual nanoseconds


@pytest.mark.parametrize("period_us", [None, 1000, 2500])
def test_spinning_pthreads_share_a_vcore_in_time_slices(period_us):
    """Three pthreads that never block or yield spin on shared flags on one vcore (cores 0 and
    1): they all arrive, then take twelve turns in order, each turn waiting for the vcore's tick
    to send the spinner before it to the back of the run queue, as Linux's preemption does. The
    run lasts twelve slices of the period asked for (PTHREAD_SCHED_PERIOD, default 10 ms) and
    hardly more: slicing is what let them finish."""
    env = ["PATH=/bin"] + ([f"PTHREAD_SCHED_PERIOD={period_us}"] if period_us else [])
    expected = on_linux("slice")
    assert "12 turns, taken by 0 1 2 0 1 2 0 1 2 0 1 2" in expected
    run = on_parlib("slice", cores=2, init__env=env)
    assert run.out == expected
    slice_ns = (period_us or 10_000) * 1000
    assert 12 * slice_ns <= run.kernel.now(1) < 12 * slice_ns + MS


def test_spinners_that_take_locks_are_sliced_too():
    """The spinners read the turn under a mutex and call malloc and free as they spin, so a tick
    often finds notifications off (parlib's PDR locks); the pending notification is taken when
    they come back on, and the pthread is sliced then: the same twelve turns. (Fewer than twelve
    slices: a pthread sliced while it holds the mutex makes the next one block on it, a switch at
    once.) Without slicing no other spinner would ever run."""
    run = on_parlib("slice", "locks", cores=2, init__env=["PTHREAD_SCHED_PERIOD=1000"])
    assert run.out == on_linux("slice", "locks")
    assert run.kernel.now(1) < 12 * MS


def test_without_time_slices_the_first_spinner_keeps_the_vcore():
    """PTHREAD_SCHED_PERIOD=0 turns slicing off: the first spinner never lets the others arrive,
    and the run is stopped at ten times what the sliced one took."""
    run = on_parlib(
        "slice", cores=2, status=124, init__env=["PTHREAD_SCHED_PERIOD=0"], kernel__max_instructions=120 * MS
    )
    assert "slice:" not in run.out
    assert "instruction budget exhausted" in run.err


def test_a_bad_sched_period_is_one_line_and_the_default_stays():
    run = on_parlib("slice", cores=2, init__env=["PTHREAD_SCHED_PERIOD=10ms"])
    assert (
        run.err == "pthread: PTHREAD_SCHED_PERIOD=10ms is no number of microseconds; the slice stays 10000\n"
    )
    assert run.out == on_linux("slice")
    assert 120 * MS <= run.kernel.now(1) < 121 * MS
