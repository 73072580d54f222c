"""posix_check on both sides: built against parlib's POSIX layer and run as an MCP under
kernkit, and built with musl and run natively on this host (Linux as the oracle)."""

from __future__ import annotations

from kernkit.core.programs import packaged_programs_dir
from support import run_kernel
from support.oracle import native, need_native

AKAROS = {"kernel__personalities": ["linux", "akaros"], "sched__policy": "mcp"}


def on_parlib(*args: str, cores: int = 4, trace: bool = False, status: int = 0, **settings):
    """posix_check-parlib ARGS under kernkit (an MCP on ``cores`` cores); its run, which must
    end with ``status``."""
    run = run_kernel("posix_check-parlib", *args, machine__cores=cores, trace=trace, **AKAROS, **settings)
    assert run.status == status, run.err
    return run


def on_linux(*args: str) -> str:
    """What posix_check ARGS prints natively (skips where the host cannot run it)."""
    need_native()
    result = native(packaged_programs_dir() / "posix_check", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout
