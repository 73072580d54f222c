"""AF_UNIX sockets: named (a path, the abstract namespace, autobind), stream, seqpacket and
datagram, descriptors and credentials passed in control messages, compared with Linux."""

from __future__ import annotations

import pytest
from support import USER_BIN, run_kernel
from support.oracle import native, need_native

pytest.importorskip("kernkit.plugins.net")


def test_unix_sockets_print_what_they_print_on_linux():
    """Every fact unixtest prints (names and their lengths, errors and the order Linux checks
    them in, resets, MSG_TRUNC and MSG_CTRUNC, descriptors let go with a dropped message,
    SO_PEERCRED and SCM_CREDENTIALS) is Linux's."""
    need_native(root=True)  # the guest is the superuser: SO_PEERCRED's uid is 0 on both sides
    linux = native(USER_BIN / "unixtest")
    assert linux.returncode == 0, linux.stderr
    assert "the pipe after its last writer went with the message: read 0" in linux.stdout
    run = run_kernel("unixtest", "/tmp")
    assert run.status == 0, run.out + run.err
    assert run.out == linux.stdout


def test_a_socket_file_is_in_the_namespace_while_bound():
    """bind makes a socket file (stat says S_IFSOCK) that connect finds by its path, and a bind
    after unlink makes a new one; checked without the native comparison, which needs root."""
    run = run_kernel("unixtest", "/tmp")
    assert "the file is a socket: 1\n" in run.out
    assert "connect to no file: ENOENT\n" in run.out
    assert "bind after unlink: ok\n" in run.out
