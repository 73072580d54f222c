"""What the socket families that live on a device of their own (``#unix``, ``#netlink``) share:
the device, whose open channels are the sockets, and the wrapper of the calls made on them."""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import (
    CLOSED,
    DMDIR,
    DMSOCKET,
    ORDWR,
    POLLIN,
    QTDIR,
    QTFILE,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    Qid,
    WouldBlock,
)
from kernkit.core.errnos import EAGAIN, errno_of
from kernkit.plugins.linux_abi.api import O_NONBLOCK

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread


class SocketDevice(DeviceDriver):
    """A device whose root is an empty directory and whose every other channel is a socket
    (``chan.aux``: an object with ``number``, ``queued``, ``poll()`` and ``close()``)."""

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.numbers = itertools.count(1)

    def open_socket(self, sock: Any) -> Chan:
        chan = Chan(self, Qid(sock.number, 0, QTFILE), 0, sock)
        chan.mode = ORDWR
        return chan

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#{self.name} takes no spec (got {spec!r})")
        return Chan(self, Qid(0, 0, QTDIR), 0, None)

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        sock = chan.aux
        if sock is None:
            return Dir(f"#{self.name}", chan.qid, DMDIR | 0o555)
        return Dir(str(sock.number), chan.qid, DMSOCKET | 0o777, sock.queued)

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        return []

    def poll(self, chan: Chan) -> int:
        return POLLIN if chan.aux is None else chan.aux.poll()

    def close(self, chan: Chan) -> None:
        if chan.aux is not None:
            chan.mode = CLOSED
            chan.aux.close()


def socket_call(function: Callable[..., Any]) -> Callable[..., Any]:
    """A handler on a socket's descriptor, ``function(t, sock, chan, ...)``, as a system call
    taking the descriptor: DeviceError becomes its errno, WouldBlock a wait (EAGAIN when
    non-blocking; the call runs again when woken)."""

    @functools.wraps(function)
    def call(t: Thread, fd: int, *args: int) -> Any:
        chan = t.process.files.get(fd)
        try:
            return function(t, chan.aux, chan, *args)
        except DeviceError as exc:
            return -errno_of(exc.code)
        except WouldBlock as blocked:
            if chan.flags & O_NONBLOCK:
                return -EAGAIN
            blocked.queue.sleep(t, restart=True)
            return None

    return call
