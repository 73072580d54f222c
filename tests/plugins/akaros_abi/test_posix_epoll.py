"""epoll in parlib's POSIX layer: an interest list over the layer's FD taps, only the calling
pthread waits. posix_check built against the layer (an MCP, pthreads on vcores) prints what the
same source built with musl prints natively on this host (Linux as the oracle)."""

from __future__ import annotations

import json

import pytest
from support.posix import on_linux, on_parlib

MS = 1_000


@pytest.mark.parametrize("cores", [2, 4])
def test_epoll_prints_what_it_prints_on_linux(cores):
    """epoll_ctl's errors (EEXIST, ENOENT, EBADF, EINVAL, EPERM for a regular file), level- and
    edge-triggered entries, one-shot ones, maxevents taking every ready entry in turn, the data
    returned as given, closed descriptors leaving the list, pipe hangups, a listening and a
    connected TCP socket (EPOLLRDHUP when the peer closes), a handler ending epoll_wait with
    EINTR even under SA_RESTART, epoll_pwait's mask held only while it waits, cancellation, a
    closed epoll descriptor. One vcore or several: Linux's output either way."""
    run = on_parlib("epoll", "/tmp", cores=cores, trace=True)
    expected = on_linux("epoll", "/tmp")
    assert run.out == expected
    assert "add of a regular file: EPERM" in expected
    assert "ET, the byte still there: 0" in expected and "ET, another byte: 1 IN/e7" in expected
    assert "oneshot, still readable: 0" in expected and "oneshot, armed again: 1 IN/2" in expected
    assert "three ready, two at a time: 2 IN/123456789abcdef IN/b; 2 IN/c IN/123456789abcdef;" in expected
    assert "peer closed: 1 IN|RDHUP/23" in expected
    assert "epoll_wait under SA_RESTART: -1 EINTR, handler ran 1" in expected
    assert "a pthread cancelled in epoll_wait: cancelled" in expected
    events = [json.loads(line)["ev"] for line in run.trace.splitlines()]
    assert events.count("fdtap") >= 20  # the readiness came from taps


def test_a_pthread_blocked_in_epoll_wait_does_not_hold_its_vcore():
    """On one vcore (two cores: the MCP gets core 1), one pthread waits in epoll_wait on an empty
    pipe with a 30 ms timeout while another computes for 10 ms of virtual time and then writes to
    the pipe: the wait returns the byte at 10 ms. Had it held the vcore, the computing pthread
    could not have started before the timeout and the wait would have returned 0 at 30 ms."""
    run = on_parlib("epollshare", cores=2)
    figures = json.loads(run.out)
    assert figures["poll"] == 1 and figures["revents"] == "IN"
    assert figures["spinner_started_us"] < 1 * MS
    assert 10 * MS <= figures["poll_returned_us"] < 11 * MS


def test_epoll_is_deterministic():
    first = on_parlib("epollshare", cores=2, trace=True)
    second = on_parlib("epollshare", cores=2, trace=True)
    assert first.out == second.out and first.kernel.tracer.digest == second.kernel.tracer.digest
