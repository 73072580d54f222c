"""Ancillary data of Unix sockets, as Linux reads and writes it: SCM_RIGHTS (open files passed
with a message) and SCM_CREDENTIALS (who sent it), in a msghdr's control buffer."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import DeviceError
from kernkit.core.files import release
from kernkit.plugins.linux_abi.api import creds_of

if TYPE_CHECKING:
    from kernkit.core.process import Thread
    from kernkit.plugins.net.unixsock import Creds

SOL_SOCKET, SCM_RIGHTS, SCM_CREDENTIALS = 1, 1, 2
MSG_CTRUNC, MSG_CMSG_CLOEXEC = 0x8, 0x40000000
#: The most descriptors one message may pass (Linux's SCM_MAX_FD).
SCM_MAX_FD = 253
HEADER = struct.Struct("<Qii")  # cmsg_len, cmsg_level, cmsg_type
UCRED = struct.Struct("<iII")


def _align(length: int) -> int:
    return (length + 7) & ~7


def parse(t: Thread, control: int, length: int) -> tuple[list[Any], Creds | None]:
    """The files and credentials a sendmsg's control buffer passes (DeviceError EINVAL for a
    malformed one, EBADF for a descriptor that is not open, EPERM for credentials the sender
    may not claim). Control messages of other levels are ignored, as Linux ignores them."""
    raw = t.process.aspace.read(control, min(length, 1 << 16)) if control and length else b""
    files: list[Any] = []
    creds = None
    offset = 0
    while offset + HEADER.size <= len(raw):
        size, level, kind = HEADER.unpack_from(raw, offset)
        if size < HEADER.size or size > len(raw) - offset:
            raise DeviceError("EINVAL", "a control message's length")
        payload = raw[offset + HEADER.size : offset + size]
        offset += _align(size)
        if level != SOL_SOCKET:
            continue
        if kind == SCM_RIGHTS:
            numbers = struct.unpack(f"<{len(payload) // 4}i", payload[: len(payload) // 4 * 4])
            if len(files) + len(numbers) > SCM_MAX_FD:
                raise DeviceError("EINVAL", "more than 253 descriptors")
            for number in numbers:
                file = t.process.files.get(number)
                if file is None:
                    raise DeviceError("EBADF")
                files.append(file)
        elif kind == SCM_CREDENTIALS:
            if len(payload) != UCRED.size:
                raise DeviceError("EINVAL", "SCM_CREDENTIALS' length")
            creds = UCRED.unpack(payload)
            _check_creds(t, creds)
        else:
            raise DeviceError("EINVAL", f"control message type {kind}")
    return files, creds


def _check_creds(t: Thread, claimed: Creds) -> None:
    """A process may send its own pid and ids; the superuser may send any."""
    ids = creds_of(t.process)
    if ids.euid == 0:
        return
    pid, uid, gid = claimed
    if (
        pid != t.process.pid
        or uid not in (ids.ruid, ids.euid, ids.suid)
        or gid not in (ids.rgid, ids.egid, ids.sgid)
    ):
        raise DeviceError("EPERM", "credentials not the sender's")


def deliver(
    t: Thread, control: int, length: int, creds: Creds | None, files: list[Any], *, owned: bool, cloexec: bool
) -> tuple[int, int]:
    """Write what a recvmsg receives into its control buffer as Linux does: the credentials
    (SO_PASSCRED), then the files as new descriptors, as many as fit (the rest are closed and
    MSG_CTRUNC says so). ``owned``: the files' in-flight holds are the caller's to let go (not
    after MSG_PEEK). Returns (the control bytes used, msg_flags bits)."""
    aspace = t.process.aspace
    used, flags = 0, 0

    def room() -> int:
        return length - used if control else 0

    if creds is not None:
        payload = UCRED.pack(creds[0], creds[1] & 0xFFFFFFFF, creds[2] & 0xFFFFFFFF)
        full = HEADER.size + len(payload)
        if room() < HEADER.size:
            flags |= MSG_CTRUNC
        else:
            if room() < full:
                flags |= MSG_CTRUNC
            aspace.write(control + used, (HEADER.pack(full, SOL_SOCKET, SCM_CREDENTIALS) + payload)[: room()])
            used += min(_align(full), room())
    if files:
        most = (room() - HEADER.size) // 4 if room() > HEADER.size else 0
        numbers = []
        for file in files[: max(most, 0)]:
            number = t.process.files.install(file, cloexec=cloexec)
            if number < 0:
                break
            numbers.append(number)
        if numbers:
            full = HEADER.size + 4 * len(numbers)
            aspace.write(
                control + used,
                HEADER.pack(full, SOL_SOCKET, SCM_RIGHTS) + struct.pack(f"<{len(numbers)}i", *numbers),
            )
            used += min(_align(full), room())
        if len(numbers) < len(files):
            flags |= MSG_CTRUNC
    drop(files, owned)
    return used, flags


def drop(files: list[Any], owned: bool) -> None:
    """Let go of the in-flight holds of files received (descriptors made for them hold their own)."""
    if owned:
        for file in files:
            release(file)
