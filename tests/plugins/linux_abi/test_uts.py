"""sethostname and setdomainname: the superuser renames the kernel (its one UTS namespace), as
Debian's busybox shows through uname and /proc/sys/kernel."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import run_kernel

BUSYBOX = Path("/bin/busybox")


@pytest.mark.skipif(
    shutil.which("busybox") is None, reason="busybox is needed (apt-get install busybox-static)"
)
def test_the_superuser_sets_the_host_name_for_the_whole_kernel():
    # on Linux (unshare --uts, as root) the same script prints the same: a name longer than
    # 64 bytes is EINVAL and leaves the name as it was
    script = (
        "busybox uname -n; busybox hostname guest.example; busybox uname -n; "
        "busybox cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname; "
        "busybox hostname $(busybox printf '%070d' 0); echo $?; busybox sh -c 'busybox hostname'"
    )
    run = run_kernel(str(BUSYBOX), "sh", "-c", script, namespace__root={"/bin/busybox": str(BUSYBOX)})
    assert run.out == "kernkit\nguest.example\nguest.example\n(none)\n1\nguest.example\n", run.err
    assert "hostname: sethostname: Invalid argument" in run.err


def test_only_the_superuser_may_set_the_names():
    from kernkit.core.errnos import EPERM
    from kernkit.plugins.linux_abi.uts import sys_setdomainname, sys_sethostname

    class Creds:
        euid = 1000

    class Process:
        data = {}

    class Thread:
        process = Process()

    from kernkit.plugins.linux_abi import creds

    Thread.process.data[creds.CREDS] = Creds()
    assert sys_sethostname(Thread(), 0, 4) == sys_setdomainname(Thread(), 0, 4) == -EPERM
