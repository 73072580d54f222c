"""Which family's handler a socket call goes to: ``socket`` by its domain, the calls on a
descriptor by the device of the socket's channel (``#unix``: plugins/net/unix.py, ``#netlink``:
plugins/net/netlink.py, anything else the AF_INET and AF_INET6 calls of plugins/net/sockets.py,
which answer ENOTSOCK or EBADF for what is not a socket). One look-up per call: every inet send
and receive passes through here."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kernkit.core.devices import Chan
from kernkit.plugins.net import netlink, unix
from kernkit.plugins.net.netlinksock import AF_NETLINK, NetlinkDevice
from kernkit.plugins.net.unixsock import AF_UNIX, UnixDevice

if TYPE_CHECKING:
    from kernkit.core.process import Thread

SOCKETS: dict[int, Callable[..., Any]] = {AF_UNIX: unix.sys_socket, AF_NETLINK: netlink.sys_socket}
CALLS: dict[type, dict[str, Callable[..., Any]]] = {UnixDevice: unix.CALLS, NetlinkDevice: netlink.CALLS}


def dispatch(name: str, inet: Callable[..., Any]) -> Callable[..., Any]:
    """The handler of socket call ``name``, ``inet`` being the AF_INET and AF_INET6 one."""
    if name == "socket":

        @functools.wraps(inet)
        def by_domain(t: Thread, domain: int, kind: int, protocol: int) -> Any:
            return SOCKETS.get(domain, inet)(t, domain, kind, protocol)

        return by_domain
    handlers = {driver: calls[name] for driver, calls in CALLS.items() if name in calls}
    if not handlers:
        return inet

    @functools.wraps(inet)
    def by_file(t: Thread, fd: int, *args: int) -> Any:
        file = t.process.files.get(fd)
        if type(file) is Chan and file.aux is not None:
            return handlers.get(type(file.driver), inet)(t, fd, *args)
        return inet(t, fd, *args)

    return by_file
