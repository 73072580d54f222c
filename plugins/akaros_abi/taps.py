"""FD taps: SYS_tap_fds (Akaros's 126) asks for an event when an open file becomes ready.

A tap names a descriptor, a filter (``FDTAP_FILT_*``: readable, writable, error, hangup,
read hangup, priority), an event queue in the process's memory, an event id and a datum. When the
file's readiness (``DeviceDriver.poll``) gains a condition of the filter -- readable when it was
not, say -- the tap fires: as in Akaros, the kernel sends an event through the queue (events.py):
type ``ev_id``, ``ev_arg2`` the filter bits that became true, ``ev_arg3`` the datum. With a CEQ
as the queue's mailbox, events of one descriptor coalesce into one entry (how Akaros's epoll
works); the queue's flags say whom to alert (EVENT_INDIR, EVENT_IPI, EVENT_WAKEUP, ...). A tap
added on a file that is ready already fires at once, so "try, get EAGAIN, tap, sleep" loses no
wake-up.

Readiness is looked at whenever a driver wakes the kernel's pollers (``kernkit.core.wait``):
the personality watches readiness, it has no door into any driver. Drivers wake the pollers when
a file may have become ready, not when it stops being ready (a read that drains it), so a tap
would miss the next rise after a drain; the process's read, write or open that fails with
EAGAIN is therefore a look too, at that process's taps: "try, get EAGAIN, sleep" then always
sees the next rise. A descriptor holds one tap
(EBUSY for a second); a tap goes when its descriptor closes, when it is removed
(FDTAP_CMD_REM), or when the process dies. Files that never wait (the driver keeps the default
``DeviceDriver.poll``: regular files, the console) are refused with ENOSYS, as Akaros refuses
devices without taps; files that are not namespace channels (epoll, a personality's own) with
EINVAL.

The call returns how many requests it carried out; when the first one fails it returns -errno
instead (kernkit keeps no errno, Akaros's caller reads errno after a short count).
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING

import attrs

from kernkit.core.devices import POLLERR, POLLHUP, POLLIN, POLLOUT, POLLPRI, POLLRDHUP, Chan, DeviceDriver
from kernkit.core.errnos import EAGAIN, EBADF, EBUSY, EFAULT, EINVAL, ENOSYS
from kernkit.core.errors import BadAddress
from kernkit.core.state import Slot
from kernkit.core.wait import watch_readiness
from kernkit.plugins.akaros_abi import layout
from kernkit.plugins.akaros_abi.dirs import is_directory, read_directory
from kernkit.plugins.akaros_abi.events import EventMsg, send_event
from kernkit.plugins.linux_abi import api as linux

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

FDTAP_CMD_ADD, FDTAP_CMD_REM = 1, 2
FDTAP_FILT_READABLE, FDTAP_FILT_WRITABLE = 0x1, 0x2
FDTAP_FILT_ERROR, FDTAP_FILT_PRIORITY, FDTAP_FILT_HANGUP = 0x10, 0x100, 0x200
FDTAP_FILT_RDHUP = 0x400
#: filter bit -> the poll bits that satisfy it
FILTERS = {
    FDTAP_FILT_READABLE: POLLIN,
    FDTAP_FILT_WRITABLE: POLLOUT,
    FDTAP_FILT_ERROR: POLLERR,
    FDTAP_FILT_PRIORITY: POLLPRI,
    FDTAP_FILT_HANGUP: POLLHUP | POLLRDHUP,  # Akaros's hangup: the peer closed, as a FIN says
    FDTAP_FILT_RDHUP: POLLRDHUP,
}
SUPPORTED = sum(FILTERS)


def filters_of(filt: int) -> dict[int, int]:
    """The filter bits a tap asked for -> the poll bits that satisfy each. A tap that asks for
    RDHUP too tells the two apart: the peer's FIN is RDHUP, HANGUP only a full hangup (POLLHUP)."""
    chosen = {bit: poll_bits for bit, poll_bits in FILTERS.items() if filt & bit}
    if filt & FDTAP_FILT_RDHUP and filt & FDTAP_FILT_HANGUP:
        chosen[FDTAP_FILT_HANGUP] = POLLHUP
    return chosen


#: struct fd_tap_req: fd, cmd, filter, ev_id (int), ev_q, data (pointers)
TAP_REQ = struct.Struct("<iiiiQQ")
MAX_REQS = 1024
TAPS: Slot[Taps] = Slot("akaros.taps")


@attrs.define(eq=False)
class Tap:
    process: Process
    fd: int
    chan: Chan
    filter: int
    ev_q: int
    ev_id: int
    #: the poll bits that satisfy the filter
    mask: int
    #: the request's datum, the event's ev_arg3
    data: int = 0
    #: the filtered poll bits when last looked at (the tap fires when one rises)
    ready: int = 0


class Taps:
    """Every tap of one kernel, and the readiness watcher that fires them."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.taps: dict[tuple[Process, int], Tap] = {}
        self.fired = 0
        self.looking = False
        watch_readiness(kernel, self.look)

    def valid(self, tap: Tap) -> bool:
        return tap.process.alive and tap.process.files.get(tap.fd) is tap.chan

    def look(self) -> None:
        """Some file may have become ready: fire the taps whose filter is now satisfied."""
        self.look_of(None)

    def look_at(self, process: Process) -> None:
        """``process`` was just told a file is not ready (EAGAIN): look at its taps now."""
        if any(key[0] is process for key in self.taps):
            self.look_of(process)

    def look_of(self, process: Process | None) -> None:
        """Fire the taps (of ``process``, or all) whose filter became satisfied since the last look."""
        if self.looking:  # a wake-up caused by firing a tap: the outer look sees it too
            return
        self.looking = True
        try:
            self._look(process)
        finally:
            self.looking = False

    def _look(self, process: Process | None = None) -> None:
        gone = []
        for key, tap in list(self.taps.items()):
            if process is not None and key[0] is not process:
                continue
            if not self.valid(tap):
                gone.append(key)
                continue
            ready = tap.chan.driver.poll(tap.chan) & tap.mask
            if ready & ~tap.ready and not self.fire(tap, ready):
                gone.append(key)
            tap.ready = ready
        for key in gone:
            self.taps.pop(key, None)

    def fire(self, tap: Tap, ready: int) -> bool:
        """Send the tap's event (``ready``: the poll bits now true); False when the queue's memory
        is gone (the tap is dropped)."""
        process = tap.process
        try:
            process.aspace.read(tap.ev_q, layout.EVENT_QUEUE.size)
        except BadAddress:
            self.kernel.trace_event("fdtap_dropped", process, fd=tap.fd, why="event queue unmapped")
            return False
        self.fired += 1
        self.kernel.trace_event("fdtap", process, fd=tap.fd, ev_id=tap.ev_id)
        fired = sum(bit for bit, poll_bits in filters_of(tap.filter).items() if ready & poll_bits)
        send_event(process, tap.ev_q, EventMsg(tap.ev_id, ev_arg2=fired, ev_arg3=tap.data))
        return True


def taps_fired(kernel: Kernel) -> int:
    """How many tap events the kernel has sent so far (0 when no tap was ever made)."""
    taps = TAPS.get(kernel)
    return taps.fired if taps is not None else 0


def taps_of(kernel: Kernel) -> Taps:
    return TAPS.of(kernel, lambda: Taps(kernel))


def _add(t: Thread, taps: Taps, fd: int, filt: int, ev_id: int, ev_q: int, data: int) -> int:
    process = t.process
    file = process.files.get(fd)
    if fd < 0 or file is None:
        return EBADF
    if type(file) is not Chan:
        return EINVAL
    if not filt or filt & ~SUPPORTED:
        return EINVAL
    if type(file.driver).poll is DeviceDriver.poll:
        return ENOSYS  # its files never wait: there is nothing to tap
    if not 0 <= ev_id < 1 << 16:  # an event type
        return EINVAL
    try:  # the kernel writes the queue (ev_alert_pending) when the tap fires: writable
        queue = process.aspace.read(ev_q, layout.EVENT_QUEUE.size)
        process.aspace.write(ev_q, queue)
    except BadAddress:
        return EFAULT
    old = taps.taps.get((process, fd))
    if old is not None:
        if taps.valid(old):
            return EBUSY
        del taps.taps[(process, fd)]
    mask = 0
    for poll_bits in filters_of(filt).values():
        mask |= poll_bits
    tap = Tap(process, fd, file, filt, ev_q, ev_id, mask, data)
    taps.taps[(process, fd)] = tap
    tap.ready = file.driver.poll(file) & mask
    if tap.ready and not taps.fire(tap, tap.ready):  # ready already: fire now, or the wake-up is lost
        del taps.taps[(process, fd)]
    return 0


def sys_tap_fds(t: Thread, reqs: int, count: int) -> int:
    if count > MAX_REQS:
        return -EINVAL
    taps = taps_of(t.kernel)
    raw = t.process.aspace.read(reqs, TAP_REQ.size * count) if count else b""
    for i in range(count):
        fd, cmd, filt, ev_id, ev_q, data = TAP_REQ.unpack_from(raw, i * TAP_REQ.size)
        if cmd == FDTAP_CMD_ADD:
            error = _add(t, taps, fd, filt, ev_id, ev_q, data)
        elif cmd == FDTAP_CMD_REM:
            tap = taps.taps.pop((t.process, fd), None)
            error = 0 if tap is not None and taps.valid(tap) else EBADF
        else:
            error = ENOSYS
        if error:
            return i if i else -error
    return count


def _after(t: Thread, result: int | None) -> int | None:
    if result == -EAGAIN:
        taps = TAPS.get(t.kernel)
        if taps is not None:
            taps.look_at(t.process)
    return result


def sys_read(t: Thread, fd: int, buf: int, count: int) -> int | None:
    """Linux's read (a directory's kdirent records, dirs.py); an EAGAIN looks at the process's
    taps."""
    file = t.process.files.get(fd)
    if is_directory(file):
        return read_directory(t, file, buf, count)
    return _after(t, linux.sys_read(t, fd, buf, count))


def sys_write(t: Thread, fd: int, buf: int, count: int) -> int | None:
    """Linux's write without SIGPIPE (Akaros sends no Unix signals from the kernel: a write to a
    file whose reader went away is just EPIPE); an EAGAIN looks at the process's taps."""
    return _after(t, linux.write_fd(t, fd, buf, count, sigpipe=False))


def sys_openat(t: Thread, dirfd: int, path: int, flags: int, mode: int) -> int | None:
    """Linux's openat (a nonblocking open of a listen file is EAGAIN with no call waiting); an
    EAGAIN looks at the process's taps."""
    return _after(t, linux.sys_openat(t, dirfd, path, flags, mode))
