"""Signal numbers: the kernel's (numbered as on Linux, as in :class:`~kernkit.core.machine.Fault`)
against GDB's own target-independent ones, which the remote protocol carries."""

from __future__ import annotations

SIGINT, SIGTRAP, SIGKILL = 2, 5, 9

#: Linux number -> GDB number, where they differ (1-6, 8, 9, 11, 13-15 and 21-28 agree).
_TO_GDB = {7: 10, 10: 30, 12: 31, 17: 20, 18: 19, 19: 17, 20: 18, 23: 16, 29: 23, 30: 32, 31: 12}
_FROM_GDB = {gdb: linux for linux, gdb in _TO_GDB.items()}


def to_gdb(signal: int) -> int:
    return _TO_GDB.get(signal, signal)


def from_gdb(signal: int) -> int:
    """The kernel's number for GDB signal ``signal`` (0 stays 0: no signal)."""
    return _FROM_GDB.get(signal, signal)
