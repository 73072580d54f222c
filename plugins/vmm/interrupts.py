"""Interrupts into a guest pcore, on Akaros's posted-interrupt model.

The VMM posts vector ``v`` by setting bit ``v`` of the guest pcore's posted-interrupt descriptor
(in its own memory), then the outstanding-notification bit, then calls ``vmm_poke_guest``.
Before the guest pcore runs (every ``vmm_run``, every slice after a poke) the kernel moves the
requested bits into the guest pcore's virtual IRR and clears them in the descriptor, and
delivers the highest pending vector through the guest's IDT when the guest has RFLAGS.IF set.
A vector stays pending while IF is clear. There is no in-service register and no priority
masking: the guest acknowledges an interrupt to the device that raised it (vmrunkernel's 8259
takes an EOI on port 0x20).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errors import BadAddress
from kernkit.plugins.vmm import layout

if TYPE_CHECKING:
    from kernkit.arch.x86_64.api import VmExit
    from kernkit.core.kernel import Kernel
    from kernkit.plugins.vmm.gpc import GuestPcore

_PIR_BYTES = layout.POSTED_OUTSTANDING_NOTIF // 8


def take_posted(gpc: GuestPcore) -> None:
    """Move the descriptor's requested vectors into the guest pcore's IRR and clear them and
    the outstanding-notification bit (the VMM runs on no other core meanwhile: cores take
    turns, so this read-modify-write is atomic for it)."""
    gpc.notified = False
    if not gpc.posted_irq_desc:
        return
    aspace = gpc.process.aspace
    try:
        raw = aspace.read(gpc.posted_irq_desc, _PIR_BYTES + 8)
        requested = int.from_bytes(raw[:_PIR_BYTES], "little")
        notif = int.from_bytes(raw[_PIR_BYTES:], "little")
        if not requested and not notif & 1:
            return
        aspace.write(gpc.posted_irq_desc, bytes(_PIR_BYTES) + (notif & ~1).to_bytes(8, "little"))
    except BadAddress:  # the VMM unmapped it (or took write access away): nothing is posted
        return
    gpc.irr |= requested


def deliver_pending(kernel: Kernel, gpc: GuestPcore) -> VmExit | None:
    """Deliver the highest pending vector if the guest takes interrupts now; the exit to
    reflect when its IDT cannot take it (a triple fault), else None."""
    if not gpc.irr or not gpc.cpu.interruptible():
        return None
    vector = gpc.irr.bit_length() - 1
    gpc.irr &= ~(1 << vector)
    failed = gpc.cpu.inject(vector)
    if failed is None:
        gpc.injected += 1
        if kernel.tracing:
            kernel.trace_event("vm_interrupt", gpc.process, gpcoreid=gpc.gpcoreid, vector=vector)
    return failed
