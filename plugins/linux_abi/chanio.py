"""Reading and writing channels for Linux callers: errors to errno, waiting to a blocked thread.

Open channels carry the Linux open flags in ``chan.flags`` (O_APPEND and O_NONBLOCK matter
here). A device that must wait raises WouldBlock: the thread sleeps on the queue it names and
its syscall runs again when woken (a read of a pipe or a socket is completed by the wake
instead), or gets EAGAIN when the file is non-blocking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kernkit.core.devices import DMDEVICE, DMNAMEDPIPE, DMSOCKET, QTDIR, Chan, DeviceError, WouldBlock
from kernkit.core.errnos import EAGAIN, EBADF, EFAULT, EISDIR, EPIPE, ESPIPE, errno_of
from kernkit.core.errors import BadAddress
from kernkit.core.wait import Finish, WaitQueue
from kernkit.plugins.linux_abi.signals import sigpipe as sigpipe_to

if TYPE_CHECKING:
    from kernkit.core.process import Thread

O_ACCMODE, O_RDONLY, O_WRONLY, O_RDWR = 3, 0, 1, 2
O_CREAT, O_EXCL, O_NOCTTY, O_TRUNC, O_APPEND, O_NONBLOCK = 0o100, 0o200, 0o400, 0o1000, 0o2000, 0o4000
O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC, O_PATH, O_TMPFILE = 0o200000, 0o400000, 0o2000000, 0o10000000, 0o20000000
STREAMS = DMDEVICE | DMNAMEDPIPE | DMSOCKET


def wait_blocked(t: Thread, chan: Chan, blocked: WouldBlock) -> int | None:
    """A write that would block: EAGAIN on a non-blocking channel, else sleep (the call starts
    again when woken)."""
    if chan.flags & O_NONBLOCK:
        return -EAGAIN
    blocked.queue.sleep(t, restart=True)
    return None


def wait_read(
    t: Thread, chan: Chan, count: int, blocked: WouldBlock, finish: Finishing | None
) -> int | None:
    """A read that would block: EAGAIN on a non-blocking channel, else sleep, completed by the
    wake when the device's reads finish there and ``finish`` says how (see :func:`chan_read`),
    or running again when woken."""
    if chan.flags & O_NONBLOCK:
        return -EAGAIN
    if finish is not None and chan.driver.reads_finish_in_wake:
        blocked.queue.sleep(t, finish=Finish(_completing(t, chan, count, *finish), finish[1]))
    else:
        blocked.queue.sleep(t, restart=True)
    return None


def chan_read(
    t: Thread, chan: Chan, count: int, offset: int | None = None, finish: Finishing | None = None
) -> bytes | int | None:
    """Read up to ``count`` bytes at the channel's offset (advancing it) or at ``offset``.

    With ``finish`` (``deliver``, the call's arguments), a read of a device whose reads finish
    in the wake (``DeviceDriver.reads_finish_in_wake``: pipes, sockets) that must wait is
    completed by whatever wakes it: the bytes go to ``deliver(data)``, which puts them in the
    caller's buffer and gives the call's result; otherwise the call runs again when woken."""
    if chan.mode & 3 == O_WRONLY:
        return -EBADF
    if chan.qid.type & QTDIR:
        return -EISDIR
    try:
        data = chan.driver.read(chan, count, chan.offset if offset is None else offset, caller=t)
    except DeviceError as exc:
        return -errno_of(exc.code)
    except WouldBlock as blocked:
        return wait_read(t, chan, count, blocked, finish if offset is None else None)
    if offset is None:
        chan.offset += len(data)
    return data


#: How a blocked read completes in its wake: what takes the bytes read (writes them to the
#: caller's buffer, returns the call's result), and the call's arguments (for its trace line).
Finishing = tuple[Callable[[bytes], int], tuple[int, ...]]


def _completing(
    t: Thread, chan: Chan, count: int, deliver: Callable[[bytes], int], _args: tuple[int, ...]
) -> Callable[[], int | WaitQueue]:
    def complete() -> int | WaitQueue:
        try:
            data = chan.driver.read(chan, count, chan.offset, caller=t)
        except DeviceError as exc:
            return -errno_of(exc.code)
        except WouldBlock as blocked:
            return blocked.queue
        chan.offset += len(data)
        try:
            return deliver(data)
        except BadAddress:  # the buffer went away while the call waited
            return -EFAULT

    return complete


def chan_write(
    t: Thread, chan: Chan, data: bytes, offset: int | None = None, sigpipe: bool = True
) -> int | None:
    """Write ``data`` at the channel's offset (the end, with O_APPEND) or at ``offset``; a
    reader that went away means SIGPIPE, as on Linux (just EPIPE without ``sigpipe``)."""
    if chan.mode & 3 not in (O_WRONLY, O_RDWR):
        return -EBADF
    if chan.qid.type & QTDIR:
        return -EISDIR
    driver = chan.driver
    try:
        if offset is None:
            if chan.flags & O_APPEND:
                chan.offset = driver.stat(chan, caller=t).length
            offset = chan.offset
            written = driver.write(chan, data, offset, caller=t)
            chan.offset = offset + written
        else:
            written = driver.write(chan, data, offset, caller=t)
    except DeviceError as exc:
        if exc.code == "EPIPE" and sigpipe:
            sigpipe_to(t)
            return -EPIPE
        return -errno_of(exc.code)
    except WouldBlock as blocked:
        return wait_blocked(t, chan, blocked)
    return written


#: Bits of chan.flags beyond the open flags: whether the file is known to be a stream, and is one.
STREAM_KNOWN, STREAM = 1 << 40, 1 << 41


def is_stream(chan: Chan) -> bool:
    """Whether the file has no positions (a pipe, the console): lseek and pread fail with ESPIPE.
    Asked of the device once per open channel."""
    flags = chan.flags
    if not flags & STREAM_KNOWN:
        try:
            stream = bool(chan.driver.stat(chan).mode & STREAMS)
        except DeviceError:
            stream = False
        flags = chan.flags = flags | STREAM_KNOWN | (STREAM if stream else 0)
    return bool(flags & STREAM)


def seekable_or_error(chan: Chan) -> int:
    return -ESPIPE if is_stream(chan) else 0
