"""Run a static program natively the way kernkit runs init: ``python sandbox.py PATH NAME ARGS...``
inside fresh mount and network namespaces (``unshare --mount --net``, see support.oracle).

The program gets what a guest gets: every file system read-only but an empty tmpfs on /tmp
(the read-only root of a kernel's namespace), a network of its own with the
loopback up and the guest's address 10.0.2.15 on it (no route elsewhere, so other addresses are
unreachable, as with ``[net] host_access`` off), no address-space randomisation (the stack ends
at 0x7fffffffe000 and the break starts where kernkit starts it), 1024 descriptors at most,
umask 022, / as its directory, every signal at its default action, kernkit's default
environment, and NAME as argv[0]. Nothing it does reaches the host's files or network."""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import resource
import signal
import socket
import struct
import sys

ENV = {"HOME": "/", "PATH": "/bin", "TERM": "vt100"}
GUEST_ADDRESS = "10.0.2.15"
ADDR_NO_RANDOMIZE = 0x0040000
SIOCSIFFLAGS, SIOCSIFADDR, IFF_UP = 0x8914, 0x8916, 0x1
SYS_MOUNT_SETATTR, AT_FDCWD, AT_RECURSIVE, MOUNT_ATTR_RDONLY = 442, -100, 0x8000, 0x1


def fail(what: str) -> None:
    sys.exit(f"sandbox: {what}: {os.strerror(ctypes.get_errno())}")


def configure(name: bytes, address: str | None) -> None:
    """Bring the interface ``name`` up (giving it ``address``) through the classic ioctls."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        if address is not None:
            sockaddr = struct.pack("<HH4s8x", socket.AF_INET, 0, socket.inet_aton(address))
            fcntl.ioctl(sock, SIOCSIFADDR, struct.pack("16s", name) + sockaddr)
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH14x", name, IFF_UP))


def main(path: str, name: str, *args: str) -> None:
    program = os.open(path, os.O_RDONLY | os.O_CLOEXEC)  # before /tmp is covered: it may be there
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    read_only = struct.pack("<QQQQ", MOUNT_ATTR_RDONLY, 0, 0, 0)  # struct mount_attr: set, clear, ...
    if libc.syscall(SYS_MOUNT_SETATTR, AT_FDCWD, b"/", AT_RECURSIVE, read_only, len(read_only)) != 0:
        fail("make every mount read-only")  # never run a program that could change the host's files
    if libc.mount(b"tmpfs", b"/tmp", b"tmpfs", 0, None) != 0:
        fail("mount tmpfs on /tmp")
    configure(b"lo", None)
    configure(b"lo:0", GUEST_ADDRESS)
    libc.personality(ADDR_NO_RANDOMIZE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))
    default_dispositions()
    os.umask(0o022)
    os.chdir("/")
    os.execve(f"/proc/self/fd/{program}", [name, *args], ENV)


def default_dispositions() -> None:
    """Every signal back at its default, as a login shell starts programs (also a ``preexec_fn``):
    Python ignores SIGPIPE and SIGXFSZ, a shell that ran the tests in the background SIGINT and
    SIGQUIT, and exec keeps what is ignored."""
    for number in range(1, signal.NSIG):
        if number not in (signal.SIGKILL, signal.SIGSTOP):
            with contextlib.suppress(OSError, ValueError):  # numbers without a signal
                signal.signal(number, signal.SIG_DFL)


if __name__ == "__main__":
    main(*sys.argv[1:])
