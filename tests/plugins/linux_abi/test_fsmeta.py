"""File metadata from Linux programs (user/fsmeta.c, built with musl and with glibc): owners,
times, links, FIFOs, fallocate, statfs, ids, record locks across fork, chroot, '.' and '..'.
The same program runs natively on this host and must print the same lines: Linux is the oracle."""

from __future__ import annotations

import pytest
from support import USER_BIN, run_kernel
from support.oracle import BUSYBOX, native, need_native

GROUPS = ["owners", "times", "links", "fifo", "space", "ids", "locks", "chroot", "dots"]
PROGRAMS = ["fsmeta", "fsmeta-glibc"]


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("group", GROUPS)
def test_file_metadata_as_a_program_sees_it(group, program):
    run = run_kernel(program, group, "/tmp")
    failed = [line for line in run.out.splitlines() if line.startswith("FAIL")]
    assert run.status == 0 and not failed, "\n".join(failed) + run.err
    assert sum(line.startswith("ok ") for line in run.out.splitlines()) >= 5


@pytest.mark.parametrize("group", GROUPS)
def test_linux_prints_the_same(group):
    need_native(root=True)
    host = native(USER_BIN / "fsmeta-glibc", group)
    assert host.returncode == 0, host.stdout + host.stderr
    assert run_kernel("fsmeta-glibc", group, "/tmp").out == host.stdout


def test_a_record_lock_is_contended_across_fork():
    out = run_kernel("fsmeta", "locks", "/tmp").out
    for line in (
        "ok child: conflicts",
        "ok child: F_GETLK names the holder",
        "ok child: F_SETLKW waits",
        "ok parent: the child took the lock",
        "ok parent: waiting for the child would deadlock",
        "ok child: got it once the parent gave up",
        "ok a waiting flock is granted",
    ):
        assert line in out.splitlines(), out


def test_a_device_that_keeps_no_owners_refuses_chown():
    if not BUSYBOX.is_file():
        pytest.skip("busybox is needed (apt-get install busybox-static)")
    # #cons keeps no owners: chown is EPERM, never silently ignored; #root is read-only: EROFS
    script = "chown 1 /dev/null; chown 1 /bin/busybox"
    run = run_kernel(str(BUSYBOX), "sh", "-c", script, namespace__root={"/bin/busybox": str(BUSYBOX)})
    assert "Operation not permitted" in run.err and "Read-only file system" in run.err, run.err
