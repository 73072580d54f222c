"""The kernel monitor: look inside a stopped kernel (on a panic, or with ``kernkit boot --monitor``).

Commands, as in Akaros's monitor where they exist there: help, ps, bt [PID], regs [PID],
mem ADDR LEN [PID], cores, kmsgs, trace [N], continue, quit.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from kernkit.core.errors import BadAddress
from kernkit.core.report import process_list

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

HELP = {
    "help": "this list",
    "ps": "processes: PID, name, state, parent",
    "bt [PID]": "backtrace of each thread of PID (default: every thread on a core), symbolised",
    "regs [PID]": "registers of PID's threads (default: init)",
    "mem ADDR LEN [PID]": "hex dump of guest memory of PID (default: init)",
    "cores": "each core: the thread it runs, cur_proc, owning_proc and vcore",
    "kmsgs": "kernel messages waiting on each core (immediate first, then routine)",
    "trace [N]": "the last N trace events (default 20; needs --trace)",
    "continue": "leave the monitor and let the kernel run (not after a panic)",
    "quit": "end the run",
}


def backtrace_lines(kernel: Kernel, thread: Thread) -> list[str]:
    process = thread.process
    if process.aspace is None:
        return [f"  (pid {process.pid} has no address space)"]
    frames = kernel.machine.backtrace(process.aspace, thread.context)
    lines = [f"thread {process.pid}.{thread.tid} ({process.name}):"]
    for depth, address in enumerate(frames):
        symbol = process.image.symbolize(address) if process.image is not None else None
        lines.append(f"  #{depth:<2} {address:#x}" + (f" <{symbol}>" if symbol else ""))
    return lines


def on_core_threads(kernel: Kernel) -> list[Thread]:
    return [t for t in kernel.current if t is not None]


class Monitor:
    """A command loop over ``read``/``write`` (the host's stdin and stderr by default)."""

    def __init__(self, kernel: Kernel, read: IO[str], write: Callable[..., None]) -> None:
        self.kernel = kernel
        self.read = read
        self.write = write

    def interact(self, can_continue: bool) -> str:
        """Run commands until ``continue`` (returned only if ``can_continue``) or ``quit``/EOF."""
        self.write("Entering the kernkit monitor. Type 'help' for a list of commands.")
        while True:
            self.write("kernkit> ", end="")
            line = self.read.readline()
            if not line:
                return "quit"
            words = line.split()
            if not words:
                continue
            command, args = words[0], words[1:]
            if command == "quit":
                return "quit"
            if command == "continue":
                if can_continue:
                    return "continue"
                self.write("the kernel panicked: it cannot continue (quit ends the run)")
                continue
            handler = getattr(self, f"cmd_{command}", None)
            if handler is None:
                self.write(f"unknown command {command!r}; type 'help'")
                continue
            try:
                self.write(handler(*args))
            except (TypeError, ValueError) as exc:
                self.write(f"{command}: {exc}")

    def _process(self, pid: str | None) -> Process:
        process = self.kernel.processes.get(int(pid, 0)) if pid is not None else self.kernel.init
        if process is None:
            raise ValueError(f"no process {pid}")
        return process

    def cmd_help(self) -> str:
        return "\n".join(f"  {name:<20} {text}" for name, text in HELP.items())

    def cmd_ps(self) -> str:
        return process_list(self.kernel)

    def cmd_bt(self, pid: str | None = None) -> str:
        threads = self._process(pid).threads if pid is not None else on_core_threads(self.kernel)
        if not threads:
            return "no thread is on a core (bt PID shows a process's threads)"
        return "\n".join(line for t in threads for line in backtrace_lines(self.kernel, t))

    def cmd_regs(self, pid: str | None = None) -> str:
        lines = []
        for thread in self._process(pid).threads:
            regs = {"pc": thread.context.pc, **thread.context.registers()}
            shown = " ".join(f"{name}={value:#x}" for name, value in regs.items())
            lines.append(f"thread {thread.process.pid}.{thread.tid}: {shown}")
        return "\n".join(lines)

    def cmd_mem(self, address: str, length: str = "64", pid: str | None = None) -> str:
        process, start, count = self._process(pid), int(address, 0), min(int(length, 0), 4096)
        try:
            data = process.aspace.read(start, count)
        except (BadAddress, AttributeError):
            return f"mem: {start:#x}..{start + count:#x} is not readable in pid {process.pid}"
        rows = []
        for offset in range(0, len(data), 16):
            chunk = data[offset : offset + 16]
            text = "".join(chr(b) if 32 <= b < 127 else "." for b in chunk)
            rows.append(f"{start + offset:#014x}  {chunk.hex(' '):<47}  {text}")
        return "\n".join(rows)

    def cmd_cores(self) -> str:
        kernel = self.kernel
        lines = []
        for core, thread in enumerate(kernel.current):
            running = f"{thread.process.pid}.{thread.tid} ({thread.process.name})" if thread else "idle"
            cur, owner = kernel.cur_proc[core], kernel.owning_proc(core)
            vcore = thread.data.get("vcore") if thread is not None else None
            lines.append(
                f"core {core}: {running}  cur_proc {cur.pid if cur else '-'}  "
                f"owning_proc {owner.pid if owner else '-'}  vcore {'-' if vcore is None else vcore}"
            )
        return "\n".join(lines)

    def cmd_kmsgs(self) -> str:
        kernel = self.kernel
        lines = []
        for core in range(len(kernel.current)):
            for message in kernel.kmsgs.queued(core):
                kind = "routine" if message.routine else "immediate"
                source = "-" if message.source is None else message.source
                sent = f"from core {source} at {message.sent_at} ns"
                lines.append(f"core {core}: {kind:<9} {message.name} {sent}")
        return "\n".join(lines) if lines else f"no kernel messages waiting ({kernel.kmsgs.sent} sent so far)"

    def cmd_trace(self, count: str = "20") -> str:
        recent = list(self.kernel.tracer.recent)[-int(count) :]
        return "\n".join(recent) if recent else "no trace events (boot with --trace)"
