"""What many tests share: booting kernels in-process, running the real ``kernkit`` command,
checking one-line errors, plugin modules and packages, host peers for the network tests."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import pytest

from kernkit.core.assemble import check_choices, collect_registries, resolve_config
from kernkit.core.errors import ConfigError
from kernkit.core.programs import packaged_programs_dir
from kernkit.tools.testing import boot_kernel

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
USER_BIN = packaged_programs_dir()


#: Every test boots kernels the way plugin authors do.
run_kernel = boot_kernel


def kernkit_cli(
    *args: str, stdin: bytes = b"", cwd: Path | None = None, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the real ``kernkit`` command in a subprocess (as a user would)."""
    return subprocess.run(
        [sys.executable, "-m", "kernkit.tools.cli", *args],
        input=stdin,
        capture_output=True,
        cwd=cwd or ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    """The single stderr line of a failed ``kernkit`` run (exit 2, no traceback), without its prefix."""
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and err.endswith("\n"), err
    assert lines[0].startswith("kernkit: error: "), err
    return lines[0].removeprefix("kernkit: error: ")


def config_error(path: Path, overrides: dict | None = None) -> str:
    """The one-line ConfigError that validating ``path`` in-process (as ``kernkit check``) raises."""
    with pytest.raises(ConfigError) as info:
        config, plugins = resolve_config(path, overrides)
        check_choices(config, collect_registries(plugins))
    message = str(info.value)
    assert "\n" not in message
    return message


def add_module(directory: Path, source: str, prefix: str = "kk_plugin") -> str:
    """Write a module with a unique name into ``directory``; return the name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    (directory / f"{name}.py").write_text(textwrap.dedent(source))
    return name


def config_with_plugins(path: Path, modules: list[str], extra: str = "") -> Path:
    """A config whose ``[kernel] plugins`` loads ``modules``, followed by ``extra`` (TOML)."""
    listed = ", ".join(f'"{m}"' for m in modules)
    path.write_text(f"[kernel]\nplugins = [{listed}]\n" + textwrap.dedent(extra))
    return path


def pip_install_target(package: Path, target: Path) -> dict[str, str]:
    """pip-install ``package`` (no dependencies) into ``target``; the env that puts it on the path."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(package),
        ],
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return {"PYTHONPATH": str(target)}


def default_signals() -> None:
    """For ``preexec_fn``: the stop signals (Ctrl-C, SIGTERM, SIGHUP) back at their defaults in the
    child. A shell that started the tests in the background (or nohup) ignores SIGINT (SIGHUP),
    and a child inherits that; a child Python then installs no KeyboardInterrupt handler and a
    test's Ctrl-C would do nothing."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


@contextlib.contextmanager
def kernkit_process(*args: str, **popen):  # noqa: ANN003 - passed on to Popen
    """``kernkit ARGS`` as a host process with piped output that a test may stop with a signal
    (the stop signals back at their defaults), in a process group of its own; whatever is still running of it at the end
    (kernkit matrix has worker processes) is killed, whether the test passed or not."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kernkit.tools.cli", *args],
        **{"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "cwd": ROOT, **popen},
        preexec_fn=default_signals,
        start_new_session=True,
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()


def read_until(stream, text: bytes, timeout: float = 60) -> bytes:  # noqa: ANN001 - a pipe
    """Read a process's pipe until ``text`` has come (AssertionError with what did, after
    ``timeout`` or at its end): how a test knows a kernel is up before it interrupts it."""
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([stream], [], [], left)[0]:
            raise AssertionError(f"no {text!r} within {timeout} s; got {seen!r}")
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            raise AssertionError(f"no {text!r} before the end; got {seen!r}")
        seen += chunk
    return seen


@contextlib.contextmanager
def kernel_process(*args: str):
    """``kernkit boot ARGS`` as a host process with piped output, ended with Ctrl-C at the end."""
    with kernkit_process("boot", *args) as proc:
        try:
            yield proc
        finally:
            for _ in range(15):  # a Ctrl-C arriving while the kernel is busy may take a moment
                if proc.poll() is not None:
                    break
                proc.send_signal(signal.SIGINT)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.communicate(timeout=2)


@contextlib.contextmanager
def host_answerer():
    """A host TCP server on 127.0.0.1 (its port is yielded) that takes one connection, reads to
    its end and answers ``host says `` + what it read."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def answer():
        conn, _ = server.accept()
        with conn:
            data = b""
            while chunk := conn.recv(100):
                data += chunk
            conn.sendall(b"host says " + data)

    threading.Thread(target=answer, daemon=True).start()
    with server:
        yield server.getsockname()[1]


def until_serving(port: int, tries: int = 200) -> None:
    """Wait until the guest web server behind host ``port`` answers a HEAD. A forward listens
    on the host only while the guest program does: calls that come earlier are refused."""
    for _ in range(tries):
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 30) as s:
            s.sendall(b"HEAD / HTTP/1.0\r\n\r\n")
            if s.recv(100).startswith(b"HTTP/1."):
                return
        threading.Event().wait(0.05)
    raise AssertionError(f"nothing serves HTTP behind 127.0.0.1:{port}")


def wrk_load(port: int, threads: int, connections: int, seconds: int) -> float:
    """Drive ``http://127.0.0.1:PORT/`` with wrk (skip when it is not installed); assert that
    every reply was a 2xx and no socket failed, and return the requests per second."""
    wrk = shutil.which("wrk")
    if wrk is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    run = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", f"http://127.0.0.1:{port}/"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "Non-2xx" not in run.stdout and "Socket errors" not in run.stdout, run.stdout
    return float(re.search(r"Requests/sec:\s+([\d.]+)", run.stdout).group(1))


BROKEN_GETPID = """
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import Syscall, SyscallTable
from kernkit.plugins.linux_abi import LINUX

def broken(thread):
    raise RuntimeError("getpid is broken")

@hookimpl
def kernkit_register_syscall_tables():
    calls = tuple(c for c in LINUX.syscalls if c.number != 39) + (Syscall(39, "getpid", broken, 0),)
    return [SyscallTable("broken", calls, LINUX.setup_process, "linux with a bug",
                         errno_fault=14, errno_nosys=38)]
"""


def broken_kernel(tmp_path: Path) -> Path:
    """A config whose personality panics the kernel on getpid (a plugin with a bug)."""
    (tmp_path / "kk_broken_getpid.py").write_text(BROKEN_GETPID)
    config = tmp_path / "k.toml"
    config.write_text('[kernel]\nplugins = ["kk_broken_getpid"]\npersonalities = ["broken"]\n')
    return config


def run_bench(script: str, *args: str, timeout: float = 900) -> dict:
    """``python bench/SCRIPT ARGS``: the JSON object it printed (it must exit 0)."""
    import json

    result = subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], capture_output=True,
                            timeout=timeout)
    assert result.returncode == 0, result.stderr.decode()[-2000:]
    return json.loads(result.stdout)
