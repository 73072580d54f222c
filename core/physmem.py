"""Physical memory of the emulated machine: one host buffer, handed out in page frames."""

from __future__ import annotations

import ctypes
import mmap

from kernkit.core.errors import OutOfMemory

PAGE_SIZE = 4096
PAGE_MASK = ~(PAGE_SIZE - 1)
_ZERO_PAGE = bytes(PAGE_SIZE)


class PhysicalMemory:
    """A zero-filled host buffer of ``size`` bytes; frames are allocated from ``reserved`` up.

    The buffer is an anonymous mapping, so untouched frames cost no host memory. Frames that
    held code are remembered: when one is handed out again, ``on_code_frame_reuse`` runs so the
    machine can drop translated code that still refers to the old contents.
    """

    def __init__(self, size: int, reserved: int = 0) -> None:
        if size % PAGE_SIZE:
            raise ValueError("physical memory size must be a multiple of the page size")
        self.size = size
        self._buffer = mmap.mmap(-1, size)
        self.address = ctypes.addressof(ctypes.c_char.from_buffer(self._buffer))
        self.bytes = memoryview(self._buffer)
        self.words = self.bytes.cast("Q")
        first = (reserved + PAGE_SIZE - 1) // PAGE_SIZE
        # frames never handed out are still zero (the mapping is anonymous); freed ones are not
        self._next_fresh = first
        self._end = size // PAGE_SIZE
        self._recycled: list[int] = []
        self._code_frames: set[int] = set()
        self.on_code_frame_reuse = lambda: None
        self.frames_total = self._end - first

    @property
    def frames_free(self) -> int:
        return len(self._recycled) + self._end - self._next_fresh

    def alloc_frame(self, zero: bool = True) -> int:
        """A free frame's physical address, zero-filled unless ``zero`` is False (OutOfMemory if none)."""
        if self._recycled:
            frame = self._recycled.pop() * PAGE_SIZE
            if frame in self._code_frames:
                self._code_frames.clear()
                self.on_code_frame_reuse()
            if zero:
                self.bytes[frame : frame + PAGE_SIZE] = _ZERO_PAGE
            return frame
        if self._next_fresh >= self._end:
            raise OutOfMemory(f"out of physical memory ({self.size // (1 << 20)} MiB)")
        self._next_fresh += 1
        return (self._next_fresh - 1) * PAGE_SIZE

    def free_frame(self, frame: int) -> None:
        self._recycled.append(frame // PAGE_SIZE)

    def mark_code(self, frame: int) -> None:
        """Note that ``frame`` may have been translated as code."""
        self._code_frames.add(frame)

    def read(self, address: int, length: int) -> bytes:
        return bytes(self.bytes[address : address + length])

    def write(self, address: int, data: bytes) -> None:
        self.bytes[address : address + len(data)] = data

    def close(self) -> None:
        self.words.release()
        self.bytes.release()
        self._buffer.close()
