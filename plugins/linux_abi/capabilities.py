"""capget: a process's capabilities, which follow from its ids here (the superuser has all of
them, everyone else none, as after a Linux execve without file capabilities). Changing them
with capset is not modelled (ENOSYS)."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

from kernkit.core.errnos import EINVAL, ESRCH
from kernkit.plugins.linux_abi.creds import creds_of

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

#: Capabilities of the superuser: all 41 that Linux 6.1 knows.
ALL_CAPS = (1 << 41) - 1
#: _LINUX_CAPABILITY_VERSION_1 (one 32-bit set), _2 and _3 (two).
VERSIONS = {0x19980330: 1, 0x20071026: 2, 0x20080522: 2}
PREFERRED = 0x20080522


def capabilities(process: Process) -> int:
    """The effective and permitted set (the inheritable one is empty)."""
    return ALL_CAPS if creds_of(process).euid == 0 else 0


def sys_capget(t: Thread, header: int, data: int) -> int:
    aspace = t.process.aspace
    version, pid = struct.unpack("<Ii", aspace.read(header, 8))
    words = VERSIONS.get(version)
    if words is None:  # Linux says which version it speaks
        aspace.write(header, struct.pack("<I", PREFERRED))
        return 0 if not data else -EINVAL
    if pid < 0:
        return -EINVAL
    target = t.process
    if pid:
        found = [p for p in t.kernel.processes.values() if p.alive and any(th.tid == pid for th in p.threads)]
        if not found:
            return -ESRCH
        target = found[0]
    if data:
        caps = capabilities(target)
        sets = b"".join(
            struct.pack("<III", (caps >> (32 * i)) & 0xFFFF_FFFF, (caps >> (32 * i)) & 0xFFFF_FFFF, 0)
            for i in range(words)
        )
        aspace.write(data, sets)
    return 0


SYSCALLS = ((125, "capget", sys_capget, 2),)
