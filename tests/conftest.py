"""Shared fixtures: boot a kernel in-process and capture what it printed."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import attrs
import pytest

from kernkit.core.assemble import assemble, boot, check_choices, collect_registries, resolve_config
from kernkit.core.errors import ConfigError
from kernkit.core.programs import packaged_programs_dir

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
USER_BIN = packaged_programs_dir()


@attrs.frozen
class Run:
    """What a kernel run produced."""

    status: int
    stdout: bytes
    stderr: bytes
    kernel: object
    trace: str = ""

    @property
    def out(self) -> str:
        return self.stdout.decode(errors="replace")

    @property
    def err(self) -> str:
        return self.stderr.decode(errors="replace")


def run_kernel(
    program: str | None = None,
    *args: str,
    config: str | Path | None = None,
    stdin: bytes = b"",
    trace: bool = False,
    **overrides: object,
) -> Run:
    """Assemble and boot ``config`` (default: minimal), optionally with ``program`` as init.

    Keyword overrides use ``__`` for dots: ``machine__cores=2`` sets machine.cores.
    """
    settings = {key.replace("__", "."): value for key, value in overrides.items()}
    if program is not None:
        settings["init.program"] = str(program)
        settings["init.args"] = list(args)
    out, err = io.BytesIO(), io.BytesIO()
    trace_stream = io.StringIO() if trace else None
    kernel = assemble(
        config, overrides=settings, stdin=io.BytesIO(stdin), stdout=out, stderr=err, trace=trace_stream
    )
    boot(kernel)
    status = kernel.run()
    return Run(
        status, out.getvalue(), err.getvalue(), kernel, trace_stream.getvalue() if trace_stream else ""
    )


@pytest.fixture
def kernel_run():
    """The :func:`run_kernel` helper, for tests that boot kernels."""
    return run_kernel


def kernkit_cli(
    *args: str, stdin: bytes = b"", cwd: Path | None = None, env: dict | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the real ``kernkit`` command in a subprocess (as a user would)."""
    return subprocess.run(
        [sys.executable, "-m", "kernkit.core.cli", *args],
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


@pytest.fixture
def plugin_dir(tmp_path, monkeypatch):
    """A directory on sys.path (and, passed as PYTHONPATH, for the CLI) to put plugin modules in."""
    directory = tmp_path / "pyplugins"
    directory.mkdir()
    monkeypatch.syspath_prepend(str(directory))
    before = set(sys.modules)
    yield directory
    for name in set(sys.modules) - before:
        if name.startswith("kk_"):
            del sys.modules[name]


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
