"""The files of each /proc/PID directory that the namespace plugin provides."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.devices import Chan, DeviceError
from kernkit.core.records import ProcFile
from kernkit.plugins.ns.state import view_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process

SIGKILL = 9
MODES = {0: "r", 1: "w", 2: "rw", 3: "x"}


def status(kernel: Kernel, process: Process) -> str:
    parent = process.parent.pid if process.parent is not None else 0
    live = sum(1 for t in process.threads if t.state.value != "exited")
    fields = [
        ("pid", process.pid),
        ("name", process.name),
        ("state", process.state.value),
        ("ppid", parent),
        ("threads", live),
        ("instructions", sum(kernel.thread_instructions(t) for t in process.threads)),
    ]
    if process.exit_status is not None:
        fields.append(("exit", process.exit_status))
    text = "".join(f"{key} {value}\n" for key, value in fields)
    for registered in kernel.registries.get("proc file", {}).values():
        if registered.record.status_lines is not None:  # other plugins' facts
            text += registered.record.status_lines(kernel, process)
    return text


def args(kernel: Kernel, process: Process) -> str:
    return " ".join(process.argv) + "\n"


def fd(kernel: Kernel, process: Process) -> str:
    """The current directory, then a line per descriptor: fd, mode, device, offset, path."""
    view = view_of(process)
    lines = [view.cwd.path if view is not None else "?"]
    for number, file in process.files or ():
        if isinstance(file, Chan):
            device = "#" + getattr(file.driver, "name", "?")
            mode = MODES.get(file.mode & 3, "?")
            lines.append(f"{number:3d} {mode:<2} {device:<9} {file.offset:10d} {file.path}")
        else:
            lines.append(f"{number:3d} ?  {'-':<9} {0:10d} {getattr(file, 'name', '?')}")
    return "".join(line + "\n" for line in lines)


def ns(kernel: Kernel, process: Process) -> str:
    """The mount table as bind commands, then the current directory (a Plan 9 namespace file)."""
    view = view_of(process)
    if view is None:
        return ""
    return view.namespace.describe() + f"cd {view.cwd.path}\n"


def ctl(kernel: Kernel, process: Process, data: bytes) -> None:
    """Control messages, one per line: ``kill``; ``ns copy`` (a private copy of the namespace)
    and ``ns clean`` (a fresh one with only #root at /)."""
    for line in data.decode(errors="replace").splitlines():
        words = line.split()
        if not words:
            continue
        if words == ["kill"]:
            if process.alive:
                kernel.kill(process, SIGKILL)
        elif words[0] == "ns" and len(words) == 2 and words[1] in ("copy", "clean"):
            view = view_of(process)
            if view is None:
                raise DeviceError("EINVAL", "the process has no namespace")
            view.unshare() if words[1] == "copy" else view.clean()
        else:
            raise DeviceError("EINVAL", f"unknown control message {line!r} (kill, ns copy, ns clean)")


PROC_FILES = [
    ProcFile("args", args, description="the command line"),
    ProcFile("ctl", lambda kernel, process: "", ctl, "write kill, ns copy or ns clean"),
    ProcFile("fd", fd, description="current directory and open files"),
    ProcFile("ns", ns, description="the namespace as bind commands"),
    ProcFile("status", status, description="pid, name, state, parent, threads, instructions"),
]
