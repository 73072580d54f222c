"""The x86_64 plugin's public API, for plugins that declare ``requires=("x86_64",)``: what a VM
exit of a guest pcore (``Architecture.guest_cpu``) says, for a VMM plugin."""

from kernkit.arch.x86_64.guest import (
    EXIT_EXTERNAL_INTERRUPT,
    EXIT_GUEST_IN_USE,
    EXIT_HLT,
    EXIT_LIMIT,
    EXIT_NAMES,
    VmExit,
)

__all__ = ["EXIT_EXTERNAL_INTERRUPT", "EXIT_GUEST_IN_USE", "EXIT_HLT", "EXIT_LIMIT", "EXIT_NAMES", "VmExit"]
