"""Linux as the oracle: what a guest program prints under kernkit, compared with what it prints
natively on this host (``native``: a program given a scratch directory; ``sandboxed``: a packaged
program in a sandbox that gives it what kernkit gives init, support/sandbox.py), or with a Debian
busybox in a chroot natively and under qemu-user. Where they differ on purpose, ``Difference``
says so and why; docs/testing.md lists every one."""

from __future__ import annotations

import functools
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import attrs
import pytest

from kernkit.core.programs import packaged_programs_dir

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
    supplementary groups and a nice value of 0 (as kernkit's first process has), even when the
    tests themselves run under ``nice``."""
    with tempfile.TemporaryDirectory(dir=HOST_TMPFS) as scratch:
        return subprocess.run(
            [str(program), *args, scratch],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=_like_the_first_process,
        )


def _like_the_first_process() -> None:
    if os.geteuid() == 0:
        os.setgroups([])
        os.setpriority(os.PRIO_PROCESS, 0, 0)


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
            _like_the_first_process()
            os.chroot(root)
            os.chdir("/")

        return subprocess.run(
            command, capture_output=True, text=True, timeout=120, preexec_fn=enter, env={"PATH": "/bin"}
        )


SANDBOX = Path(__file__).with_name("sandbox.py")


@attrs.frozen
class NativeRun:
    status: int  # as kernkit reports it: 128+N for a program killed by signal N
    out: str
    err: str


@attrs.frozen
class Difference:
    """Lines (a regular expression, matched from the start) that say something else on Linux and
    under kernkit for ``program`` (its name and arguments, as the cases write them), and why."""

    program: str
    lines: str
    reason: str
    part: str = ""  # only this (a regular expression) differs in those lines; all of them if empty

    def mask(self, text: str) -> str:
        """``text`` with each run of these lines (however many on either side) as one mark, or
        with the differing part of each marked."""
        mark = f"<differs: {self.reason}>"
        if self.part:
            return re.sub(f"(?m)^(?:{self.lines}).*$", lambda line: re.sub(self.part, mark, line[0]), text)
        marked = re.sub(f"(?m)^(?:{self.lines}).*$", mark, text)
        return re.sub(r"(?m)^(<differs: .*>\n)\1+", r"\1", marked)


def _unshare() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare is not installed (apt-get install util-linux)")
    return [unshare, "--mount", "--net", *([] if os.geteuid() == 0 else ["--map-root-user"])]


@functools.cache
def _sandbox_problem() -> str:
    """Why native runs cannot be sandboxed here ('' when they can)."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return "unshare is not installed"
    probe = subprocess.run(
        [*_unshare(), sys.executable, str(SANDBOX), "/bin/true", "true"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return "" if probe.returncode == 0 else probe.stderr.strip() or f"exit status {probe.returncode}"


def sandboxed(program: str, *args: str, stdin: bytes = b"", timeout: float = 120) -> NativeRun:
    """``program`` (a packaged guest) run natively in the sandbox; skips, saying why, where
    mount and network namespaces cannot be made."""
    problem = _sandbox_problem()
    if problem:
        pytest.skip(
            f"no sandbox for native runs ({problem}); it needs unshare (apt-get install util-linux) "
            "and mount and network namespaces (root, or user namespaces)"
        )
    path = packaged_programs_dir() / program
    result = subprocess.run(
        [*_unshare(), sys.executable, str(SANDBOX), str(path), program, *args],
        input=stdin,
        capture_output=True,
        timeout=timeout,
    )
    status = result.returncode if result.returncode >= 0 else 128 - result.returncode
    return NativeRun(status, result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace"))
