"""The VMM system calls (see layout.py for the interface)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.arch.x86_64.api import EXIT_GUEST_IN_USE, EXIT_LIMIT, EXIT_NAMES
from kernkit.core.errnos import EFAULT, EINVAL, ENODEV, ENOENT
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE
from kernkit.core.process import BLOCKED
from kernkit.plugins.vmm import layout
from kernkit.plugins.vmm.cpuid import cpuid_for
from kernkit.plugins.vmm.gpc import VMM, GuestPcore, VmmProcess, lookup_gpc, vmm_of
from kernkit.plugins.vmm.inline import can_run_inline, enter_slowly, run_inline
from kernkit.plugins.vmm.interrupts import take_posted

if TYPE_CHECKING:
    from kernkit.core.process import Process, Thread
    from kernkit.core.vm import AddressSpace

CANONICAL_LOW, CANONICAL_HIGH = 1 << 47, 0xFFFF_8000_0000_0000


def _vmm(process: Process) -> VmmProcess:
    vmm = vmm_of(process)
    if vmm is None:
        vmm = VMM.set(process, VmmProcess(aspace=process.aspace, options=process.kernel.config["vmm"]))
    return vmm


def _canonical(address: int) -> bool:
    return address < CANONICAL_LOW or address >= CANONICAL_HIGH


def _writable_range(aspace: AddressSpace, start: int, size: int) -> bool:
    address, end = start, start + size
    while address < end:
        region = aspace.region_at(address)
        if region is None or not region.allows("write"):
            return False
        address = region.end
    return True


def _translator(aspace: AddressSpace, base: int, size: int):  # noqa: ANN202
    lookup, resolve = aspace.page_table.lookup, aspace.resolve_fault

    def translate(gpa: int) -> int | None:
        if not 0 <= gpa < size:
            return None
        va = base + (gpa & PAGE_MASK)
        entry = lookup(va)
        if entry is not None and entry[1]:
            return entry[0]
        return resolve(va, "write")

    return translate


def _descriptor_ok(aspace: AddressSpace, address: int) -> bool:
    if not address:
        return True
    size = layout.POSTED_DESC_SIZE
    return address % size == 0 and _writable_range(aspace, address, size)


def sys_vmm_add_gpcs(t: Thread, nr: int, inits: int, size: int = 0) -> int:
    kernel, process = t.kernel, t.process
    factory = kernel.arch.guest_cpu
    if factory is None:
        return -ENODEV
    vmm = _vmm(process)
    if not 0 < nr <= layout.MAX_GPCS - len(vmm.gpcs):
        return -EINVAL
    if size in (0, layout.GPCORE_INIT_V1.size):
        form = layout.GPCORE_INIT_V1
    elif size == layout.GPCORE_INIT.size:
        form = layout.GPCORE_INIT
    else:
        return -EINVAL
    raw = process.aspace.read(inits, nr * form.size)
    parsed = []
    for i in range(nr):
        values = form.unpack_from(raw, i * form.size)
        init = dict(zip(layout.GPCORE_INIT_FIELDS, values, strict=False))
        init.setdefault("posted_irq_desc", 0)
        if not _descriptor_ok(process.aspace, init["posted_irq_desc"]):
            return -EINVAL
        base, size = init["mem_base"], init["mem_size"]
        if base % PAGE_SIZE or size % PAGE_SIZE or not size or base + size > kernel.machine.user_limit:
            return -EINVAL
        if not _writable_range(process.aspace, base, size):
            return -EINVAL
        if init["cr3"] % PAGE_SIZE or init["cr3"] >= size or not _canonical(init["entry"]):
            return -EINVAL
        parsed.append(init)
    for init in parsed:
        gpcoreid = len(vmm.gpcs)
        translate = _translator(process.aspace, init["mem_base"], init["mem_size"])
        cpu = factory(kernel.machine, process.aspace, translate, cpuid_for(gpcoreid))
        cpu.set_state(
            {"rip": init["entry"], "rsp": init["stack"], "rdi": init["arg"], "rflags": layout.RFLAGS_FIXED},
            init["cr3"],
        )
        gpc = GuestPcore(gpcoreid, process, cpu, init["mem_base"], init["mem_size"])
        gpc.max_exits = vmm.options.max_exits
        gpc.posted_irq_desc = init["posted_irq_desc"]
        vmm.gpcs.append(gpc)
    kernel.trace_event("vmm_add_gpcs", process, nr=nr, total=len(vmm.gpcs))
    return nr


def sys_vmm_ctl(t: Thread, cmd: int, arg: int) -> int:
    vmm = _vmm(t.process)
    if cmd == layout.VMM_CTL_GET_EXITS:
        return vmm.exits_wanted
    if cmd == layout.VMM_CTL_SET_EXITS:
        if arg & ~layout.VMM_CTL_ALL_EXITS:
            return -EINVAL
        vmm.exits_wanted = arg
        return 0
    return -EINVAL


def sys_vmm_poke_guest(t: Thread, gpcoreid: int) -> int:
    gpc = lookup_gpc(t.process, gpcoreid)
    if gpc is None:
        return -ENOENT
    gpc.notified = True
    if gpc.halted and gpc.thread is not None and gpc.thread.state is BLOCKED:
        gpc.halted = False
        t.kernel.wake(gpc.thread)
    else:
        gpc.poked = True
    return 0


def _bad_state(rip: int, rflags: int, cr3: int, gpc: GuestPcore) -> bool:
    return not _canonical(rip) or rflags & ~layout.RFLAGS_ALLOWED or cr3 % PAGE_SIZE or cr3 >= gpc.mem_size


def _reflect_at_once(t: Thread, tf: int, gpcoreid: int, reason: int) -> int:
    """An exit of the kernel's own without running the guest pcore: only the reason and the
    gpcoreid of the trapframe change."""
    vmm_of(t.process).count(EXIT_NAMES[reason], "vmm")
    t.process.aspace.write(tf + layout.TF_EXIT_REASON, reason.to_bytes(4, "little"))
    t.process.aspace.write(tf + layout.TF_GPCOREID, gpcoreid.to_bytes(4, "little"))
    return reason


def sys_vmm_run(t: Thread, gpcoreid: int, tf: int) -> int | None:
    gpc = lookup_gpc(t.process, gpcoreid)
    if gpc is None:
        return -ENOENT
    aspace = t.process.aspace
    raw = aspace.read(tf, layout.VM_TF_SIZE)
    if not aspace.allows(tf, layout.VM_TF_SIZE, "write"):
        return -EFAULT  # checked now: the exit could not be reported after the guest ran
    if gpc.thread is not None and gpc.thread is not t:  # running for another thread
        return _reflect_at_once(t, tf, gpcoreid, EXIT_GUEST_IN_USE)
    if gpc.stopped:
        return _reflect_at_once(t, tf, gpcoreid, EXIT_LIMIT)
    (flags,) = layout.TF_FLAGS_FIELD.unpack_from(raw, layout.TF_FLAGS)
    if flags & ~layout.VMTF_RESUME:
        return -EINVAL
    if flags & layout.VMTF_RESUME:
        rip, rflags, cr3, _reason, tf_gpcoreid = layout.TF_STATE.unpack_from(raw, layout.TF_RIP)
        if tf_gpcoreid != gpcoreid or _bad_state(rip, rflags, cr3, gpc):
            return -EINVAL
        if not rflags & layout.RFLAGS_FIXED:
            raw = raw[: layout.TF_RFLAGS] + (rflags | layout.RFLAGS_FIXED).to_bytes(8, "little")
        gpc.cpu.load_raw(raw, cr3)
    take_posted(gpc)
    gpc.thread = t
    gpc.tf = tf
    kernel = t.kernel
    if vmm_of(t.process).options.run_inline and can_run_inline(kernel, t):
        return run_inline(kernel, t, gpc)
    enter_slowly(kernel, t, gpc)
    return None
