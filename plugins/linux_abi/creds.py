"""User and group ids, supplementary groups, nice values, execution domain and I/O priority.

Every process starts as the superuser (all ids 0), as kernkit's guests always have; the set*id
calls change the ids with Linux's rules (the superuser may set any, others only swap among
their real, effective and saved ids). The file system ids own the files a process creates
(devices read them through ``kernkit.core.devices.owner_of``). Nice values and I/O priorities
are kept and reported (``/proc/PID/stat``) but the scheduler does not use them.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import attrs

from kernkit.core.devices import OWNER
from kernkit.core.errnos import EACCES, EINVAL, EPERM, ESRCH
from kernkit.core.state import Slot

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread

NGROUPS_MAX = 65536
#: The id argument that means "leave it as it is".
UNCHANGED = 0xFFFF_FFFF
PRIO_PROCESS, PRIO_PGRP, PRIO_USER = 0, 1, 2
NICE_MIN, NICE_MAX = -20, 19
IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER = 1, 2, 3
IOPRIO_CLASS_MAX = 3
PERSONALITY_QUERY = 0xFFFF_FFFF
#: personality(2): the low byte names the personality; PER_LINUX32 is a 32-bit Linux.
PER_MASK = 0xFF
PER_LINUX32 = 0x0008


@attrs.frozen
class Creds:
    """A process's ids: real, effective, saved and file system user and group ids, the
    supplementary groups, its nice value, execution domain, I/O priority and scheduling policy."""

    ruid: int = 0
    euid: int = 0
    suid: int = 0
    fsuid: int = 0
    rgid: int = 0
    egid: int = 0
    sgid: int = 0
    fsgid: int = 0
    groups: tuple[int, ...] = ()
    nice: int = 0
    persona: int = 0
    ioprio: int = 0
    #: sched_setscheduler's policy (SCHED_RESET_ON_FORK included) and static priority.
    policy: int = 0
    rt_priority: int = 0

    def in_group(self, gid: int) -> bool:
        return gid == self.fsgid or gid in self.groups


ROOT = Creds()
CREDS: Slot[Creds] = Slot("linux.creds")


def creds_of(process: Process) -> Creds:
    return process.data.get(CREDS) or ROOT  # CREDS.get(process), inline: asked by every open


def _set(process: Process, creds: Creds) -> None:
    CREDS.set(process, creds)
    if creds.fsuid or creds.fsgid:
        OWNER.set(process, (str(creds.fsuid), str(creds.fsgid)))
    else:
        OWNER.pop(process)


def _id(value: int) -> int:
    return value & 0xFFFF_FFFF


# --- reading ------------------------------------------------------------------------------------


def sys_getuid(t: Thread) -> int:
    return creds_of(t.process).ruid


def sys_geteuid(t: Thread) -> int:
    return creds_of(t.process).euid


def sys_getgid(t: Thread) -> int:
    return creds_of(t.process).rgid


def sys_getegid(t: Thread) -> int:
    return creds_of(t.process).egid


def sys_getresuid(t: Thread, ruid: int, euid: int, suid: int) -> int:
    creds = creds_of(t.process)
    return _put_ids(t, (ruid, euid, suid), (creds.ruid, creds.euid, creds.suid))


def sys_getresgid(t: Thread, rgid: int, egid: int, sgid: int) -> int:
    creds = creds_of(t.process)
    return _put_ids(t, (rgid, egid, sgid), (creds.rgid, creds.egid, creds.sgid))


def _put_ids(t: Thread, addresses: tuple[int, ...], values: tuple[int, ...]) -> int:
    aspace = t.process.aspace
    for address in addresses:
        if not aspace.allows(address, 4, "write"):
            return -14  # EFAULT, before anything is written
    for address, value in zip(addresses, values, strict=True):
        aspace.write(address, struct.pack("<I", value))
    return 0


def sys_getgroups(t: Thread, size: int, address: int) -> int:
    groups = creds_of(t.process).groups
    size = _id(size)
    if size >= 1 << 31:
        return -EINVAL
    if size == 0:
        return len(groups)
    if size < len(groups):
        return -EINVAL
    if groups:
        t.process.aspace.write(address, struct.pack(f"<{len(groups)}I", *groups))
    return len(groups)


# --- changing -----------------------------------------------------------------------------------


def sys_setgroups(t: Thread, size: int, address: int) -> int:
    creds = creds_of(t.process)
    size = _id(size)
    if size > NGROUPS_MAX:
        return -EINVAL
    if creds.euid != 0:
        return -EPERM
    groups = struct.unpack(f"<{size}I", t.process.aspace.read(address, 4 * size)) if size else ()
    _set(t.process, attrs.evolve(creds, groups=tuple(sorted(set(groups)))))
    return 0


def _change(t: Thread, wanted: tuple[int, int, int], user: bool) -> int:
    """setresuid/setresgid: UNCHANGED leaves an id; others may only pick among their ids."""
    creds = creds_of(t.process)
    current = (creds.ruid, creds.euid, creds.suid) if user else (creds.rgid, creds.egid, creds.sgid)
    if creds.euid != 0 and any(want != UNCHANGED and want not in current for want in wanted):
        return -EPERM
    new = tuple(old if want == UNCHANGED else want for old, want in zip(current, wanted, strict=True))
    return _assign(t, new, user)


def sys_setresuid(t: Thread, ruid: int, euid: int, suid: int) -> int:
    return _change(t, (_id(ruid), _id(euid), _id(suid)), True)


def sys_setresgid(t: Thread, rgid: int, egid: int, sgid: int) -> int:
    return _change(t, (_id(rgid), _id(egid), _id(sgid)), False)


def _setre(t: Thread, real: int, effective: int, user: bool) -> int:
    """setreuid/setregid: the saved id follows the effective one when the real one is set or
    the effective one becomes something other than the real one."""
    creds = creds_of(t.process)
    r, e, s = (creds.ruid, creds.euid, creds.suid) if user else (creds.rgid, creds.egid, creds.sgid)
    real, effective = _id(real), _id(effective)
    if creds.euid != 0 and (
        (real != UNCHANGED and real not in (r, e)) or (effective != UNCHANGED and effective not in (r, e, s))
    ):
        return -EPERM
    new_r = r if real == UNCHANGED else real
    new_e = e if effective == UNCHANGED else effective
    new_s = new_e if real != UNCHANGED or (effective != UNCHANGED and effective != r) else s
    return _assign(t, (new_r, new_e, new_s), user)


def _assign(t: Thread, ids: tuple[int, ...], user: bool) -> int:
    """Set the real, effective and saved ids (user or group); the file system id follows the
    effective one."""
    creds = creds_of(t.process)
    if user:
        _set(t.process, attrs.evolve(creds, ruid=ids[0], euid=ids[1], suid=ids[2], fsuid=ids[1]))
    else:
        _set(t.process, attrs.evolve(creds, rgid=ids[0], egid=ids[1], sgid=ids[2], fsgid=ids[1]))
    return 0


def sys_setreuid(t: Thread, ruid: int, euid: int) -> int:
    return _setre(t, ruid, euid, True)


def sys_setregid(t: Thread, rgid: int, egid: int) -> int:
    return _setre(t, rgid, egid, False)


def _setid(t: Thread, value: int, user: bool) -> int:
    """setuid/setgid: the superuser sets all three ids, others only the effective one, to
    their real or saved id."""
    creds = creds_of(t.process)
    value = _id(value)
    if value == UNCHANGED:
        return -EINVAL
    if creds.euid == 0:
        return _assign(t, (value, value, value), user)
    r, s = (creds.ruid, creds.suid) if user else (creds.rgid, creds.sgid)
    if value not in (r, s):
        return -EPERM
    return _change(t, (UNCHANGED, value, UNCHANGED), user)


def sys_setuid(t: Thread, uid: int) -> int:
    return _setid(t, uid, True)


def sys_setgid(t: Thread, gid: int) -> int:
    return _setid(t, gid, False)


def _setfs(t: Thread, value: int, user: bool) -> int:
    """setfsuid/setfsgid: always the old id; the new one only when allowed."""
    creds = creds_of(t.process)
    old = creds.fsuid if user else creds.fsgid
    value = _id(value)
    allowed = (
        (creds.ruid, creds.euid, creds.suid, creds.fsuid)
        if user
        else (creds.rgid, creds.egid, creds.sgid, creds.fsgid)
    )
    if value != UNCHANGED and (creds.euid == 0 or value in allowed):
        _set(t.process, attrs.evolve(creds, **{"fsuid" if user else "fsgid": value}))
    return old


def sys_setfsuid(t: Thread, uid: int) -> int:
    return _setfs(t, uid, True)


def sys_setfsgid(t: Thread, gid: int) -> int:
    return _setfs(t, gid, False)


# --- priorities, execution domain ---------------------------------------------------------------


def _targets(t: Thread, which: int, who: int) -> list[Process] | int:
    """The processes getpriority/setpriority name, or -errno."""
    who = _id(who)
    processes = [p for p in t.kernel.processes.values() if p.alive]
    if which in (PRIO_PROCESS, PRIO_PGRP):  # a group: the caller's own, or the one ``who`` leads
        chosen = [t.process] if who == 0 else [p for p in processes if p.pid == who]
    elif which == PRIO_USER:
        uid = creds_of(t.process).euid if who == 0 else who
        chosen = [p for p in processes if creds_of(p).ruid == uid]
    else:
        return -EINVAL
    return chosen or -ESRCH


def sys_getpriority(t: Thread, which: int, who: int) -> int:
    """20 - nice of the most favoured target (the system call's own encoding: 1..40)."""
    chosen = _targets(t, which, who)
    if isinstance(chosen, int):
        return chosen
    return 20 - min(creds_of(p).nice for p in chosen)


def sys_setpriority(t: Thread, which: int, who: int, prio: int) -> int:
    chosen = _targets(t, which, who)
    if isinstance(chosen, int):
        return chosen
    value = _id(prio)
    value = value - (1 << 32) if value >= 1 << 31 else value
    nice = max(NICE_MIN, min(NICE_MAX, value))
    mine = creds_of(t.process)
    for process in chosen:
        creds = creds_of(process)
        if mine.euid != 0 and mine.euid not in (creds.ruid, creds.euid):
            return -EPERM
        if mine.euid != 0 and nice < creds.nice:
            return -EACCES
        _set(process, attrs.evolve(creds, nice=nice))
    return 0


def sys_personality(t: Thread, persona: int) -> int:
    creds = creds_of(t.process)
    persona = _id(persona)
    if persona != PERSONALITY_QUERY:
        _set(t.process, attrs.evolve(creds, persona=persona))
    return creds.persona


def _io_targets(t: Thread, which: int, who: int) -> list[Process] | int:
    if which not in (IOPRIO_WHO_PROCESS, IOPRIO_WHO_PGRP, IOPRIO_WHO_USER):
        return -EINVAL
    return _targets(t, which - 1, who)


def sys_ioprio_get(t: Thread, which: int, who: int) -> int:
    chosen = _io_targets(t, which, who)
    if isinstance(chosen, int):
        return chosen
    return creds_of(chosen[0]).ioprio


def sys_ioprio_set(t: Thread, which: int, who: int, ioprio: int) -> int:
    ioprio = _id(ioprio)
    if ioprio >> 13 > IOPRIO_CLASS_MAX or ioprio >= 1 << 16:
        return -EINVAL
    chosen = _io_targets(t, which, who)
    if isinstance(chosen, int):
        return chosen
    for process in chosen:
        _set(process, attrs.evolve(creds_of(process), ioprio=ioprio))
    return 0


SYSCALLS = (
    (102, "getuid", sys_getuid, 0),
    (104, "getgid", sys_getgid, 0),
    (105, "setuid", sys_setuid, 1),
    (106, "setgid", sys_setgid, 1),
    (107, "geteuid", sys_geteuid, 0),
    (108, "getegid", sys_getegid, 0),
    (113, "setreuid", sys_setreuid, 2),
    (114, "setregid", sys_setregid, 2),
    (115, "getgroups", sys_getgroups, 2),
    (116, "setgroups", sys_setgroups, 2),
    (117, "setresuid", sys_setresuid, 3),
    (118, "getresuid", sys_getresuid, 3),
    (119, "setresgid", sys_setresgid, 3),
    (120, "getresgid", sys_getresgid, 3),
    (122, "setfsuid", sys_setfsuid, 1),
    (123, "setfsgid", sys_setfsgid, 1),
    (135, "personality", sys_personality, 1),
    (140, "getpriority", sys_getpriority, 2),
    (141, "setpriority", sys_setpriority, 3),
    (251, "ioprio_set", sys_ioprio_set, 3),
    (252, "ioprio_get", sys_ioprio_get, 2),
)
