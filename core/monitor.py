"""The kernel monitor: look inside a stopped kernel (on a panic, with ``kernkit boot --monitor``,
with ``Ctrl-A c`` on a terminal console, or through gdb's ``monitor``).

Commands, as in Akaros's monitor where they exist there: help, ps, bt [PID], regs [PID],
mem ADDR LEN [PID], cores, kmsgs, trace [N], continue, quit. The table is open: plugins add commands
with the ``kernkit_register_monitor_commands`` hook (the core's own come the same way).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from kernkit.core.errors import BadAddress
from kernkit.core.records import MonitorCommand
from kernkit.core.report import process_list

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

#: Commands of the monitor loop itself (they steer it rather than show something).
LOOP_COMMANDS = {
    "help": "this list",
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


def _process(kernel: Kernel, pid: str | None) -> Process:
    process = kernel.processes.get(int(pid, 0)) if pid is not None else kernel.init
    if process is None:
        raise ValueError(f"no process {pid}")
    return process


# --- the core's commands ---------------------------------------------------------------------


def cmd_ps(kernel: Kernel) -> str:
    return process_list(kernel)


def cmd_bt(kernel: Kernel, pid: str | None = None) -> str:
    threads = _process(kernel, pid).threads if pid is not None else on_core_threads(kernel)
    if not threads:
        return "no thread is on a core (bt PID shows a process's threads)"
    return "\n".join(line for t in threads for line in backtrace_lines(kernel, t))


def cmd_regs(kernel: Kernel, pid: str | None = None) -> str:
    lines = []
    for thread in _process(kernel, pid).threads:
        regs = {"pc": thread.context.pc, **thread.context.registers()}
        shown = " ".join(f"{name}={value:#x}" for name, value in regs.items())
        lines.append(f"thread {thread.process.pid}.{thread.tid}: {shown}")
    return "\n".join(lines)


def cmd_mem(kernel: Kernel, address: str, length: str = "64", pid: str | None = None) -> str:
    process, start, count = _process(kernel, pid), int(address, 0), min(int(length, 0), 4096)
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


def cmd_cores(kernel: Kernel) -> str:
    lines = []
    for core, thread in enumerate(kernel.current):
        running = f"{thread.process.pid}.{thread.tid} ({thread.process.name})" if thread else "idle"
        cur, owner = kernel.cur_proc[core], kernel.owning_proc(core)
        tag = thread.tag if thread is not None else None
        lines.append(
            f"core {core}: {running}  cur_proc {cur.pid if cur else '-'}  "
            f"owning_proc {owner.pid if owner else '-'}  tag {tag or '-'}"
        )
    return "\n".join(lines)


def cmd_kmsgs(kernel: Kernel) -> str:
    lines = []
    for core in range(len(kernel.current)):
        for message in kernel.kmsgs.queued(core):
            kind = "routine" if message.routine else "immediate"
            source = "-" if message.source is None else message.source
            lines.append(f"core {core}: {kind:<9} {message.name} from core {source} at {message.sent_at} ns")
    return "\n".join(lines) if lines else f"no kernel messages waiting ({kernel.kmsgs.sent} sent so far)"


def cmd_trace(kernel: Kernel, count: str = "20") -> str:
    recent = list(kernel.tracer.recent)[-int(count) :]
    return "\n".join(recent) if recent else "no trace events (boot with --trace)"


CORE_COMMANDS = [
    MonitorCommand("ps", cmd_ps, "processes: PID, name, state, parent"),
    MonitorCommand(
        "bt",
        cmd_bt,
        "backtrace of each thread of PID (default: every thread on a core), symbolised",
        "bt [PID]",
    ),
    MonitorCommand("regs", cmd_regs, "registers of PID's threads (default: init)", "regs [PID]"),
    MonitorCommand("mem", cmd_mem, "hex dump of guest memory of PID (default: init)", "mem ADDR LEN [PID]"),
    MonitorCommand("cores", cmd_cores, "each core: its thread, cur_proc, owning_proc, thread tag (vcore)"),
    MonitorCommand("kmsgs", cmd_kmsgs, "kernel messages waiting on each core (immediate, then routine)"),
    MonitorCommand("trace", cmd_trace, "the last N trace events (default 20; needs --trace)", "trace [N]"),
]


# --- the loop --------------------------------------------------------------------------------


def commands(kernel: Kernel) -> dict[str, MonitorCommand]:
    registered = kernel.registries.get("monitor command") or {}
    return {name: reg.record for name, reg in registered.items()}


def help_text(kernel: Kernel) -> str:
    rows = [(c.usage or c.name, c.help) for c in commands(kernel).values()]
    rows.insert(0, ("help", LOOP_COMMANDS["help"]))
    rows += [(name, text) for name, text in LOOP_COMMANDS.items() if name != "help"]
    return "\n".join(f"  {usage:<20} {text}" for usage, text in rows)


def run_command(kernel: Kernel, line: str, can_continue: bool = False) -> str:
    """The output of one command line (loop commands other than help only explain themselves)."""
    words = line.split()
    if not words:
        return ""
    name, args = words[0], words[1:]
    if name == "help":
        return help_text(kernel)
    if name in LOOP_COMMANDS:
        return f"{name}: only at the monitor prompt"
    command = commands(kernel).get(name)
    if command is None:
        return f"unknown command {name!r}; type 'help'"
    try:
        return command.run(kernel, *args)
    except (TypeError, ValueError) as exc:
        return f"{name}: {exc}"
    except Exception as exc:  # a broken command must not end the session it was typed in
        return f"{name}: failed: {type(exc).__name__}: {exc}"


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
            if words[0] == "quit":
                return "quit"
            if words[0] == "continue":
                if can_continue:
                    return "continue"
                self.write("the kernel panicked: it cannot continue (quit ends the run)")
                continue
            self.write(run_command(self.kernel, line, can_continue))


def stderr_writer(kernel: Kernel) -> Callable[..., None]:
    def write(text: str, end: str = "\n") -> None:
        kernel.stderr.write((text + end).encode())
        kernel.stderr.flush()

    return write


def enter_monitor(kernel: Kernel, read: IO[str], write: Callable[..., None] | None = None) -> str:
    """Open the monitor in the middle of a run (every core stopped). ``continue`` returns to
    the run; ``quit`` (or end of input) ends it: every process is killed, so the run's status
    is 137 (init killed by SIGKILL)."""
    result = Monitor(kernel, read, write or stderr_writer(kernel)).interact(can_continue=True)
    if result == "quit":
        kernel.message("monitor: quit: the run ends")
        kernel.finished = True
        for thread in kernel.current:  # a core inside a system call stops after it
            if thread is not None:
                thread.stop_requested = True
    return result
