"""#linuxproc: Linux's /proc as a device.

The tree: ``self`` and ``thread-self`` (links to the caller's directories), ``mounts`` (a link
to ``self/mounts``), the machine's files (meminfo, cpuinfo, stat, uptime, loadavg, filesystems,
version), ``sys/`` and a directory per process. A process's directory holds Linux's files
(stat, statm, status, cmdline, environ, comm, maps, smaps_rollup, mounts), the links exe, cwd
and root, the directories fd/ (a link per descriptor), fdinfo/ and task/ (a directory per
thread) -- and every per-process file of ``#proc`` whose name Linux does not use (ctl, ns,
args, ...), which walks hand over to #proc itself: #proc's ``status`` and ``fd`` stay at
``#proc/PID``.

A channel's ``aux`` is the file's place in the tree, a tuple: () for the top, ("meminfo",),
("sys", "kernel", "ostype"), (PID,), (PID, "stat"), (PID, "fd", 3), (PID, "task", TID, "stat").
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.core.devices import (
    DMDIR,
    DMSYMLINK,
    QTDIR,
    QTFILE,
    QTSYMLINK,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    Qid,
    decimal,
)
from kernkit.core.process import EXITED
from kernkit.plugins.linux_abi.api import creds_of
from kernkit.plugins.linuxproc import process as files
from kernkit.plugins.linuxproc.system import SYS, TOP_FILES
from kernkit.plugins.ns.api import check_mode, view_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

TOP_LINKS = ("self", "thread-self", "mounts")
PROCESS_LINKS = ("exe", "cwd", "root")
PROCESS_DIRS = {"fd": 0o500, "fdinfo": 0o500, "task": 0o555}
#: A link per descriptor says how the file is open, as Linux's do: r-x, -wx or rwx for the owner.
FD_LINK_MODES = {0: 0o500, 1: 0o300, 2: 0o700, 3: 0o500}


class LinuxProcDevice(DeviceDriver):
    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self._paths: dict[tuple, int] = {(): 0}

    # --- places in the tree -------------------------------------------------------------------

    def _qid(self, where: tuple, kind: int) -> Qid:
        path = self._paths.get(where)
        if path is None:
            path = self._paths[where] = len(self._paths)
        return Qid(path, 0, kind)

    def _chan(self, where: tuple) -> Chan:
        return Chan(self, self._qid(where, self._kind(where)), 0, where)

    def _kind(self, where: tuple) -> int:
        if not where:
            return QTDIR
        head = where[0]
        if head == "sys":
            node = _sys_node(where)
            return QTDIR if isinstance(node, dict) else QTFILE
        if not isinstance(head, int):
            return QTSYMLINK if head in TOP_LINKS else QTFILE
        if len(where) == 1 or (len(where) == 2 and where[1] in PROCESS_DIRS):
            return QTDIR
        if where[1] == "task":
            return QTDIR if len(where) == 3 else QTFILE
        if (len(where) == 2 and where[1] in PROCESS_LINKS) or where[1] == "fd":
            return QTSYMLINK
        return QTFILE

    def _process(self, pid: int) -> Process:
        process = self.kernel.processes.get(pid)
        if process is None:
            raise DeviceError("ENOENT", f"process {pid} is gone")
        return process

    def _plan9(self, pid: int) -> tuple[Any, Chan] | None:
        """#proc's driver and its directory for ``pid`` (None without #proc)."""
        if "proc" not in self.kernel.registries["device"]:
            return None
        proc = self.devices.driver("proc")
        directory = proc.walk(proc.attach(""), str(pid))
        return None if directory is None else (proc, directory)

    def process_of(self, chan: Chan) -> int | None:
        """The pid whose directory ``chan`` is (pidfd_send_signal takes its descriptor)."""
        where = chan.aux
        return where[0] if len(where) == 1 and isinstance(where[0], int) else None

    # --- the device ---------------------------------------------------------------------------

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#linuxproc takes no spec (got {spec!r})")
        return self._chan(())

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        where = chan.aux
        found = self._child(where, name)
        if isinstance(found, Chan):
            return found
        return None if found is None else self._chan(found)

    def _child(self, where: tuple, name: str) -> tuple | Chan | None:
        processes = self.kernel.processes
        if not where:
            if decimal(name) and name[0] != "0" and len(name) < 10 and int(name) in processes:
                return (int(name),)
            return (name,) if name in TOP_FILES or name in TOP_LINKS or name == "sys" else None
        if where[0] == "sys":
            node = _sys_node(where)
            return (*where, name) if isinstance(node, dict) and name in node else None
        pid = where[0]
        if not isinstance(pid, int) or pid not in processes:
            return None
        process = processes[pid]
        if len(where) == 1:
            if name in files.FILES or name in PROCESS_LINKS or name in PROCESS_DIRS:
                return (pid, name)
            plan9 = self._plan9(pid)
            return plan9[0].walk(plan9[1], name) if plan9 is not None else None
        if not decimal(name) or len(name) > 9 or (name[0] == "0" and name != "0"):
            return (*where, name) if len(where) == 3 and name in files.FILES else None
        number = int(name)
        if where[1] in ("fd", "fdinfo") and len(where) == 2:
            return (pid, where[1], number) if process.files and process.files.get(number) else None
        if where[1] == "task" and len(where) == 2:
            return (pid, "task", number) if self._thread(process, number) is not None else None
        return None

    @staticmethod
    def _thread(process: Process, tid: int) -> Any:
        return next((t for t in process.threads if t.tid == tid and t.state is not EXITED), None)

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        return self._dir(chan.aux)

    def _dir(self, where: tuple) -> Dir:
        kind = self._kind(where)
        qid = self._qid(where, kind)
        name = str(where[-1]) if where else "#linuxproc"
        if not where or not isinstance(where[0], int):
            mode = DMDIR | 0o555 if kind == QTDIR else DMSYMLINK | 0o777 if kind == QTSYMLINK else 0o444
            return Dir(name, qid, mode)
        process = self._process(where[0])
        creds = creds_of(process)
        start = files.START.get(process) or 0
        if kind == QTDIR:
            mode = DMDIR | PROCESS_DIRS.get(where[1], 0o555) if len(where) == 2 else DMDIR | 0o555
        elif kind == QTSYMLINK:
            if where[1] == "fd":
                file = process.files.get(where[2]) if process.files else None
                mode = DMSYMLINK | FD_LINK_MODES[getattr(file, "mode", 0) & 3]
            else:
                mode = DMSYMLINK | 0o777
        else:
            mode = 0o400 if where[-1] in files.PRIVATE else 0o444
        return Dir(name, qid, mode, 0, start, start, str(creds.euid), str(creds.egid), ctime=start)

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        where = chan.aux
        if self._kind(where) != QTDIR:
            raise DeviceError("ENOTDIR")
        if not where:
            names = sorted([*TOP_FILES, *TOP_LINKS, "sys"])
            return [self._dir((n,)) for n in names] + [
                self._dir((pid,)) for pid in sorted(self.kernel.processes)
            ]
        if where[0] == "sys":
            return [self._dir((*where, n)) for n in _sys_node(where)]
        process = self._process(where[0])
        pid = process.pid
        if len(where) == 1:
            names = sorted([*files.FILES, *PROCESS_LINKS, *PROCESS_DIRS])
            entries = [self._dir((pid, n)) for n in names]
            plan9 = self._plan9(pid)
            if plan9 is not None:
                entries += [d for d in plan9[0].dirread(plan9[1]) if d.name not in names]
            return entries
        if where[1] in ("fd", "fdinfo") and len(where) == 2:
            return [self._dir((pid, where[1], fd)) for fd, _ in process.files or ()]
        if where[1] == "task" and len(where) == 2:
            return [self._dir((pid, "task", t.tid)) for t in process.threads if t.state is not EXITED]
        return [self._dir((*where, n)) for n in sorted(files.FILES)]

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        where = chan.aux
        if where and isinstance(where[0], int):
            self._process(where[0])
        if self._kind(where) == QTFILE:
            check_mode(mode, 0o444)
        return super().open(chan, mode & ~0x10, caller=caller)

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        data = self._contents(chan.aux)
        if isinstance(data, str):
            data = data.encode()
        return data[offset : offset + count]

    def _contents(self, where: tuple) -> str | bytes:
        kernel = self.kernel
        if where[0] == "sys":
            return _sys_node(where)(kernel)
        if not isinstance(where[0], int):
            return TOP_FILES[where[0]](kernel)
        process = self._process(where[0])
        if where[1] == "fdinfo":
            file = process.files.get(where[2]) if process.files else None
            if file is None:
                raise DeviceError("ENOENT")
            return files.fdinfo(where[2], file, process.files.is_cloexec(where[2]))
        if where[1] == "task":
            thread = self._thread(process, where[2])
            if thread is None:
                raise DeviceError("ENOENT", "the thread is gone")
            return files.FILES[where[3]](kernel, process, thread)
        return files.FILES[where[1]](kernel, process)

    # --- links --------------------------------------------------------------------------------

    def readlink(self, chan: Chan, *, caller: Thread | None = None) -> str:
        where = chan.aux
        if self._kind(where) != QTSYMLINK:
            raise DeviceError("EINVAL", "not a symbolic link")
        if not isinstance(where[0], int):
            if where[0] == "mounts":
                return "self/mounts"
            if caller is None:
                raise DeviceError("ENOENT", "no calling process")
            if where[0] == "self":
                return str(caller.process.pid)
            return f"{caller.process.pid}/task/{caller.tid}"
        process = self._process(where[0])
        if where[1] == "exe":
            return files.exe_path(self.kernel, process)
        if where[1] == "root":
            return "/"
        if where[1] == "cwd":
            view = view_of(process)
            return view.cwd.path if view is not None else "/"
        file = process.files.get(where[2]) if process.files else None
        if file is None:
            raise DeviceError("ENOENT")
        return files.fd_target(where[2], file)

    def follow(self, chan: Chan, *, caller: Thread | None = None) -> Chan | None:
        """exe, cwd, root and fd/N stand for the file itself, wherever it is now."""
        where = chan.aux
        if not where or not isinstance(where[0], int) or self._kind(where) != QTSYMLINK:
            return None
        process = self._process(where[0])
        view = view_of(process)
        if where[1] == "fd":
            file = process.files.get(where[2]) if process.files else None
            if file is None:
                raise DeviceError("ENOENT")
            if not isinstance(file, Chan):
                raise DeviceError("ENXIO", "not a file of the namespace")
            return file.clone()
        if view is None:
            return None
        if where[1] == "exe":
            return view.exe.clone() if view.exe is not None else files.exe_file(process)
        if where[1] == "cwd":
            return view.cwd.clone()
        return view.namespace.walk("/")


def _sys_node(where: tuple) -> Any:
    node: Any = SYS
    for name in where[1:]:
        node = node[name]
    return node
