"""What the Linux personality knows of a process that Linux's /proc shows (for the linuxproc
plugin, through the api): its ids, umask, program break, where its argument and environment
strings are, its signal masks, its process group and session."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.plugins.linux_abi.fs import DEFAULT_UMASK
from kernkit.plugins.linux_abi.startup import ARGS

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread
    from kernkit.plugins.linux_abi.memory import ProgramBreak


def umask(process: Process) -> int:
    return process.data.get("umask", DEFAULT_UMASK)


def program_break(process: Process) -> ProgramBreak | None:
    return process.data.get("brk")


def argument_strings(process: Process) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
    """((address, length) of each argv string, the same for envp), NULs included; empty for a
    process the personality did not start."""
    return ARGS.get(process) or ((), ())


def signal_masks(process: Process, threads: list[Thread]) -> tuple[int, int, int]:
    """(blocked, ignored, caught) signals, as bit masks (bit N-1 for signal N)."""
    ignored = caught = 0
    actions: dict[int, Any] = process.data.get("sigactions", {})
    for signal, action in actions.items():
        handler = action[0] if isinstance(action, tuple) else action
        if handler == 1:
            ignored |= 1 << (signal - 1)
        elif handler not in (0, None):
            caught |= 1 << (signal - 1)
    blocked = 0
    for thread in threads:
        mask = thread.data.get("sigmask", 0)
        blocked |= mask if isinstance(mask, int) else 0
    return blocked, ignored, caught


def group_and_session(process: Process) -> tuple[int, int]:
    """The process group and session (each process leads its own until they are modelled)."""
    return process.pid, process.pid
