"""The GDB remote stub as a plugin: ``[gdb] listen = "HOST:PORT"`` (or ``kernkit boot --gdb``)
holds init before its first instruction until gdb attaches, then serves gdb for the whole run."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kernkit.core.hookspecs import hookimpl
from kernkit.core.listening import check_loopback
from kernkit.core.options import option
from kernkit.core.records import BootStep, ConfigSection
from kernkit.plugins.gdb.session import check_address, parse_address

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel


@attrs.frozen
class GdbOptions:
    listen: str = option(
        "",
        "HOST:PORT to wait for gdb on, with init held before its first instruction (empty: no "
        "debugger; port 0 picks a free one, printed when waiting)",
        validator=check_address,
    )
    allow_remote: bool = option(
        False, "allow a listen address other than loopback (gdb's protocol has no authentication)"
    )

    def __attrs_post_init__(self) -> None:
        if self.listen:
            check_loopback(parse_address(self.listen)[0], self.allow_remote, "gdb", "the gdb stub")


def wait_for_gdb(kernel: Kernel) -> None:
    """The boot step: listen, wait for gdb, attach the stub (only when ``[gdb] listen`` is set)."""
    text = kernel.config["gdb"].listen
    if not text:
        return
    from kernkit.plugins.gdb import session  # the stub's code is loaded only when it is used

    source = kernel.config.raw.source_of("gdb.listen")
    session.attach(kernel, session.listen(text, f"{source}: gdb.listen"))


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("gdb", GdbOptions, "the GDB remote stub (docs/debugging.md)")]


@hookimpl
def kernkit_boot_steps() -> list[BootStep]:
    return [BootStep("gdb", "init", wait_for_gdb, after=("init",), outside=True)]
