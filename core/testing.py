"""Booting kernels from tests: one call, everything the run produced.

    from kernkit.core.testing import boot_kernel

    run = boot_kernel("hello", machine__cores=2)
    assert run.status == 0 and run.out == "Hello from kernkit!\\n"

With kernkit installed, pytest also offers the fixture ``kernel``, which is this function.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import attrs

from kernkit.core.assemble import assemble, boot


@attrs.frozen
class BootResult:
    """What a kernel run produced: exit status, output, the kernel itself, and its trace."""

    status: int
    stdout: bytes
    stderr: bytes
    kernel: Any
    trace: str = ""

    @property
    def out(self) -> str:
        return self.stdout.decode(errors="replace")

    @property
    def err(self) -> str:
        return self.stderr.decode(errors="replace")


def boot_kernel(
    program: str | None = None,
    *args: str,
    config: str | Path | None = None,
    stdin: bytes = b"",
    trace: bool = False,
    **overrides: Any,
) -> BootResult:
    """Assemble and boot ``config`` (default: the packaged minimal kernel), optionally with
    ``program`` and ``args`` as init, and run it to the end.

    Keyword overrides set config options, ``__`` standing for a dot: ``machine__cores=2``.
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
    return BootResult(
        status, out.getvalue(), err.getvalue(), kernel, trace_stream.getvalue() if trace_stream else ""
    )
