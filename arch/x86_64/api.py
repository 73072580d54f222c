"""The x86_64 plugin's public API, for plugins that declare ``requires=("x86_64",)``: what a VM
exit of a guest pcore (``Architecture.guest_cpu``) says, for a VMM plugin; and, for a
personality, the read and close handlers whose plainest cases (a cached page of a file, a close
with nothing but bookkeeping) the native system call entry may do itself (``native_files``;
without the native library it changes nothing)."""

from kernkit.arch.x86_64.guest import (
    EXIT_EXTERNAL_INTERRUPT,
    EXIT_GUEST_IN_USE,
    EXIT_HLT,
    EXIT_LIMIT,
    EXIT_NAMES,
    VmExit,
)
from kernkit.arch.x86_64.native import NativeFiles, native_files

__all__ = [
    "EXIT_EXTERNAL_INTERRUPT",
    "EXIT_GUEST_IN_USE",
    "EXIT_HLT",
    "EXIT_LIMIT",
    "EXIT_NAMES",
    "NativeFiles",
    "VmExit",
    "native_files",
]
