"""A real third-party guest: Debian's static busybox explores and changes the namespace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import run_kernel
from support.oracle import busybox_chroot

BUSYBOX = Path("/bin/busybox")
pytestmark = pytest.mark.skipif(
    not BUSYBOX.is_file() or shutil.which("busybox") is None,
    reason="busybox is needed (apt-get install busybox-static)",
)
SCRIPT = (
    "mkdir -p /tmp/a/b; echo x > /tmp/a/f; find /tmp; cp /tmp/a/f /tmp/y; mv /tmp/y /tmp/z; cat /tmp/z; "
    "rm -r /tmp/a; ls /tmp; cd /tmp && pwd; cat /dev/version; head -1 /proc/self/ns; "
    "echo piped | cat; wc -c < /dev/version"
)


def test_busybox_shell_runs_file_commands_in_the_namespace(tmp_path):
    root = {"/bin": "@programs", "/bin/busybox": str(BUSYBOX), "/bin/wc": str(BUSYBOX)}
    run = run_kernel(str(BUSYBOX), "sh", "-c", SCRIPT, namespace__root=root, trace=True)
    assert run.status == 0, run.err
    assert run.out == (
        "/tmp\n/tmp/a\n/tmp/a/b\n/tmp/a/f\nx\nz\n/tmp\nkernkit 0.1.0\nbind '#root' /\npiped\n14\n"
    )
    unknown = sorted(
        {json.loads(line)["nr"] for line in run.trace.splitlines() if '"unknown_syscall"' in line}
    )
    assert set(unknown) <= {157, 302, 334}  # prctl, prlimit64, rseq: busybox goes on without them


def test_tmpfs_files_count_the_pages_they_hold_as_linux_tmpfs_does():
    # Linux's tmpfs: 5000 bytes hold two pages (16 blocks of 512 bytes); a hole and a
    # directory hold none
    script = "printf '%5000s' x > /tmp/f; truncate -s 1M /tmp/h; mkdir /tmp/d; stat -c '%n %s %b' /tmp/f /tmp/h /tmp/d"
    run = run_kernel(str(BUSYBOX), "sh", "-c", script, namespace__root={"/bin/busybox": str(BUSYBOX)})
    assert run.status == 0, run.err
    assert run.out == "/tmp/f 5000 16\n/tmp/h 1048576 0\n/tmp/d 40 0\n"


SPARSE = (
    "printf x | dd of=/tmp/s bs=1 seek=6442450943 2>&1 | head -0; truncate -s 5G /tmp/t; "
    "stat -c '%n %s %b' /tmp/s /tmp/t; dd if=/tmp/s bs=1 skip=6442450942 2>&1 | busybox od -c | head -1"
)


def test_tmpfs_files_may_be_sparse_past_memory_and_4g_as_on_linux():
    # a 64M machine holds a 6 GiB file of one page, and a 5 GiB hole, as Linux's tmpfs does
    run = run_kernel(str(BUSYBOX), "sh", "-c", SPARSE, namespace__root={"/bin/busybox": str(BUSYBOX)})
    assert run.status == 0, run.err
    assert run.out.startswith("/tmp/s 6442450944 8\n/tmp/t 5368709120 0\n0000000  \\0   x")
    linux = busybox_chroot(SPARSE)
    assert linux.stdout == run.out, linux.stderr


def test_linux32_makes_uname_say_i686_for_the_programs_it_runs():
    run = run_kernel(str(BUSYBOX), "sh", "-c", "uname -m; linux32 uname -m; linux32 sh -c 'uname -m'")
    assert run.status == 0, run.err
    assert run.out == "x86_64\ni686\ni686\n"
