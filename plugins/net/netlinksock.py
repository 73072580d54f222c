"""AF_NETLINK sockets (NETLINK_ROUTE): the ``#netlink`` device, whose open channels are sockets.

A socket is a queue of datagrams, each with the port id of its sender (0: the kernel). What it
sends to port 0 the kernel answers at once (plugins/net/rtnetlink.py): replies and errors are
queued before the send returns, as on Linux, so a reader may use MSG_DONTWAIT straight after. A
dump is queued a datagram at a time: the first with the send, each next one when a read has
drained the queue, sized as Linux sizes them (a page, or what the reader's largest buffer was,
up to 32 KiB), and NLMSG_DONE in a datagram of its own. Port ids are per protocol: the first
socket a process binds without one gets the process's pid, later ones -4096, -4097, ...
(Linux's rover). A datagram that finds the queue over its SO_RCVBUF is dropped and the next
read fails with ENOBUFS (Linux's overrun).
"""

from __future__ import annotations

import itertools
from collections import deque
from typing import TYPE_CHECKING

from kernkit.core.devices import (
    CLOSED,
    DMDIR,
    DMSOCKET,
    ORDWR,
    POLLERR,
    POLLIN,
    POLLOUT,
    QTDIR,
    QTFILE,
    Chan,
    DeviceDriver,
    DeviceError,
    Dir,
    Qid,
    WouldBlock,
)
from kernkit.core.wait import WaitQueue, wake_pollers
from kernkit.plugins.net import interfaces, rtnetlink

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

AF_NETLINK, NETLINK_ROUTE = 16, 0
#: Linux's net.core.rmem_default and wmem_default.
BUFFER = 212992


class NetlinkSocket:
    def __init__(self, device: NetlinkDevice, kind: int, protocol: int) -> None:
        self.device = device
        self.kind = kind
        self.protocol = protocol
        self.number = next(device.numbers)
        self.portid = 0  # 0: not bound
        self.groups = 0
        self.dst_portid = self.dst_groups = 0
        self.queue: deque[tuple[bytes, int]] = deque()
        self.queued = 0
        self.error = ""
        self.rcvbuf = self.sndbuf = BUFFER
        self.options: dict[tuple[int, int], int] = {}
        self.dump: rtnetlink.Dump | None = None
        #: The largest buffer a read has offered (Linux sizes later dump datagrams to it).
        self.max_read = 0
        self.closed = False
        self.waiters = WaitQueue(device.kernel)

    def changed(self) -> None:
        if len(self.waiters):
            self.waiters.wake(len(self.waiters))
        wake_pollers(self.device.kernel)

    def deliver(self, data: bytes, sender: int) -> None:
        if self.queued > self.rcvbuf:
            self.error = "ENOBUFS"
        else:
            self.queue.append((data, sender))
            self.queued += len(data)
        self.changed()

    # --- sending ------------------------------------------------------------------------------

    def send(self, data: bytes, to: tuple[int, int] | None, pid: int) -> int:
        """``data`` to the port of ``to`` (port id, groups), else to the connected one; the
        bytes taken."""
        if not self.portid:
            self.device.autobind(self, pid)
        if len(data) > self.sndbuf - 32:
            raise DeviceError("EMSGSIZE")
        portid, groups = to if to is not None else (self.dst_portid, self.dst_groups)
        if groups and not portid:
            return len(data)  # a multicast nobody in the kernel listens to
        if portid:
            target = self.device.ports.get((self.protocol, portid))
            if target is None:
                raise DeviceError("ECONNREFUSED")
            target.deliver(data, self.portid)
            return len(data)
        capped = bool(self.options.get((SOL_NETLINK, NETLINK_CAP_ACK)))
        found = interfaces.interfaces(self.device.kernel)
        answer = rtnetlink.answer(found, data, self.portid, self.dump is not None, capped)
        for datagram in answer.datagrams:
            self.deliver(datagram, 0)
        if answer.dump is not None:
            self.dump = answer.dump
            self._next_batch()
        return len(data)

    def _next_batch(self) -> None:
        if self.dump is None:
            return
        datagram = self.dump.batch(max(rtnetlink.GOODSIZE, self.max_read))
        if datagram:
            self.deliver(datagram, 0)
        if not self.dump.pending and not self.dump.done:
            self.dump = None

    # --- receiving ----------------------------------------------------------------------------

    def receive(self, count: int, peek: bool = False) -> tuple[bytes, int, int]:
        """(the bytes read, the datagram's whole length, its sender's port id); WouldBlock when
        nothing is queued."""
        if self.error:
            error, self.error = self.error, ""
            raise DeviceError(error)
        if not self.queue:
            raise WouldBlock(self.waiters)
        data, sender = self.queue[0]
        if not peek:
            self.queue.popleft()
            self.queued -= len(data)
            self.max_read = min(max(self.max_read, count), rtnetlink.MAX_BATCH)
            if self.queued <= self.rcvbuf // 2:
                self._next_batch()
        return data[:count], len(data), sender

    def poll(self) -> int:
        return (POLLERR if self.error else 0) | (POLLIN if self.queue else 0) | POLLOUT

    def close(self) -> None:
        self.closed = True
        self.device.forget(self)
        self.queue.clear()
        self.queued = 0
        self.dump = None


SOL_NETLINK = 270
NETLINK_CAP_ACK = 10


class NetlinkDevice(DeviceDriver):
    """``#netlink``: every netlink socket is an open channel of this device; the ports bound
    are here."""

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(kernel)
        self.numbers = itertools.count(1)
        self.ports: dict[tuple[int, int], NetlinkSocket] = {}
        self._rover = itertools.count(-4096, -1)

    def open_socket(self, sock: NetlinkSocket) -> Chan:
        chan = Chan(self, Qid(sock.number, 0, QTFILE), 0, sock)
        chan.mode = ORDWR
        return chan

    def bind(self, sock: NetlinkSocket, portid: int) -> None:
        if (sock.protocol, portid) in self.ports:
            raise DeviceError("EADDRINUSE")
        self.ports[(sock.protocol, portid)] = sock
        sock.portid = portid

    def autobind(self, sock: NetlinkSocket, pid: int) -> None:
        """The process's pid if no socket of the protocol has it, else the next free port below
        -4096."""
        portid = pid
        while (sock.protocol, portid) in self.ports:
            portid = next(self._rover) & 0xFFFFFFFF
        self.bind(sock, portid)

    def forget(self, sock: NetlinkSocket) -> None:
        if sock.portid and self.ports.get((sock.protocol, sock.portid)) is sock:
            del self.ports[(sock.protocol, sock.portid)]

    # --- the device ---------------------------------------------------------------------------

    def attach(self, spec: str) -> Chan:
        if spec:
            raise DeviceError("EINVAL", f"#netlink takes no spec (got {spec!r})")
        return Chan(self, Qid(0, 0, QTDIR), 0, None)

    def stat(self, chan: Chan, *, caller: Thread | None = None) -> Dir:
        sock = chan.aux
        if sock is None:
            return Dir("#netlink", chan.qid, DMDIR | 0o555)
        return Dir(str(sock.number), chan.qid, DMSOCKET | 0o777, sock.queued)

    def dirread(self, chan: Chan, *, caller: Thread | None = None) -> list[Dir]:
        return []

    def read(self, chan: Chan, count: int, offset: int, *, caller: Thread | None = None) -> bytes:
        return chan.aux.receive(count)[0]

    def write(self, chan: Chan, data: bytes, offset: int, *, caller: Thread | None = None) -> int:
        return chan.aux.send(data, None, caller.process.pid if caller is not None else 0)

    def poll(self, chan: Chan) -> int:
        return POLLIN if chan.aux is None else chan.aux.poll()

    def close(self, chan: Chan) -> None:
        if chan.aux is not None:
            chan.mode = CLOSED
            chan.aux.close()

    def linux_ioctl(self, t: Thread, chan: Chan, request: int, arg: int) -> int | None:
        from kernkit.plugins.net import ifreq

        return ifreq.ioctl(t, AF_NETLINK, request, arg)
