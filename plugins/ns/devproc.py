"""#proc: a directory per process, named by its pid, holding the registered proc files.

The files come from ``kernkit_register_proc_files`` (the namespace plugin registers status,
ctl, ns, fd and args; other plugins add theirs). ``self`` walks to the caller's own directory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.devices import DMDIR, QTDIR, Chan, DeviceDriver, DeviceError, Dir, Qid, decimal
from kernkit.plugins.ns.synthetic import check_mode

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread
    from kernkit.core.records import ProcFile

SHIFT = 12  # qid path = pid << SHIFT | file index (0: the directory)


class ProcDevice(DeviceDriver):
    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.files: list[ProcFile] = [r.record for r in kernel.registries.get("proc file", {}).values()]
        if len(self.files) >= 1 << SHIFT:
            raise ValueError(f"#proc: {len(self.files)} proc files are too many")
        self.index = {f.name: i + 1 for i, f in enumerate(self.files)}

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#proc takes no spec (got {spec!r})")
        return Chan(self, Qid(0, 0, QTDIR), 0, None)

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        pid = chan.aux
        if pid is None:  # the top: process directories
            if name == "self":
                pid = caller.process.pid if caller is not None else None
            elif decimal(name) and name[0] != "0":
                pid = int(name)
            if pid is None or pid not in self.kernel.processes:
                return None
            return Chan(self, Qid(pid << SHIFT, 0, QTDIR), 0, pid)
        index = self.index.get(name)
        if index is None or chan.qid.path & ((1 << SHIFT) - 1):
            return None
        return Chan(self, Qid(pid << SHIFT | index), 0, pid)

    def _process(self, pid: int) -> Process:
        process = self.kernel.processes.get(pid)
        if process is None:
            raise DeviceError("ESRCH", f"process {pid} is gone")
        return process

    def _dir(self, pid: int, index: int) -> Dir:
        if index == 0:
            return Dir(str(pid), Qid(pid << SHIFT, 0, QTDIR), DMDIR | 0o555)
        proc_file = self.files[index - 1]
        perm = 0o444 | (0o200 if proc_file.write is not None else 0)
        return Dir(proc_file.name, Qid(pid << SHIFT | index), perm)

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        if chan.aux is None:
            return Dir("#proc", chan.qid, DMDIR | 0o555)
        return self._dir(chan.aux, chan.qid.path & ((1 << SHIFT) - 1))

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        if chan.aux is None:
            return [self._dir(pid, 0) for pid in sorted(self.kernel.processes)]
        self._process(chan.aux)
        return [self._dir(chan.aux, index + 1) for index in range(len(self.files))]

    def open(self, chan: Chan, mode: int, *, caller: Thread | None = None) -> Chan:
        if chan.aux is not None:
            self._process(chan.aux)
            if not chan.qid.type & QTDIR:
                check_mode(mode, self._dir(chan.aux, chan.qid.path & ((1 << SHIFT) - 1)).mode)
        return super().open(chan, mode & ~0x10, caller=caller)

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        proc_file = self.files[(chan.qid.path & ((1 << SHIFT) - 1)) - 1]
        if proc_file.read_at is not None:  # a stream (it may make the reader wait)
            return proc_file.read_at(self.kernel, self._process(chan.aux), count, offset)
        data = proc_file.read(self.kernel, self._process(chan.aux))
        if isinstance(data, str):
            data = data.encode()
        return data[offset : offset + count]

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        proc_file = self.files[(chan.qid.path & ((1 << SHIFT) - 1)) - 1]
        if proc_file.write is None:
            raise DeviceError("EACCES")
        proc_file.write(self.kernel, self._process(chan.aux), data)
        return len(data)
