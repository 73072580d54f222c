"""Per-process Akaros state: the shared pages and which vcores are online, inactive or preempted."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kernkit.core.state import Slot
from kernkit.plugins.akaros_abi import layout
from kernkit.plugins.akaros_abi.shared import SharedPages, map_shared_pages

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

STATE: Slot[AkarosProcess] = Slot("akaros.process")


@attrs.define(eq=False)
class AkarosProcess:
    info: SharedPages
    data: SharedPages
    #: Online vcores: vcore id -> its thread.
    online: dict[int, Thread] = attrs.field(factory=dict)
    #: The core each online vcore was granted (None under a policy without core grants).
    pcore: dict[int, int | None] = attrs.field(factory=dict)
    #: Inactive vcores, most recently yielded last (reused first, as in Akaros).
    inactive: list[int] = attrs.field(factory=list)
    #: Preempted vcores (their contexts are in their preempt data: vcore_ctx, or uthread_ctx
    #: for the 2LS to recover); restarted first when the process gets a core again.
    preempted: set[int] = attrs.field(factory=set)
    #: Online vcores sleeping in halt_core (an event wakes them).
    halted: set[int] = attrs.field(factory=set)
    #: The FPU/SSE state of vcores preempted in vcore context, given back when they resume.
    vcore_fpu: dict[int, bytes] = attrs.field(factory=dict)

    # --- procinfo ---------------------------------------------------------------------------

    def publish_vcore(self, vcoreid: int, pcore: int | None) -> None:
        """Record in procinfo that ``vcoreid`` runs on ``pcore`` (or went offline: None)."""
        info = self.info
        info.set_u64(layout.PI_SEQCTR, info.u64(layout.PI_SEQCTR) + 1)
        entry = layout.vcore_info(vcoreid)
        old = info.u32(entry + layout.VI_PCOREID)
        if info.u32(entry + layout.VI_VALID) and info.u32(layout.pcore_info(old) + 4):
            info.set_u32(layout.pcore_info(old) + 4, 0)
        if pcore is None:
            info.set_u32(entry + layout.VI_VALID, 0)
        else:
            info.set_u32(entry + layout.VI_PCOREID, pcore)
            info.set_u32(entry + layout.VI_VALID, 1)
            info.set_u32(layout.pcore_info(pcore), vcoreid)
            info.set_u32(layout.pcore_info(pcore) + 4, 1)
        info.set_u64(layout.PI_NUM_VCORES, len(self.online))
        info.set_u64(layout.PI_SEQCTR, info.u64(layout.PI_SEQCTR) + 1)

    # --- procdata ---------------------------------------------------------------------------

    def amt_wanted(self) -> int:
        return self.data.u64(layout.PD_AMT_WANTED)

    def vcore_entry(self) -> int:
        return self.data.u64(layout.PD_VCORE_ENTRY)

    def vcpd(self, vcoreid: int, field: int) -> int:
        return layout.vcpd(vcoreid) + field

    def notif_disabled(self, vcoreid: int) -> bool:
        return bool(self.data.u8(self.vcpd(vcoreid, layout.VCPD_NOTIF_DISABLED)))

    def notif_pending(self, vcoreid: int) -> bool:
        return bool(self.data.u8(self.vcpd(vcoreid, layout.VCPD_NOTIF_PENDING)))

    def set_flag(self, vcoreid: int, flag: int, on: bool) -> None:
        at = self.vcpd(vcoreid, layout.VCPD_FLAGS)
        flags = self.data.u64(at)
        self.data.set_u64(at, flags | flag if on else flags & ~flag)

    def flags(self, vcoreid: int) -> int:
        return self.data.u64(self.vcpd(vcoreid, layout.VCPD_FLAGS))

    def save_context(self, vcoreid: int, field: int, registers: dict[str, int]) -> None:
        values = [registers[name] for name in layout.USER_CONTEXT_FIELDS]
        self.data.write(self.vcpd(vcoreid, field), layout.USER_CONTEXT.pack(*values))

    def load_context(self, vcoreid: int, field: int) -> dict[str, int]:
        raw = self.data.read(self.vcpd(vcoreid, field), layout.USER_CONTEXT.size)
        return dict(zip(layout.USER_CONTEXT_FIELDS, layout.USER_CONTEXT.unpack(raw), strict=True))

    def save_uthread_ctx(self, vcoreid: int, registers: dict[str, int], fpu: bytes) -> None:
        """A uthread's registers and its FPU/SSE state (an FXSAVE image, into preempt_anc): the
        2LS resumes it from there, on this vcore or another."""
        self.save_context(vcoreid, layout.VCPD_UTHREAD_CTX, registers)
        self.data.write(self.vcpd(vcoreid, layout.VCPD_PREEMPT_ANC), fpu[: layout.ANCILLARY_SIZE])
        self.set_flag(vcoreid, layout.VC_UTHREAD_SAVED, True)


def attach(kernel: Kernel, process: Process) -> AkarosProcess:
    """Map procinfo/procdata into a freshly loaded Akaros program and fill procinfo."""
    info, data = map_shared_pages(process)
    state = AkarosProcess(info, data)
    parent = process.parent
    info.set_u64(layout.PI_PID, process.pid)
    info.set_u64(layout.PI_PPID, parent.pid if parent is not None else 0)
    max_vcores = min(kernel.scheduler.max_vcores(process), layout.MAX_VCORES)
    info.set_u64(layout.PI_MAX_VCORES, max_vcores)
    info.set_u64(layout.PI_NUM_CORES, len(kernel.current))
    info.set_u64(layout.PI_TSC_FREQ, kernel.ips)
    state.inactive = list(range(max_vcores - 1, -1, -1))  # vcore 0 on top
    for vcoreid in range(max(max_vcores, 1)):  # their mailboxes: UCQs whose pages come when used
        for field in (layout.VCPD_MBOX_PUBLIC, layout.VCPD_MBOX_PRIVATE):
            mbox = state.vcpd(vcoreid, field)
            data.set_u32(mbox, layout.EV_MBOX_UCQ)
            data.set_u8(mbox + layout.MBOX_BODY + layout.UCQ_READY, 1)
    STATE.set(process, state)
    return state


def of(process: Process) -> AkarosProcess | None:
    return STATE.get(process)
