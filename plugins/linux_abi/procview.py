"""What the Linux personality knows of a process that Linux's /proc shows (for the linuxproc
plugin, through the api): its ids, umask, program break, where its argument and environment
strings are, its signal masks, its process group and session."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.plugins.linux_abi.fs import DEFAULT_UMASK
from kernkit.plugins.linux_abi.jobs import job
from kernkit.plugins.linux_abi.sigstate import FIRST_MASK, PROCESS_KEY, SIG_DFL, SIG_IGN, THREAD_KEY, bit
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
    state = PROCESS_KEY.get(process)
    for signal, action in (state.actions.items() if state is not None else ()):
        if action.handler == SIG_IGN:
            ignored |= bit(signal)
        elif action.handler != SIG_DFL:
            caught |= bit(signal)
    blocked = 0
    for thread in threads:
        mine = THREAD_KEY.get(thread)
        blocked |= mine.mask if mine is not None else FIRST_MASK.get(process) or 0
    return blocked, ignored, caught


def group_and_session(process: Process) -> tuple[int, int]:
    """The process group and session (as setpgid and setsid left them)."""
    found = job(process)
    return found.pgid, found.sid
