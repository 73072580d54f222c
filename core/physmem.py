"""Physical memory of the emulated machine: one host buffer, handed out in page frames."""

from __future__ import annotations

import contextlib
import ctypes
import mmap
from array import array
from collections.abc import Callable

from kernkit.core.errors import OutOfMemory

PAGE_SIZE = 4096
PAGE_SHIFT = 12
PAGE_MASK = ~(PAGE_SIZE - 1)
_ZERO_PAGE = bytes(PAGE_SIZE)


def page_up(value: int) -> int:
    """``value`` rounded up to a page boundary."""
    return (value + PAGE_SIZE - 1) & PAGE_MASK


class PhysicalMemory:
    """A zero-filled host buffer of ``size`` bytes; frames are allocated from ``reserved`` up.

    The buffer is a private anonymous mapping, so untouched frames cost no host memory. A frame has a
    reference count: every page table entry, page cache slot or kernel holder that keeps it
    counts one (:meth:`share` adds one, :meth:`free_frame` drops one), and it is free again
    when the count reaches zero; this is what lets a fork share pages copy-on-write and many
    mappings share a file's pages. Frames that were mapped executable go to a quarantine when
    freed: the machine drops the code it translated from them (translations are keyed by
    physical address) before it lets them be reused.
    """

    def __init__(self, size: int, reserved: int = 0) -> None:
        if size % PAGE_SIZE:
            raise ValueError("physical memory size must be a multiple of the page size")
        self.size = size
        # private, not shared: the host faults a fresh private page in faster (no shared-memory
        # file behind it). Huge host pages where the host allows them: frames are handed out
        # from the bottom up, so a 2 MiB host page faulted in at once serves the next 512 first
        # touches, and a 4 KiB host fault per frame was most of a guest's first touch
        self._buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        with contextlib.suppress(AttributeError, OSError):  # a host without them: 4 KiB pages
            self._buffer.madvise(mmap.MADV_HUGEPAGE)
        self.address = ctypes.addressof(ctypes.c_char.from_buffer(self._buffer))
        self.bytes = memoryview(self._buffer)
        self.words = self.bytes.cast("Q")
        first = self._first = (reserved + PAGE_SIZE - 1) // PAGE_SIZE
        # frames never handed out are still zero (the mapping is anonymous); freed ones are not
        self._next_fresh = first
        self._end = size // PAGE_SIZE
        self._recycled: list[int] = []
        self._code_frames: set[int] = set()
        #: Whether a frame is marked as code: the set's own lookup (asked on every kernel write).
        self.is_code: Callable[[int], bool] = self._code_frames.__contains__
        #: find(byte, start, end): where ``byte`` first occurs in [start, end), or -1; the
        #: mapping's own find (no copy of the range, no Python frame).
        self.find: Callable[[bytes, int, int], int] = self._buffer.find
        #: Per frame number, how many holders the frame has (0: free).
        self.refs = array("I", bytes(4 * self._end))
        #: Freed frames that held code: not reused until translated code was dropped.
        self.quarantine: list[int] = []
        #: Called, in order, when no frame is left: each frees what it can spare (clean pages of
        #: file caches) and returns how many frames it freed.
        self.reclaimers: list[Callable[[], int]] = []
        #: Called with a frame that may hold translated code after the kernel wrote into it
        #: (a page cache's write); the machine drops those translations.
        self.code_written: Callable[[int], None] = lambda frame: None
        #: Bytes of kernel buffers charged to this memory (core/kmem.py): frames left for them.
        self.kernel_bytes = 0

    @property
    def free_frames(self) -> int:
        """Frames not in use: never handed out, freed, or freed and waiting in the quarantine."""
        return self._end - self._next_fresh + len(self._recycled) + len(self.quarantine)

    @property
    def total_frames(self) -> int:
        """Frames that can be handed out (the memory less what is reserved below ``reserved``)."""
        return self._end - self._first

    def alloc_frame(self) -> int:
        """A free, zero-filled frame's physical address (held once); OutOfMemory when none is
        left (kernel buffers charged to the memory count as used)."""
        if self.kernel_bytes and self.free_bytes() < PAGE_SIZE and not self._reclaim():
            raise OutOfMemory(f"out of physical memory ({self.size // (1 << 20)} MiB)")
        if self._recycled:
            number = self._recycled.pop()
            self.refs[number] = 1
            frame = number * PAGE_SIZE
            self.bytes[frame : frame + PAGE_SIZE] = _ZERO_PAGE
            return frame
        if self._next_fresh >= self._end:
            if self._reclaim() and self._recycled:
                return self.alloc_frame()
            raise OutOfMemory(f"out of physical memory ({self.size // (1 << 20)} MiB)")
        number = self._next_fresh
        self._next_fresh += 1
        self.refs[number] = 1
        return number * PAGE_SIZE

    def _reclaim(self) -> bool:
        """Ask the reclaimers for frames; whether any came back."""
        return any(reclaim() for reclaim in self.reclaimers)

    def share(self, frame: int) -> None:
        """One more holder of ``frame``."""
        self.refs[frame >> PAGE_SHIFT] += 1

    def holders(self, frame: int) -> int:
        return self.refs[frame >> PAGE_SHIFT]

    def free_bytes(self) -> int:
        """Bytes of frames nobody holds, less the kernel buffers charged against them."""
        return (self._end - self._next_fresh + len(self._recycled)) * PAGE_SIZE - self.kernel_bytes

    def free_frame(self, frame: int) -> None:
        """One holder less; the last one gives the frame back."""
        number = frame >> PAGE_SHIFT
        left = self.refs[number] - 1
        if left > 0:
            self.refs[number] = left
            return
        self.refs[number] = 0
        if frame in self._code_frames:
            self._code_frames.discard(frame)
            self.quarantine.append(frame)
        else:
            self._recycled.append(number)

    def mark_code(self, frame: int) -> None:
        """Note that ``frame`` is mapped executable, so translated code may refer to it."""
        self._code_frames.add(frame)

    def touches_code(self, address: int, length: int) -> bool:
        """Whether [address, address+length) overlaps a frame marked as code."""
        return not self._code_frames.isdisjoint(range(address & PAGE_MASK, address + length, PAGE_SIZE))

    def release_quarantine(self) -> None:
        """Make quarantined frames reusable; call only once no translation refers to them."""
        self._recycled.extend(frame // PAGE_SIZE for frame in self.quarantine)
        self.quarantine.clear()

    def copy_frame(self, source: int, target: int) -> None:
        self.bytes[target : target + PAGE_SIZE] = self.bytes[source : source + PAGE_SIZE]

    def read(self, address: int, length: int) -> bytes:
        return bytes(self.bytes[address : address + length])

    def write(self, address: int, data: bytes) -> None:
        self.bytes[address : address + len(data)] = data

    def close(self) -> None:
        self.words.release()
        self.bytes.release()
        self._buffer.close()
