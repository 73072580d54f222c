"""Linux as the oracle: a guest program run natively on this host, or a Debian busybox in a
chroot natively and under qemu-user, to compare with what it prints under kernkit."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

#: A tmpfs on the host, where native runs get their scratch directories (kernkit's /tmp is one).
HOST_TMPFS = Path("/dev/shm")
BUSYBOX = Path("/bin/busybox")


def need_native(*, root: bool = False) -> None:
    """Skip unless programs built for kernkit can run natively here (and, with ``root``, as the
    superuser, which kernkit's guests are)."""
    if platform.system() != "Linux" or platform.machine() != "x86_64":
        pytest.skip("the native comparison needs Linux on x86-64")
    if not HOST_TMPFS.is_dir():
        pytest.skip(f"the native comparison needs a tmpfs at {HOST_TMPFS}")
    if root and os.geteuid() != 0:
        pytest.skip("the native comparison needs root (the guest runs as the superuser)")


def native(program: Path, *args: str) -> subprocess.CompletedProcess:
    """``program ARGS... DIR`` natively, DIR a fresh directory on the host's tmpfs, with no
    supplementary groups (as kernkit's first process has none)."""
    with tempfile.TemporaryDirectory(dir=HOST_TMPFS) as scratch:
        return subprocess.run(
            [str(program), *args, scratch],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_no_groups,
        )


def _no_groups() -> None:
    if os.geteuid() == 0:
        os.setgroups([])


def busybox_chroot(script: str, *, qemu: bool = False) -> subprocess.CompletedProcess:
    """``busybox sh -c SCRIPT`` chrooted in a tmpfs directory holding only /bin/busybox and an
    empty /tmp, natively or under qemu-x86_64-static (copied in): the files kernkit's
    busybox-alone namespace has."""
    need_native(root=True)
    if not BUSYBOX.is_file():
        pytest.skip("busybox is needed (apt-get install busybox-static)")
    emulator = shutil.which("qemu-x86_64-static")
    if qemu and emulator is None:
        pytest.skip("qemu-x86_64-static is needed (apt-get install qemu-user-static)")
    with tempfile.TemporaryDirectory(dir=HOST_TMPFS) as top:
        root = Path(top)
        (root / "bin").mkdir()
        (root / "tmp").mkdir(mode=0o1777)
        (root / "tmp").chmod(0o1777)
        shutil.copy2(BUSYBOX, root / "bin" / "busybox")
        command = ["/bin/busybox", "sh", "-c", script]
        if qemu:
            shutil.copy2(emulator, root / "qemu")
            command = ["/qemu", *command]

        def enter() -> None:
            _no_groups()
            os.chroot(root)
            os.chdir("/")

        return subprocess.run(
            command, capture_output=True, text=True, timeout=120, preexec_fn=enter, env={"PATH": "/bin"}
        )
