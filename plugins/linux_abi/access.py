"""Linux's file permission checks: owner, group and other bits against a process's ids.

The superuser (file system uid 0) may read and write anything and execute what has an execute
bit; others get the owner's bits when they own the file, the group's when they are in its group,
the rest otherwise. (Devices make their own coarser checks too: a read-only device refuses
writes whoever asks.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errnos import EACCES
from kernkit.plugins.linux_abi.creds import creds_of
from kernkit.plugins.linux_abi.failure import Failed
from kernkit.plugins.linux_abi.statbuf import numeric_id

if TYPE_CHECKING:
    from kernkit.core.devices import Dir
    from kernkit.core.process import Thread

R_OK, W_OK, X_OK = 4, 2, 1
#: What opening with O_RDONLY, O_WRONLY, O_RDWR needs.
OPEN_NEEDS = (R_OK, W_OK, R_OK | W_OK, R_OK | W_OK)


def privileged(t: Thread) -> bool:
    """Whether the caller's file system uid is the superuser's."""
    return creds_of(t.process).fsuid == 0


def allows(uid: int, gid: int, in_group: bool, entry: Dir, want: int) -> bool:
    mode = entry.mode
    if uid == 0:
        return not want & X_OK or entry.is_dir or bool(mode & 0o111)
    if uid == numeric_id(entry.uid):
        bits = mode >> 6
    elif gid == numeric_id(entry.gid) or in_group:
        bits = mode >> 3
    else:
        bits = mode
    return not want & ~bits & 7


def check_access(t: Thread, entry: Dir, want: int, *, real: bool = False) -> None:
    """Raise Failed(EACCES) unless the caller may ``want`` (R_OK | W_OK | X_OK) the file;
    ``real`` checks with the real ids, as access(2) does."""
    creds = creds_of(t.process)
    uid, gid = (creds.ruid, creds.rgid) if real else (creds.fsuid, creds.fsgid)
    if not allows(uid, gid, numeric_id(entry.gid) in creds.groups, entry, want):
        raise Failed(EACCES)
