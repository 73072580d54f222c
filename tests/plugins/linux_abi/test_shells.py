"""Real shells from Debian (bash-static, zsh-static, mksh-static, busybox sh) run the scripts in
shells/ under kernkit, natively and under qemu-user, and must print the same: traps on EXIT,
INT and USR1, background jobs killed, stopped and continued, wait -n, timeout, read -t,
$(...) in loops, SIGPIPE in yes | head, ulimit.

The external commands are busybox applets in every run (a directory of links for the host and
qemu-user, the same names in the guest's /bb), so the shells differ only in where they run.
qemu-user 7.2 dies with SIGSEGV in zsh-static's signal handlers (as soon as a trap runs), so zsh
is compared with the native run only."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from support import run_kernel
from support.sandbox import default_dispositions

SCRIPTS = Path(__file__).parent / "shells"
BUSYBOX = Path("/usr/bin/busybox")
QEMU = shutil.which("qemu-x86_64-static")
APPLETS = ["sleep", "yes", "head", "timeout", "expr", "sh", "cat", "printf", "echo", "true", "false", "kill"]
#: name -> (command line, scripts it runs)
SHELLS = {
    "bash": (["/usr/bin/bash-static"], ["posix.sh", "bash.sh"]),
    "zsh": (["/usr/bin/zsh-static"], ["posix.sh"]),
    "mksh": (["/usr/bin/mksh-static"], ["posix.sh"]),
    "busybox": ([str(BUSYBOX), "sh"], ["posix.sh"]),
}
CASES = [(shell, script) for shell, (_, scripts) in SHELLS.items() for script in scripts]


@pytest.fixture(scope="module")
def applets(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("applets")
    for name in APPLETS:
        (directory / name).symlink_to(BUSYBOX)
    return directory


def _host(command: list[str], script: Path, applets: Path) -> tuple[str, int]:
    run = subprocess.run(
        [*command, str(script)],
        env={"PATH": str(applets)},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=120,
        preexec_fn=default_dispositions,  # as kernkit's init starts: nothing ignored
    )
    return run.stdout.decode(), run.returncode


def _kernkit(command: list[str], script: Path) -> tuple[str, int, str]:
    root = {
        "/bin": "@programs",
        "/scripts/test.sh": str(script),
        **{f"/bb/{a}": str(BUSYBOX) for a in APPLETS},
    }
    run = run_kernel(
        command[0], *command[1:], "/scripts/test.sh", namespace__root=root, init__env=["PATH=/bb"]
    )
    return run.out, run.status, run.err


def _needs(shell: str) -> list[str]:
    command = SHELLS[shell][0]
    if not Path(command[0]).is_file() or not BUSYBOX.is_file():
        pytest.skip(
            f"{command[0]} or busybox is not installed (apt-get install bash-static zsh-static mksh busybox-static)"
        )
    return command


@pytest.mark.parametrize(("shell", "script"), CASES)
def test_shell_script_runs_as_on_linux(shell, script, applets):
    command = _needs(shell)
    path = SCRIPTS / script
    native = _host(command, path, applets)
    out, status, err = _kernkit(command, path)
    assert (out, status) == native, err
    assert "panic" not in err and "Traceback" not in err


@pytest.mark.skipif(QEMU is None, reason="qemu-user is not installed (apt-get install qemu-user-static)")
@pytest.mark.parametrize(("shell", "script"), [case for case in CASES if case[0] != "zsh"])
def test_shell_script_runs_as_under_qemu_user(shell, script, applets):
    command = _needs(shell)
    path = SCRIPTS / script
    under_qemu = _host([QEMU, *command], path, applets)
    out, status, err = _kernkit(command, path)
    assert (out, status) == under_qemu, err


def test_bash_process_substitution(applets):
    """<(...) names the pipe as /dev/fd/N: it works once the namespace has /dev/fd."""
    command = _needs("bash")
    path = SCRIPTS / "procsub.sh"
    native = _host(command, path, applets)
    out, status, err = _kernkit(command, path)
    if "/dev/fd/" in err and "No such file" in err:
        pytest.xfail("needs /dev/fd in the namespace (the Linux /proc and /dev/fd work adds it)")
    assert (out, status) == native, err
