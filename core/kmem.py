"""The kernel's own memory, counted against the machine's: buffers that are not page frames.

Everything a guest can make the kernel hold -- file data in #tmpfs, bytes waiting in pipes and
sockets, 9P buffers -- lives in the host process beside the emulated machine's physical memory.
So that a guest cannot grow the host past ``[machine] memory``, plugins charge such buffers to
one account, ``kernel.kmem``, and release them when they shrink; the account and the page frames
(page tables included) share the machine's memory. When a charge does not fit, the plugin refuses
the operation (ENOSPC, ENOMEM, a dropped connection): the host never swaps for a guest.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kernkit.core.physmem import PhysicalMemory


class KernelMemory:
    """The account: ``charge`` before holding bytes, ``release`` after letting them go."""

    def __init__(self, memory: PhysicalMemory) -> None:
        self.memory = memory
        #: Bytes charged, per owner (a short name such as "tmpfs" or "pipe"), for reports.
        self.by_owner: Counter[str] = Counter()

    @property
    def used(self) -> int:
        return self.memory.kernel_bytes

    def available(self) -> int:
        """Bytes a charge may still take: free frames less what is already charged."""
        return self.memory.free_bytes()

    def charge(self, owner: str, size: int) -> bool:
        """Take ``size`` bytes for ``owner``; False (and nothing taken) when they do not fit."""
        if size <= 0:
            return True
        if size > self.memory.free_bytes():
            return False
        self.memory.kernel_bytes += size
        self.by_owner[owner] += size
        return True

    def release(self, owner: str, size: int) -> None:
        """Give back ``size`` bytes ``owner`` charged earlier."""
        if size <= 0:
            return
        size = min(size, self.by_owner[owner])
        self.by_owner[owner] -= size
        self.memory.kernel_bytes -= size
