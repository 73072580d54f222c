"""Keep the host's C allocator from giving back and faulting in again what streams reuse.

Every bulk write is a fresh bytes object of the write's size (128 KiB is common) that lives
until the reader takes it. glibc serves such sizes from mmap at first and then, its threshold
moved, from the heap, whose top it returns to the system whenever more than twice that
threshold lies free: with a few hundred KiB queued and read in turn, it can return and fault
in again 30 pages per write (measured: 29,000 page faults and 2.6x the CPU time for a 128 MiB
loopback stream, depending on the heap's layout left by whatever ran before). Fixed thresholds
keep such buffers on the heap and the heap's freed top in place. Other C libraries: nothing.
"""

from __future__ import annotations

import ctypes

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 4 << 20  # blocks above this still come from mmap and go back at free
TRIM_THRESHOLD = 32 << 20  # the most freed heap kept for reuse

_tuned = False


def keep_heap() -> None:
    """Set the thresholds once per host process (glibc's mallopt; no-op elsewhere)."""
    global _tuned
    if _tuned:
        return
    _tuned = True
    libc = ctypes.CDLL(None)  # the C library this process runs on
    if not hasattr(libc, "gnu_get_libc_version"):  # not glibc: its mallopt may do nothing
        return
    libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    libc.mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
