"""Which Linux file system each device looks like: its type name (/proc/mounts, /proc/filesystems)
and its magic number (statfs's f_type)."""

from __future__ import annotations

#: device name -> (Linux file system type, statfs magic)
FILESYSTEMS = {
    "root": ("rootfs", 0x8584_58F6),  # RAMFS_MAGIC: a read-only tree made at boot
    "tmpfs": ("tmpfs", 0x0102_1994),  # TMPFS_MAGIC
    "proc": ("proc", 0x9FA0),  # PROC_SUPER_MAGIC
    "linuxproc": ("proc", 0x9FA0),
    "linuxdev": ("devtmpfs", 0x0102_1994),
    "cons": ("devtmpfs", 0x0102_1994),
    "random": ("devtmpfs", 0x0102_1994),
    "version": ("devtmpfs", 0x0102_1994),
    "mnt": ("9p", 0x0102_1997),  # V9FS_MAGIC
    "pipe": ("pipefs", 0x5049_5045),  # PIPEFS_MAGIC
    "srv": ("ramfs", 0x8584_58F6),
    "ip": ("sockfs", 0x534F_434B),  # SOCKFS_MAGIC
}
#: What a device not listed looks like.
OTHER = ("ramfs", 0x8584_58F6)


def filesystem(device: str) -> tuple[str, int]:
    """(type name, magic) for the device named ``device``."""
    return FILESYSTEMS.get(device, OTHER)
