"""A real third-party guest: Debian's static busybox explores and changes the namespace."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from support import run_kernel

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
    unknown = sorted({json.loads(line)["nr"] for line in run.trace.splitlines() if '"unknown_syscall"' in line})
    assert set(unknown) <= {157, 302, 334}  # prctl, prlimit64, rseq: busybox goes on without them
