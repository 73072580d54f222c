"""Process groups and sessions for Akaros programs (kernkit's calls; Akaros has neither): the
Linux personality's, which every process has whatever its personality, so a parlib program, a
Linux program it spawns and a shell that runs it share groups, sessions and ``kill(-pgid)``.
``setpgid``, ``getpgid``, ``getsid`` and ``kill`` are Linux's calls as they are; ``setsid``
takes a pid: 0 for the caller, or a child it created that has not run yet (``posix_spawn``'s
POSIX_SPAWN_SETSID, which on Linux the child does itself before it execs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.plugins.akaros_abi.fds import created_child
from kernkit.plugins.linux_abi import api as linux

if TYPE_CHECKING:
    from kernkit.core.process import Thread


def sys_setsid(t: Thread, pid: int) -> int:
    """SYS_setsid(pid): the caller (pid 0) or its created child leads a new session and group:
    its pid, -EPERM (it leads a group already), -ESRCH, -EPERM (not the caller's child), -EINVAL
    (the child ran already)."""
    if pid == 0:
        return linux.new_session(t.process)
    child = created_child(t, pid)
    return child if isinstance(child, int) else linux.new_session(child)
