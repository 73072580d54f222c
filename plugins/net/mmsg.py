"""sendmmsg and recvmmsg: sendmsg and recvmsg over an array of ``struct mmsghdr``.

Each element is a msghdr followed by ``msg_len``, which receives the bytes sent or received.
Only the first message may wait (as recvmmsg's MSG_WAITFORONE has it): once one went through,
the rest go as far as they can without waiting and the call returns how many did, so a call
that restarts after waiting has moved nothing yet. An error after some messages went is not
reported (Linux keeps it for the socket's next call); the count is returned.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from kernkit.core.errnos import EFAULT

if TYPE_CHECKING:
    from kernkit.core.process import Thread

MMSGHDR_SIZE, MSG_LEN_AT = 64, 56
UIO_MAXIOV = 1024
MSG_DONTWAIT, MSG_WAITFORONE = 0x40, 0x10000

Handler = Callable[..., "int | None"]


def _each(t: Thread, fd: int, vec: int, vlen: int, flags: int, one: Handler) -> int | None:
    done = 0
    for index in range(min(vlen, UIO_MAXIOV)):
        header = vec + index * MMSGHDR_SIZE
        if not t.process.aspace.allows(header, MMSGHDR_SIZE, "write"):
            return done or -EFAULT
        result = one(t, fd, header, flags | (MSG_DONTWAIT if done else 0))
        if result is None or result < 0:
            return done or result
        t.process.aspace.write(header + MSG_LEN_AT, struct.pack("<I", result))
        done += 1
    return done


def calls(table: tuple[tuple[int, str, Handler, int], ...]) -> tuple[tuple[int, str, Handler, int], ...]:
    """The two system calls, made of the sendmsg and recvmsg of ``table`` (the socket calls,
    which act on every kind of socket)."""
    handlers = {name: handler for _, name, handler, _ in table}
    sendmsg, recvmsg = handlers["sendmsg"], handlers["recvmsg"]

    def sys_sendmmsg(t: Thread, fd: int, vec: int, vlen: int, flags: int) -> int | None:
        return _each(t, fd, vec, vlen, flags, sendmsg)

    def sys_recvmmsg(t: Thread, fd: int, vec: int, vlen: int, flags: int, _timeout: int) -> int | None:
        return _each(t, fd, vec, vlen, flags & ~MSG_WAITFORONE, recvmsg)

    return ((299, "recvmmsg", sys_recvmmsg, 5), (307, "sendmmsg", sys_sendmmsg, 4))
