"""A Linux guest in qemu (TCG) whose v9fs client mounts a 9P server on the host.

The guest is a Debian kernel from /boot plus an initramfs made here: busybox-static, the 9P
and virtio modules of that kernel, and an /init that runs a test script. The 9P connection is
a virtio-serial port whose host side is a TCP connection to the server (``-chardev socket``);
in the guest, two ``cat`` relay the port to FIFOs that ``mount -t 9p -o trans=fd`` reads and
writes (the fd transport cannot write to the port itself). No network.
"""

from __future__ import annotations

import glob
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

MODULES = [
    "drivers/virtio/virtio_ring", "drivers/virtio/virtio", "drivers/virtio/virtio_pci_legacy_dev",
    "drivers/virtio/virtio_pci_modern_dev", "drivers/virtio/virtio_pci", "drivers/char/virtio_console",
    "fs/netfs/netfs", "fs/fscache/fscache", "net/9p/9pnet", "net/9p/9pnet_fd", "fs/9p/9p",
]
DONE = "V9FS-GUEST-DONE"

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /mnt
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for m in {modules}; do insmod /modules/$m.ko || echo "insmod $m failed"; done
for i in $(seq 50); do [ -e /dev/vport0p1 ] || [ -e /dev/vport1p1 ] && break; sleep 0.1; done
port=$(ls /dev/vport*p1 | head -n 1)
# The fd transport writes with kernel_write, which a virtio console port refuses: relay the
# port through two FIFOs, which it accepts. The port opens only once: both relays share fd 3.
mkdir -p /run && mkfifo /run/in /run/out
exec 3<>"$port" 4<>/run/in 5<>/run/out
cat <&3 >/run/in &
cat /run/out >&3 &
echo "== mounting"
mount -t 9p -o trans=fd,rfdno=4,wfdno=5,{options} none /mnt && echo "== mounted"
{script}
echo "== unmounting"
umount /mnt && echo "== unmounted"
echo {done}
poweroff -f
"""


def kernel_and_modules() -> tuple[Path, Path]:
    """The newest Debian kernel in /boot and its module tree, or skip saying what to install."""
    for image in sorted(glob.glob("/boot/vmlinuz-*"), reverse=True):
        version = Path(image).name.removeprefix("vmlinuz-")
        modules = Path("/lib/modules") / version / "kernel"
        if (modules / "fs/9p/9p.ko").exists() and os.access(image, os.R_OK):
            return Path(image), modules
    pytest.skip("no readable Linux kernel with 9p modules in /boot (apt-get install linux-image-amd64)")


def need_tools() -> tuple[str, str]:
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        pytest.skip("qemu-system-x86_64 is not installed (apt-get install qemu-system-x86)")
    busybox = "/bin/busybox" if Path("/bin/busybox").exists() else shutil.which("busybox")
    if busybox is None or not _is_static(busybox):
        pytest.skip("busybox-static is not installed (apt-get install busybox-static)")
    return qemu, busybox


def _is_static(path: str) -> bool:
    with open(path, "rb") as stream:
        return not any(segment["p_type"] == "PT_INTERP" for segment in ELFFile(stream).iter_segments())


def _cpio_entry(name: str, mode: int, data: bytes, ino: int) -> bytes:
    fields = [ino, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name) + 1, 0]
    header = "070701" + "".join(f"{value:08x}" for value in fields)
    out = header.encode() + name.encode() + b"\0"
    out += b"\0" * (-len(out) % 4)
    out += data + b"\0" * (-len(data) % 4)
    return out


def build_initramfs(path: Path, script: str, options: str) -> Path:
    """An initramfs (newc cpio) whose /init mounts the 9P port on /mnt and runs ``script``."""
    _, busybox = need_tools()
    _, modules = kernel_and_modules()
    names = [m.rsplit("/", 1)[1] for m in MODULES]
    init = INIT.format(modules=" ".join(names), options=options, script=script, done=DONE)
    entries = [("bin", stat.S_IFDIR | 0o755, b""), ("modules", stat.S_IFDIR | 0o755, b"")]
    entries.append(("bin/busybox", stat.S_IFREG | 0o755, Path(busybox).read_bytes()))
    entries.append(("init", stat.S_IFREG | 0o755, init.encode()))
    for module in MODULES:
        entries.append((f"modules/{module.rsplit('/', 1)[1]}.ko", stat.S_IFREG | 0o644,
                        (modules / f"{module}.ko").read_bytes()))
    blob = b"".join(_cpio_entry(name, mode, data, i + 1) for i, (name, mode, data) in enumerate(entries))
    blob += _cpio_entry("TRAILER!!!", 0, b"", 0)
    path.write_bytes(blob)
    return path


def run_guest(port: int, script: str, workdir: Path, options: str = "version=9p2000.L,msize=65536",
              timeout: float = 300) -> str:
    """Boot the guest against a 9P server on 127.0.0.1:``port``; its console output."""
    qemu, _ = need_tools()
    kernel, _ = kernel_and_modules()
    initrd = build_initramfs(workdir / "initrd.cpio", script, options)
    command = [
        qemu, "-accel", "tcg", "-m", "256", "-smp", "1", "-nographic", "-no-reboot",
        "-kernel", str(kernel), "-initrd", str(initrd),
        "-append", "console=ttyS0 quiet panic=-1",
        "-device", "virtio-serial-pci",
        "-chardev", f"socket,id=ninep,host=127.0.0.1,port={port}",
        "-device", "virtserialport,chardev=ninep,name=ninep",
        "-nic", "none",
    ]
    result = subprocess.run(command, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    out = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
    return out.replace("\r\n", "\n")  # the serial console ends lines with CR LF
