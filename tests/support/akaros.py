"""Booting an Akaros MCP from tests and stopping it mid-run, to look at it from the kernel side."""

from __future__ import annotations

import io

from kernkit.core.assemble import assemble, boot
from kernkit.plugins.akaros_abi.state import of

MCP4 = {"kernel__personalities": ["linux", "akaros"], "sched__policy": "mcp", "machine__cores": 4}


def booted_mcp(**settings) -> tuple:
    """akaros_rules spin (an MCP counting on vcore 0), run round by round until it is online; its
    kernel and output stream. The caller kills it (``kernel.kill(kernel.init, 9)``) and shuts
    the kernel down."""
    overrides = {key.replace("__", "."): value for key, value in {**MCP4, **settings}.items()}
    stdout = io.BytesIO()
    kernel = assemble(
        None,
        overrides={**overrides, "init.program": "akaros_rules", "init.args": ["spin", "100000000"]},
        stdin=io.BytesIO(),
        stdout=stdout,
        stderr=io.BytesIO(),
        trace=io.StringIO(),
    )
    boot(kernel)
    state = of(kernel.init)
    for _ in range(200):
        kernel._round()
        if state.online:
            break
    assert kernel.init.mcp and state.online
    return kernel, stdout
