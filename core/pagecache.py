"""Page caches: a file's pages in physical frames, shared by read(), write() and every mapping.

A device that lets its files be mapped gives each file one :class:`PageCache` (see
``DeviceDriver.mmap``). Its frames are what every mapping of the file shows: a shared mapping
maps them as they are, so writes through it are the file's contents for every other mapper and
for read(); a private mapping maps them read-only until the process writes a page, which then
gets a copy of its own (so writes to the file stay visible in a private mapping until the
process writes that page, as on Linux).

A cache either *is* the file (no source: #tmpfs files, memfd, shared anonymous memory), or
stands for a file kept elsewhere (a host file, a 9P file): it then fills pages from its
:class:`PageSource` when first needed and writes pages changed through shared mappings back to
it (``sync``: msync, munmap of the last mapping, fsync, close).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from kernkit.core.devices import DeviceError
from kernkit.core.errors import OutOfMemory
from kernkit.core.files import hold, release
from kernkit.core.physmem import PAGE_SHIFT, PAGE_SIZE, PhysicalMemory

if TYPE_CHECKING:
    from kernkit.core.vm import AddressSpace

#: Pages a read from a source brings in at once (aligned), as a kernel's read-ahead.
READAHEAD = 16


class PageSource(Protocol):
    """Where a cache's pages come from and go back to."""

    def read_at(self, offset: int, length: int) -> bytes:
        """Up to ``length`` bytes of the file at ``offset`` (fewer at its end)."""

    def write_at(self, offset: int, data: bytes) -> None:
        """Store ``data`` at ``offset``; raise to refuse (the pages stay dirty)."""

    def close(self) -> None:
        """Let go of what reaching the file took (a later read or write may take it again)."""


class PageCache:
    """The pages of one file (index -> frame), its length, and who maps it.

    ``mappers`` counts, per address space, the regions that map the file: a truncation takes
    the pages past the new end out of each of them (later touches are SIGBUS), and after a
    write-back the pages written are write-protected again in the shared ones, so that the
    next write through a mapping marks the page dirty again.
    """

    def __init__(
        self,
        memory: PhysicalMemory,
        size: int = 0,
        source: PageSource | None = None,
        *,
        transient: bool = False,
    ) -> None:
        self.memory = memory
        self.size = size
        self.source = source
        self.pages: dict[int, int] = {}
        #: Pages changed since they were last written to the source (only with a source).
        self.dirty: set[int] = set()
        self.mappers: dict[AddressSpace, int] = {}
        #: Drop the cache (writing dirty pages back) when its last mapping goes.
        self.transient = transient
        #: Called when the cache has been dropped (its owner forgets it).
        self.on_drop: Callable[[PageCache], None] | None = None
        self.dropped = False

    @property
    def tracks_dirty(self) -> bool:
        return self.source is not None

    # --- pages -----------------------------------------------------------------------------

    def page(self, index: int) -> int:
        """The frame of page ``index``, filled from the source (or zero) when first needed;
        OutOfMemory when no frame is left. Reading from the source reads ahead: the pages up
        to the next multiple of READAHEAD that are not held yet come in with one read."""
        frame = self.pages.get(index)
        if frame is not None:
            return frame
        offset = index << PAGE_SHIFT
        if self.source is None or offset >= self.size:
            frame = self.pages[index] = self.memory.alloc_frame()
            return frame
        last = index
        while last + 1 < (index | (READAHEAD - 1)) + 1 and last + 1 not in self.pages:
            last += 1
        end = min((last + 1) << PAGE_SHIFT, self.size)
        data = self.source.read_at(offset, end - offset)
        memory = self.memory
        for at in range(index, last + 1):
            if (at - index) << PAGE_SHIFT >= len(data) and at != index:
                break
            try:
                frame = memory.alloc_frame()
            except OutOfMemory:
                if at == index:
                    raise
                break
            piece = data[(at - index) << PAGE_SHIFT : (at - index + 1) << PAGE_SHIFT]
            memory.bytes[frame : frame + len(piece)] = piece
            self.pages[at] = frame
        return self.pages[index]

    def read(self, offset: int, count: int) -> bytes:
        """Up to ``count`` bytes at ``offset`` (holes read as zeros). Pages whose frames follow
        each other are sliced as one piece (a file written in one go mostly is)."""
        end = offset + count
        if end > self.size:
            end = self.size
        if offset >= end:
            return b""
        first, last = offset >> PAGE_SHIFT, (end - 1) >> PAGE_SHIFT
        if first == last:  # within one page, the common case: no list of frames
            frame = self.pages.get(first)
            if frame is not None:
                start = frame + (offset & (PAGE_SIZE - 1))
                return self.memory.bytes[start : start + end - offset].tobytes()
        memory, pages, source = self.memory.bytes, self.pages, self.source
        frames = [pages.get(index) for index in range(first, last + 1)]
        if source is not None and None in frames:
            frames = [self.page(i) if frame is None else frame for i, frame in enumerate(frames, first)]
        base = offset - (first << PAGE_SHIFT)  # where the range starts in its first page
        start = frames[0]
        if (
            start is not None
            and frames[-1] == start + (last - first) * PAGE_SIZE
            and (len(frames) < 3 or frames == list(range(start, frames[-1] + 1, PAGE_SIZE)))
        ):
            return bytes(memory[start + base : start + base + end - offset])  # one run of frames
        pieces = []
        at = offset
        for frame in frames:
            within = at & (PAGE_SIZE - 1)
            piece = min(end - at, PAGE_SIZE - within)
            pieces.append(bytes(piece) if frame is None else memory[frame + within : frame + within + piece])
            at += piece
        return b"".join(pieces)

    def write(self, offset: int, data: bytes | memoryview) -> None:
        """Write ``data`` at ``offset``, growing the file if it ends past it; OutOfMemory when
        no frame is left (what was written before stays)."""
        view = memoryview(data)
        memory = self.memory
        at, done = offset, 0
        while done < len(view):
            index, within = at >> PAGE_SHIFT, at & (PAGE_SIZE - 1)
            piece = min(len(view) - done, PAGE_SIZE - within)
            frame = self.page(index)
            memory.bytes[frame + within : frame + within + piece] = view[done : done + piece]
            if self.source is not None:
                self.dirty.add(index)
            if memory.is_code(frame):
                memory.code_written(frame)
            at += piece
            done += piece
            if at > self.size:
                self.size = at

    def update(self, offset: int, data: bytes) -> None:
        """The file itself changed at ``offset`` (a write that went to the source directly):
        make the pages held here agree (pages not held are read when needed)."""
        view = memoryview(data)
        at, done = offset, 0
        while done < len(view):
            index, within = at >> PAGE_SHIFT, at & (PAGE_SIZE - 1)
            piece = min(len(view) - done, PAGE_SIZE - within)
            frame = self.pages.get(index)
            if frame is not None:
                self.memory.bytes[frame + within : frame + within + piece] = view[done : done + piece]
                if self.memory.is_code(frame):
                    self.memory.code_written(frame)
            at += piece
            done += piece
        self.size = max(self.size, offset + len(view))

    def resize(self, length: int) -> None:
        """Make the file ``length`` bytes long. Pages wholly past the new end leave the cache
        and every mapping (touching them there is SIGBUS); the rest of the last page reads as
        zeros; growing leaves a hole."""
        if length < self.size:
            first = (length + PAGE_SIZE - 1) >> PAGE_SHIFT
            for aspace in list(self.mappers):
                aspace.drop_file_pages(self, first)
            for index in [i for i in self.pages if i >= first]:
                self.memory.free_frame(self.pages.pop(index))
                self.dirty.discard(index)
            within = length & (PAGE_SIZE - 1)
            frame = self.pages.get(length >> PAGE_SHIFT) if within else None
            if frame is not None:
                self.memory.bytes[frame + within : frame + PAGE_SIZE] = bytes(PAGE_SIZE - within)
        self.size = length

    def sync(self, first: int = 0, last: int | None = None) -> None:
        """Write dirty pages ``first`` .. ``last`` (inclusive; all by default) back to the
        source and write-protect them in shared mappings."""
        if not self.dirty or self.source is None:
            return
        done = sorted(i for i in self.dirty if i >= first and (last is None or i <= last))
        for index in done:
            offset = index << PAGE_SHIFT
            if offset < self.size:
                frame = self.pages[index]
                length = min(PAGE_SIZE, self.size - offset)
                self.source.write_at(offset, self.memory.read(frame, length))
            self.dirty.discard(index)
        for aspace in list(self.mappers):
            aspace.protect_file_pages(self, done)

    # --- lifetime --------------------------------------------------------------------------

    def evict(self) -> int:
        """Free the clean pages nobody maps (memory is short); how many went."""
        if self.source is None:
            return 0
        holders = self.memory.holders
        spare = [i for i, frame in self.pages.items() if i not in self.dirty and holders(frame) == 1]
        for index in spare:
            self.memory.free_frame(self.pages.pop(index))
        return len(spare)

    def unmapped(self) -> None:
        """A mapping went. After the last, a transient cache writes back what changed and goes;
        another lets go of its source until it needs it again."""
        if self.mappers:
            return
        if self.transient:
            self.drop()
        elif self.source is not None and not self.dirty:
            self.source.close()

    def drop(self) -> None:
        """Write back, free every frame and let go of the source (the file is gone)."""
        if self.dropped:
            return
        try:
            self.sync()
        except (DeviceError, OSError):
            pass  # nowhere left to report it: what could not be written is lost, as on Linux
        finally:
            self.dropped = True
            for frame in self.pages.values():
                self.memory.free_frame(frame)
            self.pages.clear()
            self.dirty.clear()
            if self.source is not None:
                self.source.close()
            if self.on_drop is not None:
                self.on_drop(self)


class MappedFile:
    """What the regions of one mapping in one address space map: a file's cache, shared or
    private, and the open file the mapping keeps open (as Linux's vm_file), which names it.

    Regions count themselves in ``users`` (a split adds one, a merge or unmap takes one away);
    the first makes the address space a mapper of the cache and holds the file, the last
    writes a shared mapping's changes back and lets both go.
    """

    __slots__ = ("cache", "shared", "file", "aspace", "label", "users")

    def __init__(
        self, cache: PageCache, shared: bool, aspace: AddressSpace, file: Any = None, label: str = ""
    ) -> None:
        self.cache = cache
        self.shared = shared
        self.file = file
        self.aspace = aspace
        self.label = label
        self.users = 0

    def attach(self) -> None:
        if self.users == 0:
            mappers = self.cache.mappers
            mappers[self.aspace] = mappers.get(self.aspace, 0) + 1
            if self.file is not None:
                hold(self.file)
        self.users += 1

    def detach(self) -> None:
        self.users -= 1
        if self.users:
            return
        cache = self.cache
        left = cache.mappers.get(self.aspace, 1) - 1
        if left:
            cache.mappers[self.aspace] = left
        else:
            cache.mappers.pop(self.aspace, None)
        try:
            if self.shared:
                cache.sync()
        except (DeviceError, OSError):
            pass  # munmap reports nothing: the pages stay dirty, for a later sync or the drop
        finally:
            if self.file is not None:
                release(self.file)
            cache.unmapped()

    def clone_for(self, aspace: AddressSpace) -> MappedFile:
        """The same mapping in another address space (a fork's child)."""
        return MappedFile(self.cache, self.shared, aspace, self.file, self.label)

    def __repr__(self) -> str:
        return f"<{'shared' if self.shared else 'private'} mapping of {self.label or 'a file'}>"


__all__ = ["MappedFile", "PageCache", "PageSource"]
