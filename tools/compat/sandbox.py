"""The reference side of a check: the same files at the same paths, in a chroot of its own.

Run as ``unshare --mount --pid --uts --net --ipc --fork -- python -m kernkit.tools.compat.sandbox
SPEC.json`` (see reference.py): in a private mount namespace it builds the check's tree on a tmpfs
(files copied, folders bound read-only), adds /tmp (empty, writable), /dev (the host's) and
/proc (of the new PID namespace), makes the tree read-only and starts the program in it, natively
or under qemu-user (run from the host). This helper stays PID 1 and waits for the program: a
program that is PID 1 would be shielded from signals as Linux shields init, which no program in
the suite expects. A check's host command runs beside it, outside the tree, on the same loopback.
The host name is kernkit's, the network a loopback of its own, and the program runs on as many
CPUs as the kernel has cores (as far as the host has them).
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

MS_RDONLY = 1
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 1
#: How the helper says that it, not the program, failed: this line on stderr and this status.
FAILED, FAILED_STATUS = "kernkit-compat-sandbox: ", 125

_libc = ctypes.CDLL(None, use_errno=True)


def mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda text: text.encode() if text is not None else None  # noqa: E731
    if _libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"mount {source or fstype} on {target}: {os.strerror(errno)}")


def build_tree(top: str, root: dict[str, str]) -> None:
    """The check's files under ``top``: host files copied (one copy per host file, hard-linked
    for the other names), host folders bound read-only."""
    copies: dict[str, str] = {}
    for at, host in sorted(root.items()):
        target = top + at
        if os.path.isdir(host):
            os.makedirs(target, exist_ok=True)
            mount(host, target, None, MS_BIND | MS_REC)
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if host in copies:
            os.link(copies[host], target)
        else:
            shutil.copy2(host, target)
            copies[host] = target


def loopback_up() -> None:
    """Bring up ``lo`` in the new network namespace (SIOCGIFFLAGS, then SIOCSIFFLAGS with IFF_UP)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack_from("16sh", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sh22x", b"lo", flags | IFF_UP))


def main(spec_path: str) -> None:
    spec = json.loads(Path(spec_path).read_text())
    socket.sethostname(spec["hostname"])
    loopback_up()
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, cpus[: max(1, spec["cpus"])])
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    top = spec["top"]
    mount("tmpfs", top, "tmpfs", 0, "mode=0755")
    build_tree(top, spec["root"])
    for name, mode in (("tmp", 0o1777), ("dev", 0o755), ("proc", 0o555)):
        os.makedirs(f"{top}/{name}", exist_ok=True)
        os.chmod(f"{top}/{name}", mode)
    mount("tmpfs", f"{top}/tmp", "tmpfs", 0, "mode=1777")
    mount("/dev", f"{top}/dev", None, MS_BIND | MS_REC)
    mount("proc", f"{top}/proc", "proc", 0)
    mount(None, top, None, MS_REMOUNT | MS_RDONLY)
    argv, env = spec["argv"], spec["env"]
    environment = dict(item.split("=", 1) for item in env)
    qemu = os.open(spec["qemu"], os.O_RDONLY) if spec["qemu"] else None  # run from the host
    started = time.perf_counter()
    child = os.fork()
    if child == 0:
        os.chroot(top)
        os.chdir("/")
        try:
            if qemu is None:
                os.execve(spec["program"], argv, environment)
            os.execve(qemu, ["qemu-x86_64-static", "-0", argv[0], spec["program"], *argv[1:]], environment)
        except OSError as exc:
            print(f"{spec['program']}: {exc.strerror}", file=sys.stderr)
        os._exit(127)
    peer = None
    if spec["host_command"]:
        peer = subprocess.run(spec["host_command"], capture_output=True, check=False)
    cpu = 0.0
    while True:  # reap everything (orphans come to PID 1) until the program itself ends
        pid, status, usage = os.wait4(-1, 0)
        cpu += usage.ru_utime + usage.ru_stime
        if pid == child:
            break
    if spec.get("times"):
        Path(spec["times"]).write_text(json.dumps({"wall_s": time.perf_counter() - started, "cpu_s": cpu}))
    if peer is not None:
        sys.stdout.buffer.write(peer.stdout)
        sys.stdout.flush()
    sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except Exception as exc:  # the sandbox, not the program: reference.py says so
        print(f"{FAILED}{type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(FAILED_STATUS)
