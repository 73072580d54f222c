"""Events, the kernel's side: Akaros's event queues and the mailboxes they post to.

An event is a message (``struct event_msg``) sent to a process through an *event queue* in its
memory (``struct event_queue``): the queue names a mailbox (a UCQ, a bitmap or a CEQ; none: the
target vcore's own mailbox in its preempt data) and flags that say whom to alert and how
(EVENT_IPI, EVENT_INDIR, EVENT_SPAM_PUBLIC, EVENT_SPAM_INDIR, EVENT_WAKEUP, ...). Kernel events
(a preemption, a signal, a notify) go through the queue the process registered for their type
in ``procdata.kernel_evts``, or, when it registered none, to a running vcore's public mailbox
with a notification (kernkit's default, so a program need not register anything).

The mailboxes live in user memory; the kernel writes them while every core is stopped (cores run
one at a time), so its side needs no locks. A bad pointer in a queue drops the event (traced),
it never fails the caller. This is our own code following Akaros's kern/src/event.c, ucq.c and
ceq.c, not a copy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from kernkit.core.errors import BadAddress, OutOfMemory
from kernkit.core.process import ProcState
from kernkit.core.vm import PROT_READ, PROT_WRITE
from kernkit.plugins.akaros_abi import layout
from kernkit.plugins.akaros_abi.state import of

if TYPE_CHECKING:
    from kernkit.core.process import Process
    from kernkit.core.vm import AddressSpace
    from kernkit.plugins.akaros_abi.state import AkarosProcess

U64 = (1 << 64) - 1
PAGE_MASK = ~(layout.PAGE - 1) & U64


class EventMsg(NamedTuple):
    ev_type: int
    ev_arg1: int = 0
    ev_arg2: int = 0
    ev_arg3: int = 0
    ev_arg4: int = 0

    def pack(self) -> bytes:
        return layout.EVENT_MSG.pack(
            self.ev_type & 0xFFFF, self.ev_arg1 & 0xFFFF, self.ev_arg2 & 0xFFFF_FFFF, self.ev_arg3 & U64,
            self.ev_arg4 & U64,
        )  # fmt: skip

    @classmethod
    def unpack(cls, raw: bytes) -> EventMsg:
        return cls(*layout.EVENT_MSG.unpack(raw))


def _u8(aspace: AddressSpace, address: int) -> int:
    return aspace.read(address, 1)[0]


def _u32(aspace: AddressSpace, address: int) -> int:
    return int.from_bytes(aspace.read(address, 4), "little")


def _u64(aspace: AddressSpace, address: int) -> int:
    return int.from_bytes(aspace.read(address, 8), "little")


def _set(aspace: AddressSpace, address: int, value: int, size: int) -> None:
    aspace.write(address, (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little"))


# --- mailboxes ----------------------------------------------------------------------------------


def _map_page(process: Process) -> int:
    """A fresh zeroed page in the process, for a UCQ that ran out of slots (Akaros mmaps one)."""
    aspace = process.aspace
    start = aspace.find_free(layout.PAGE, layout.PROCDATA_ADDR + layout.PROCDATA_SIZE)
    if start is None:
        raise OutOfMemory
    aspace.add_region(start, start + layout.PAGE, PROT_READ | PROT_WRITE, "[ucq]")
    return start


def _send_ucq(process: Process, ucq: int, msg: EventMsg) -> bool:
    """Put ``msg`` in the UCQ at ``ucq``: the next slot of the producer's page, or slot 0 of a new
    page linked from the old one's header. False when the UCQ is not ready."""
    aspace = process.aspace
    if not _u8(aspace, ucq + layout.UCQ_READY):
        return False
    slot = _u64(aspace, ucq + layout.UCQ_PROD_IDX)
    page, counter = slot & PAGE_MASK, slot & (layout.PAGE - 1)
    if _u8(aspace, ucq + layout.UCQ_PROD_OVERFLOW) or not page or counter >= layout.UCQ_MSGS_PER_PAGE:
        new = _u64(aspace, ucq + layout.UCQ_SPARE_PG)
        if new and not new & (layout.PAGE - 1):
            _set(aspace, ucq + layout.UCQ_SPARE_PG, 0, 8)
        else:
            new = _map_page(process)
            _set(aspace, ucq + layout.UCQ_NR_EXTRA_PGS, _u64(aspace, ucq + layout.UCQ_NR_EXTRA_PGS) + 1, 8)
        aspace.write(new, bytes(layout.UCQ_HEADER_SIZE))  # cons_next_pg, nr_cons
        if page:
            _set(aspace, page, new, 8)  # the old page's cons_next_pg: consumers follow it
        elif not _u64(aspace, ucq + layout.UCQ_CONS_IDX):
            _set(aspace, ucq + layout.UCQ_CONS_IDX, new, 8)  # the first page: consumers start here
        slot = new
        _set(aspace, ucq + layout.UCQ_PROD_OVERFLOW, 0, 1)
    _set(aspace, ucq + layout.UCQ_PROD_IDX, slot + 1, 8)
    container = (
        (slot & PAGE_MASK) + layout.UCQ_HEADER_SIZE + (slot & (layout.PAGE - 1)) * layout.MSG_CONTAINER_SIZE
    )
    aspace.write(container, msg.pack())
    _set(aspace, container + layout.EVENT_MSG.size, 1, 1)  # ready, last
    return True


def _send_bitmap(process: Process, evbm: int, msg: EventMsg) -> bool:
    aspace = process.aspace
    if msg.ev_type >= layout.MAX_NR_EVENT:
        return False
    byte = evbm + layout.EVBM_BITMAP + msg.ev_type // 8
    _set(aspace, byte, _u8(aspace, byte) | 1 << msg.ev_type % 8, 1)
    _set(aspace, evbm + layout.EVBM_CHECK_BITS, 1, 1)
    return True


def _send_ceq(process: Process, ceq: int, msg: EventMsg) -> bool:
    """Coalesce ``msg`` into its type's entry of the CEQ, and put the type in the ring unless it
    is there already (or note that the ring overflowed)."""
    aspace = process.aspace
    events, nr_events, _, max_ever, ring, ring_sz, operation, _, _, prod, _, _ = layout.CEQ.unpack(
        aspace.read(ceq, layout.CEQ.size)
    )
    index = msg.ev_type
    if index >= nr_events or operation not in (layout.CEQ_OR, layout.CEQ_ADD):
        return False
    entry = events + index * layout.CEQ_EVENT_SIZE
    coalesce = _u64(aspace, entry)
    coalesce = coalesce | msg.ev_arg2 if operation == layout.CEQ_OR else coalesce + msg.ev_arg2
    _set(aspace, entry, coalesce, 8)
    _set(aspace, entry + 8, msg.ev_arg3, 8)  # blob_data: the last writer's
    if index > max_ever:
        _set(aspace, ceq + layout.CEQ_MAX_EVENT_EVER, index, 8)
    if _u8(aspace, entry + 16):  # idx_posted: the consumer will see it
        return True
    _set(aspace, entry + 16, 1, 1)
    consumed = _u64(aspace, ceq + layout.CEQ_PROD_IDX + 8)  # cons_pub_idx
    if not ring_sz or ring_sz & (ring_sz - 1) or prod - consumed >= ring_sz:
        _set(aspace, ceq + layout.CEQ_RING_OVERFLOWED, 1, 1)
        return True
    _set(aspace, ring + (prod & (ring_sz - 1)) * 4, index, 4)
    _set(aspace, ceq + layout.CEQ_PROD_IDX, prod + 1, 8)
    return True


SENDERS = {layout.EV_MBOX_UCQ: _send_ucq, layout.EV_MBOX_BITMAP: _send_bitmap, layout.EV_MBOX_CEQ: _send_ceq}


def post_mbox(process: Process, mbox: int, msg: EventMsg) -> bool:
    """Post ``msg`` to the mailbox at ``mbox``; False (and a trace event) when it cannot be: an
    unknown type, a bad address, a UCQ not set up, a type the mailbox cannot hold."""
    kernel = process.kernel
    try:
        sender = SENDERS.get(int.from_bytes(process.aspace.read(mbox, 4), "little", signed=True))
        posted = sender is not None and sender(process, mbox + layout.MBOX_BODY, msg)
    except (BadAddress, OutOfMemory):
        posted = False
    if not posted:
        kernel.trace_event("event_dropped", process, type=msg.ev_type, mbox=mbox)
    return posted


def _traced(process: Process, vcoreid: int, msg: EventMsg) -> None:
    process.kernel.trace_event(
        "event",
        process,
        vcore=vcoreid,
        type=msg.ev_type,
        arg1=msg.ev_arg1,
        arg2=msg.ev_arg2,
        arg3=msg.ev_arg3,
    )


def vcpd_mbox(vcoreid: int, private: bool) -> int:
    """The user address of a vcore's public or private mailbox."""
    field = layout.VCPD_MBOX_PRIVATE if private else layout.VCPD_MBOX_PUBLIC
    return layout.PROCDATA_ADDR + layout.vcpd(vcoreid) + field


# --- alerting vcores --------------------------------------------------------------------------


def _max_vcores(state: AkarosProcess) -> int:
    return max(state.info.u64(layout.PI_MAX_VCORES), 1)


def post_vcore_msg(process: Process, vcoreid: int, msg: EventMsg, private: bool = False) -> bool:
    """``msg`` into a vcore's own mailbox, with notif_pending set so a vcore about to yield does
    not miss it."""
    state = of(process)
    posted = post_mbox(process, vcpd_mbox(vcoreid, private), msg)
    state.data.set_u8(state.vcpd(vcoreid, layout.VCPD_NOTIF_PENDING), 1)
    if posted:
        _traced(process, vcoreid, msg)
    return posted


def try_notify(process: Process, vcoreid: int, flags: int) -> None:
    """With EVENT_IPI, a notification to the vcore if it is online."""
    from kernkit.plugins.akaros_abi.vcores import send_notify  # noqa: PLC0415 - vcores uses us

    state = of(process)
    if flags & layout.EVENT_IPI:
        state.data.set_u8(state.vcpd(vcoreid, layout.VCPD_NOTIF_PENDING), 1)
        thread = state.online.get(vcoreid)
        if thread is not None:
            send_notify(process.kernel, process, vcoreid, thread)


def spam_vcore(process: Process, vcoreid: int, msg: EventMsg, flags: int) -> None:
    post_vcore_msg(process, vcoreid, msg)
    try_notify(process, vcoreid, flags)


def spam_public(process: Process, msg: EventMsg, vcoreid: int, flags: int) -> int:
    """Make sure some vcore gets ``msg``, preferring ``vcoreid``: it if it will see it (online, or
    marked VC_CAN_RCV_MSG), else an online vcore, else a preempted one (whoever recovers it
    drains its mailbox), else the vcore that will start next (marked VC_CAN_RCV_MSG). The vcore
    it went to."""
    state = of(process)
    if not process.mcp:
        target = 0
    elif (
        vcoreid in state.online
        or not flags & layout.EVENT_VCORE_MUST_RUN
        and state.flags(vcoreid) & layout.VC_CAN_RCV_MSG
    ):
        target = vcoreid
    elif state.online:
        target = min(state.online)
    elif state.preempted and not flags & layout.EVENT_VCORE_MUST_RUN:
        target = min(state.preempted)
    else:
        target = state.inactive[-1] if state.inactive else vcoreid
        state.set_flag(target, layout.VC_CAN_RCV_MSG, True)
    spam_vcore(process, target, msg, flags)
    return target


def wakeup(process: Process, flags: int) -> None:
    """With EVENT_WAKEUP, a WAITING MCP becomes RUNNABLE_M and asks for its cores again."""
    if flags & layout.EVENT_WAKEUP and process.state is ProcState.WAITING and process.mcp:
        process.set_state(ProcState.RUNNABLE_M)
        process.kernel.scheduler.cores_wanted(process)


def _send_indir(process: Process, ev_q: int, flags: int, vcoreid: int) -> None:
    """EVENT_INDIR: tell a vcore to look at the queue (an EV_EVENT message carrying its address),
    once until user code clears ev_alert_pending, unless EVENT_NOTHROTTLE."""
    aspace = process.aspace
    if not flags & layout.EVENT_NOTHROTTLE and _u8(aspace, ev_q + layout.EVQ_ALERT_PENDING):
        return
    _set(aspace, ev_q + layout.EVQ_ALERT_PENDING, 1, 1)
    indir = EventMsg(layout.EV_EVENT, ev_arg3=ev_q)
    if flags & layout.EVENT_SPAM_INDIR:
        spam_public(process, indir, vcoreid, flags)
    else:
        spam_vcore(process, vcoreid, indir, flags)


def send_event(process: Process, ev_q: int, msg: EventMsg, vcoreid: int = 0) -> None:
    """Send ``msg`` to ``process`` through its event queue at ``ev_q`` (Akaros's send_event):
    into the queue's mailbox (or a vcore's), then the alerts its flags ask for."""
    state = of(process)
    if state is None or not process.alive:
        return
    try:
        mbox, flags, _, ev_vcore, _, _ = layout.EVENT_QUEUE.unpack(
            process.aspace.read(ev_q, layout.EVENT_QUEUE.size)
        )
    except BadAddress:
        process.kernel.trace_event("event_dropped", process, type=msg.ev_type, ev_q=ev_q)
        return
    if not flags & layout.EVENT_VCORE_APPRO:
        vcoreid = ev_vcore
    if vcoreid >= _max_vcores(state):
        process.kernel.trace_event("event_dropped", process, type=msg.ev_type, vcore=vcoreid)
        return
    if flags & layout.EVENT_SPAM_PUBLIC:
        spam_public(process, msg, vcoreid, flags)
    else:
        if mbox:
            if post_mbox(process, mbox, msg):
                _traced(process, vcoreid, msg)
        else:
            post_vcore_msg(process, vcoreid, msg, bool(flags & layout.EVENT_VCORE_PRIVATE))
        try:
            if flags & layout.EVENT_INDIR:
                _send_indir(process, ev_q, flags, vcoreid)
            else:
                try_notify(process, vcoreid, flags)
        except BadAddress:
            pass
    wakeup(process, flags)


def send_kernel_event(process: Process, msg: EventMsg, vcoreid: int, default_flags: int) -> None:
    """An event the kernel raises (preemption, signal, notify): through the queue the process
    registered for its type in procdata.kernel_evts, else to ``vcoreid`` (or a vcore that will see
    it) with ``default_flags``."""
    state = of(process)
    if state is None or not process.alive:
        return
    ev_q = state.data.u64(layout.PD_KERNEL_EVTS + 8 * msg.ev_type) if msg.ev_type < layout.MAX_NR_EVENT else 0
    if ev_q:
        send_event(process, ev_q, msg, vcoreid)
        return
    spam_public(process, msg, vcoreid, default_flags)
    wakeup(process, default_flags)
