"""Booting kernels from tests: one call, everything the run produced.

    from kernkit.tools.testing import boot_kernel

    run = boot_kernel("hello", machine__cores=2)
    assert run.status == 0 and run.out == "Hello from kernkit!\\n"

With kernkit installed, pytest also offers the fixture ``kernel``, which is this function.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from kernkit.core.assemble import assemble, boot
from kernkit.core.programs import resolve_program


@attrs.frozen
class BootResult:
    """What a kernel run produced: exit status, output, the kernel itself, and its trace."""

    status: int
    stdout: bytes
    stderr: bytes
    kernel: Any
    trace: str = ""
    #: The processes started beside init (``also=``), in order.
    others: tuple[Any, ...] = ()

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
    also: Sequence[Sequence[str]] = (),
    **overrides: Any,
) -> BootResult:
    """Assemble and boot ``config`` (default: the packaged minimal kernel), optionally with
    ``program`` and ``args`` as init, and run it to the end.

    ``also`` starts more processes beside init, each given as ``[program, arg, ...]`` (a packaged
    program's name or a path); they are ``result.others``. Keyword overrides set config options,
    ``__`` standing for a dot: ``machine__cores=2``.
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
    others = tuple(
        kernel.spawn(resolve_program(argv[0], kernel.config.base_dir), list(argv), [], parent=kernel.init)
        for argv in also
    )
    status = kernel.run()
    trace_text = trace_stream.getvalue() if trace_stream else ""
    return BootResult(status, out.getvalue(), err.getvalue(), kernel, trace_text, others)
