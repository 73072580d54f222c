"""Waits a signal handler runs in, on parlib's POSIX layer: pthread_join, pthread_mutex_timedlock,
waitpid, sigtimedwait, sigwaitinfo and sigwait. posix_check built against the layer prints what
the same source built with musl prints natively on this host (Linux as the oracle)."""

from __future__ import annotations

import pytest
from support import run_kernel
from support.oracle import native, need_native
from support.posix import AKAROS

from kernkit.core.programs import packaged_programs_dir


@pytest.mark.parametrize("cores", [2, 4])
def test_a_handler_runs_while_join_timedlock_waitpid_and_sigtimedwait_wait(cores):
    """A pthread_kill'd handler runs during the wait, not when it ends: pthread_join and
    pthread_mutex_timedlock then wait on, waitpid returns EINTR (the call again under
    SA_RESTART), sigwait waits on for the signal of its set. One vcore or several."""
    need_native()
    linux = native(
        packaged_programs_dir() / "posix_check", "waitintr", str(packaged_programs_dir() / "posix_check")
    )
    assert linux.returncode == 0, linux.stderr
    run = run_kernel("posix_check-parlib", "waitintr", "posix_check-parlib", machine__cores=cores, **AKAROS)
    assert run.status == 0, run.err
    assert run.out == linux.stdout
    for line in (
        "pthread_join: 0, returned 7, handler ran 1, while the thread still ran: yes",
        "mutex_timedlock: 0, handler ran 1 while the other held it: yes",
        "waitpid: -1 EINTR, handler ran 1",
        "waitpid under SA_RESTART: the child, exit status 3, handler ran 1",
        "sigtimedwait: 12, handler ran 1, before SIGUSR2 was sent: yes",
    ):
        assert line in linux.stdout
    # sigtimedwait and sigwaitinfo return EINTR after the handler, as Linux's system call and
    # glibc's wrappers do; musl's wrappers make the call again, so natively the loop saw none
    assert run.err == "waitintr: EINTR from sigtimedwait 1, under SA_RESTART 1, from sigwaitinfo 1\n"
    assert linux.stderr == "waitintr: EINTR from sigtimedwait 0, under SA_RESTART 0, from sigwaitinfo 0\n"
