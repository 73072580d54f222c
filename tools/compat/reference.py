"""Running a check outside kernkit, to record what it should print: under qemu-user, and natively
(Linux itself, the oracle that says whether qemu-user got it right), each in a chroot holding the
check's files (sandbox.py). Needs root or unprivileged user namespaces, and ``unshare``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import attrs

from kernkit.core.errors import KernkitError
from kernkit.tools.compat.sandbox import FAILED, FAILED_STATUS
from kernkit.tools.compat.suite import Check

QEMU = "qemu-x86_64-static"
#: kernkit's host name ([linux] hostname), which the reference runs get too
HOSTNAME = "kernkit"


@attrs.frozen
class Run:
    status: int  # as kernkit reports it: the exit status, or 128+N when killed by signal N
    stdout: str
    stderr: str
    #: host seconds from the program's start to its end, and the CPU seconds it and its children used
    wall_s: float = 0.0
    cpu_s: float = 0.0


def reference_tools() -> tuple[str, str]:
    """(unshare, qemu-x86_64-static) on PATH, or KernkitError saying what to install."""
    unshare, qemu = shutil.which("unshare"), shutil.which(QEMU)
    if unshare is None:
        raise KernkitError("recording references needs unshare (apt-get install util-linux)")
    if qemu is None:
        raise KernkitError(f"recording references needs {QEMU} (apt-get install qemu-user-static)")
    return unshare, qemu


def qemu_version() -> str:
    _, qemu = reference_tools()
    done = subprocess.run([qemu, "--version"], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else QEMU


def run_reference(check: Check, under_qemu: bool) -> Run:
    """Run ``check`` in a chroot of its files, under qemu-user or natively."""
    unshare, qemu = reference_tools()
    with tempfile.TemporaryDirectory(prefix="kernkit-compat-") as scratch:
        top = Path(scratch) / "root"
        top.mkdir()
        spec = {
            "top": str(top),
            "root": dict(check.root),
            "program": check.program,
            "argv": list(check.argv),
            "env": list(check.env),
            "qemu": qemu if under_qemu else "",
            "hostname": HOSTNAME,
            "cpus": int(dict(check.options).get("machine.cores", 1)),
            "times": str(Path(scratch) / "times.json"),
            "host_command": [word.replace("{port}", str(_guest_port(check))) for word in check.host_command],
        }
        spec_path = Path(scratch) / "spec.json"
        spec_path.write_text(json.dumps(spec))
        command = [
            unshare, "--mount", "--pid", "--uts", "--net", "--ipc", "--fork", "--kill-child",
            sys.executable, "-m", "kernkit.tools.compat.sandbox", str(spec_path),
        ]  # fmt: skip
        if os.geteuid() != 0:
            command[1:1] = ["--map-root-user"]
        try:
            done = subprocess.run(
                command,
                input=check.stdin.encode(),
                capture_output=True,
                timeout=check.timeout_s,
                check=False,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as exc:
            out = (exc.stdout or b"").decode(errors="replace")
            return Run(-1, out, f"no result within {check.timeout_s:g} s")
        times_file = Path(scratch) / "times.json"
        times = json.loads(times_file.read_text()) if times_file.exists() else {}
    status = done.returncode if done.returncode >= 0 else 128 - done.returncode
    stderr = done.stderr.decode(errors="replace")
    if status == FAILED_STATUS and FAILED in stderr:
        raise KernkitError(
            f"{check.name}: the reference sandbox failed: {stderr.split(FAILED, 1)[1].strip()}"
        )
    return Run(
        status,
        done.stdout.decode(errors="replace"),
        stderr,
        times.get("wall_s", 0.0),
        times.get("cpu_s", 0.0),
    )


def _guest_port(check: Check) -> int:
    """The guest port of the check's first [[net.forward]]: the reference program listens on it
    in its own network namespace, where the host command reaches it directly."""
    forwards = dict(check.options).get("net.forward", [])
    return int(forwards[0]["guest"]) if forwards else 0
