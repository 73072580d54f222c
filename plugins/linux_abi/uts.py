"""The host and domain names (Linux's UTS names): uname's nodename and domainname, set by the
superuser with sethostname and setdomainname for the whole kernel (one UTS namespace), and shown
in /proc/sys/kernel/hostname and domainname. The host name starts as ``[linux] hostname``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errnos import EFAULT, EINVAL, EPERM
from kernkit.core.state import Slot
from kernkit.plugins.linux_abi.creds import creds_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Thread

NAME_MAX = 64  # __NEW_UTS_LEN


class Names:
    __slots__ = ("host", "domain")

    def __init__(self, host: str, domain: str = "(none)") -> None:
        self.host = host
        self.domain = domain


UTS: Slot[Names] = Slot("linux.uts")


def names(kernel: Kernel) -> Names:
    return UTS.of(kernel, lambda: Names(kernel.config["linux"].hostname))


def _set(t: Thread, name: int, length: int, field: str) -> int:
    if creds_of(t.process).euid != 0:  # CAP_SYS_ADMIN, which only the superuser has here
        return -EPERM
    if length < 0 or length > NAME_MAX:
        return -EINVAL
    if length and not t.process.aspace.allows(name, length, "read"):
        return -EFAULT
    text = t.process.aspace.read(name, length).decode(errors="surrogateescape") if length else ""
    setattr(names(t.kernel), field, text)
    return 0


def sys_sethostname(t: Thread, name: int, length: int) -> int:
    return _set(t, name, length, "host")


def sys_setdomainname(t: Thread, name: int, length: int) -> int:
    return _set(t, name, length, "domain")
