"""poll, ppoll, select and pselect in parlib's POSIX layer: FD taps into one event queue, only
the calling pthread waits. posix_check built against the layer (an MCP, pthreads on vcores)
prints what the same source built with musl prints natively on this host (Linux as the oracle)."""

from __future__ import annotations

import json

import pytest
from support.posix import on_linux, on_parlib

MS = 1_000




@pytest.mark.parametrize("cores", [2, 4])
def test_poll_and_select_print_what_they_print_on_linux(cores):
    """Pipes (empty, written, hung up either way), a regular file (always ready), a descriptor
    not open (POLLNVAL; EBADF for select), timeouts, a listening and a connected TCP socket, a
    pthread woken by another's write; a handler ends poll and select with EINTR even under
    SA_RESTART, a blocked signal ends nothing, and ppoll and pselect unblock for their wait only;
    no stale readiness, a last look before EINTR, huge timeouts, cancellation under ppoll's mask.
    One vcore or several: Linux's output either way."""
    run = on_parlib("poll", "/tmp", cores=cores, trace=True)
    expected = on_linux("poll")
    assert run.out == expected
    assert "woken by a computing pthread: 1 IN 's', it computed 1" in expected
    assert "poll under SA_RESTART: -1 EINTR, handler ran 1" in expected
    assert "listening socket, a call comes: 1 IN" in expected
    # each wake-up looks again: a pipe written and read back while another pthread polls it is
    # empty; a byte and a signal together give the byte; huge timeouts do not wrap; a pthread
    # cancelled in ppoll cleans up under its own mask
    assert "then polled: empty 5 of 5" in expected
    assert "a byte and a signal together: 1 IN, handler ran 1, read 'k'" in expected
    assert "ppoll, 2^58 s: 1 IN" in expected and "select, 2^58 s: 1, set 1" in expected
    assert "SIGUSR2 blocked in its cleanup 1" in expected
    events = [json.loads(line)["ev"] for line in run.trace.splitlines()]
    assert events.count("fdtap") >= 10  # the readiness came from taps


def test_a_pthread_blocked_in_poll_does_not_hold_its_vcore():
    """On one vcore (two cores: the MCP gets core 1), one pthread polls an empty pipe with a 30 ms
    timeout while another computes for 10 ms of virtual time and then writes to the pipe: the
    poll returns the byte at 10 ms. Had the poll held the vcore, the computing pthread could not
    have started before the timeout and the poll would have returned 0 at 30 ms."""
    run = on_parlib("pollshare", cores=2)
    figures = json.loads(run.out)
    assert figures["poll"] == 1 and figures["revents"] == "IN"
    assert figures["spinner_started_us"] < 1 * MS
    assert 10 * MS <= figures["poll_returned_us"] < 11 * MS


def test_poll_is_deterministic():
    first = on_parlib("pollshare", cores=2, trace=True)
    second = on_parlib("pollshare", cores=2, trace=True)
    assert first.out == second.out and first.kernel.tracer.digest == second.kernel.tracer.digest
