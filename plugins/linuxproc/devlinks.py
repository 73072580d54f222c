"""#linuxdev: the names Linux's /dev has that Plan 9's devices do not: ``fd``, ``stdin``,
``stdout`` and ``stderr``, symbolic links into /proc/self/fd as udev makes them. Bound before
#cons on /dev, so /dev/stdout is the caller's descriptor 1 (a pipe, when it is one), as on
Linux; the console's own files stay at #cons/stdout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.devices import DMDIR, DMSYMLINK, QTDIR, QTSYMLINK, Chan, DeviceDriver, DeviceError, Dir, Qid

if TYPE_CHECKING:
    from kernkit.core.process import Thread

LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
}
NAMES = list(LINKS)


class LinuxDevDevice(DeviceDriver):
    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#linuxdev takes no spec (got {spec!r})")
        return Chan(self, Qid(0, 0, QTDIR))

    def walk(self, chan: Chan, name: str, *, caller: Thread | None = None) -> Chan | None:
        if chan.aux is not None or name not in LINKS:
            return None
        return Chan(self, Qid(NAMES.index(name) + 1, 0, QTSYMLINK), 0, name)

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        if chan.aux is None:
            return Dir("#linuxdev", chan.qid, DMDIR | 0o555)
        return Dir(chan.aux, chan.qid, DMSYMLINK | 0o777, len(LINKS[chan.aux]))

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        return [self.stat(self.walk(chan, name, caller=caller), caller=caller) for name in NAMES]

    def dirgen(self, chan: Chan) -> int:
        return 0  # the names are fixed

    def readlink(self, chan: Chan, *, caller: Thread | None = None) -> str:
        if chan.aux is None:
            raise DeviceError("EINVAL", "not a symbolic link")
        return LINKS[chan.aux]
