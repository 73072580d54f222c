"""Host I/O for plugins: file descriptors the run loop watches between rounds.

A plugin that talks to the host (a file server listening on a socket, a network bridge)
registers each host file descriptor with a callback::

    kernel.hostio.add_reader(sock.fileno(), on_readable)   # called when the fd is readable
    kernel.hostio.remove_reader(sock.fileno())
    kernel.hostio.keep_alive("export9p")                   # idle: wait for the host, don't stop

The kernel's run loop calls :meth:`HostIO.poll` after every round: a non-blocking check of the
registered descriptors (one ``epoll_wait`` with a zero timeout, a few microseconds) that runs the
callbacks of those that are ready. Callbacks run on the kernel's own thread, between rounds, so
they may use every kernel API (wake threads, read a process's namespace) without locks.

When no thread can run and no timer is pending, the kernel would normally stop: with "deadlock"
if processes are still waiting. If some plugin has called :meth:`keep_alive`, the run loop
instead blocks in :meth:`HostIO.wait_idle` until a descriptor is ready, runs its callbacks and
goes on; the run then ends when init exits, or on Ctrl-C.

``add_writer`` does the same for writability, for plugins that queue output to a slow peer
rather than block the kernel on it.

Determinism: with nothing registered, :meth:`poll` returns at once without a system call and
the run is exactly as it would be without this module. Host input is, by nature, not
reproducible: a run that serves host clients is deterministic only in what its guests do between
requests. Virtual time does not follow host time: an idle kernel waiting for the host advances
by one (empty) round each time host input arrives.
"""

from __future__ import annotations

import contextlib
import select
from collections.abc import Callable

_READ = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR
_WRITE = select.EPOLLOUT | select.EPOLLHUP | select.EPOLLERR


class HostIO:
    """Host descriptors watched for readability or writability, each with a callback."""

    def __init__(self) -> None:
        self._epoll: select.epoll | None = None
        self._readers: dict[int, Callable[[], None]] = {}
        self._writers: dict[int, Callable[[], None]] = {}
        self._registered: dict[int, int] = {}  # fd -> the events epoll watches it for
        self._keepers: set[str] = set()

    @property
    def active(self) -> bool:
        """True when at least one descriptor is registered."""
        return bool(self._readers or self._writers)

    @property
    def keeping_alive(self) -> bool:
        return bool(self._keepers)

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (on the kernel's thread) whenever ``fd`` is readable."""
        self._readers[fd] = callback
        self._update(fd)

    def remove_reader(self, fd: int) -> None:
        """Stop watching ``fd`` for input (close it after this, not before)."""
        if self._readers.pop(fd, None) is not None:
            self._update(fd)

    def add_writer(self, fd: int, callback: Callable[[], None]) -> None:
        """Call ``callback()`` whenever ``fd`` can take more output (for queued writes)."""
        self._writers[fd] = callback
        self._update(fd)

    def remove_writer(self, fd: int) -> None:
        """Stop watching ``fd`` for room to write (its queued output went out)."""
        if self._writers.pop(fd, None) is not None:
            self._update(fd)

    def forget(self, fd: int) -> None:
        """Stop watching ``fd`` at all because it is about to be closed: no epoll call (closing
        the descriptor drops it from the epoll set)."""
        self._readers.pop(fd, None)
        self._writers.pop(fd, None)
        self._registered.pop(fd, None)

    def _update(self, fd: int) -> None:
        if self._epoll is None:
            self._epoll = select.epoll()
        events = select.EPOLLIN if fd in self._readers else 0
        if fd in self._writers:
            events |= select.EPOLLOUT
        registered = self._registered.get(fd)
        if events == registered:
            return
        if events and registered is not None:
            self._epoll.modify(fd, events)
        elif events:
            self._epoll.register(fd, events)
        else:
            with contextlib.suppress(OSError):  # closed already: epoll has dropped it
                self._epoll.unregister(fd)
        if events:
            self._registered[fd] = events
        else:
            del self._registered[fd]

    def keep_alive(self, owner: str, keep: bool = True) -> None:
        """Ask (or stop asking, ``keep=False``) that an idle kernel wait for host input rather
        than stop; ``owner`` names who asks, so several plugins may ask independently."""
        if keep:
            self._keepers.add(owner)
        else:
            self._keepers.discard(owner)

    def poll(self) -> bool:
        """Run the callbacks of descriptors ready now, without waiting; True if any ran."""
        if not self._readers and not self._writers:
            return False
        return self._dispatch(0)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until a descriptor is ready (or ``timeout`` seconds), run its callbacks."""
        if not self.active:
            return False
        return self._dispatch(timeout)

    def wait_idle(self, busy: Callable[[], bool] = lambda: True) -> bool:
        """For the run loop when nothing can run: if a plugin keeps the kernel alive, serve host
        input as it comes until ``busy()`` says the kernel has work again (or nobody keeps it
        up any more), and return True; otherwise return False at once. Host input that gives
        the guests nothing to do (a 9P request, bytes for a socket nobody reads yet) is served
        here without a scheduling round each."""
        if not self._keepers or not self.active:
            return False
        while self.active and self._keepers:
            if self._dispatch(None) and busy():
                break
        return True

    def _dispatch(self, timeout: float | None) -> bool:
        assert self._epoll is not None
        ready = self._epoll.poll(-1 if timeout is None else timeout)
        for fd, events in ready:
            # an earlier callback may have removed this descriptor: look the callbacks up now
            if events & _WRITE:
                writer = self._writers.get(fd)
                if writer is not None:
                    writer()
            if events & _READ:
                reader = self._readers.get(fd)
                if reader is not None:
                    reader()
        return bool(ready)

    def close(self) -> None:
        """Forget every descriptor (the kernel is shutting down; their owners close them)."""
        self._readers.clear()
        self._writers.clear()
        self._keepers.clear()
        self._registered.clear()
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
