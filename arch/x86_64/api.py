"""The x86_64 plugin's public API, for plugins that declare ``requires=("x86_64",)``: what a VM
exit of a guest pcore (``Architecture.guest_cpu``) says, for a VMM plugin; and, for a
personality, a read handler whose reads of cached file pages the native system call entry may
do itself (``native_read``; without the native library it changes nothing)."""

from kernkit.arch.x86_64.guest import (
    EXIT_EXTERNAL_INTERRUPT,
    EXIT_GUEST_IN_USE,
    EXIT_HLT,
    EXIT_LIMIT,
    EXIT_NAMES,
    VmExit,
)
from kernkit.arch.x86_64.native import NativeRead, native_read

__all__ = [
    "EXIT_EXTERNAL_INTERRUPT",
    "EXIT_GUEST_IN_USE",
    "EXIT_HLT",
    "EXIT_LIMIT",
    "EXIT_NAMES",
    "NativeRead",
    "VmExit",
    "native_read",
]
