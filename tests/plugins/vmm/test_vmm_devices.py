"""vmrunkernel's devices and interrupts into guest pcores: the guest takes its own timer (8259 +
PIT), prints through a virtio-mmio console, and guest pcore 0 halts in the kernel until a
sibling's IPI wakes it; delivery through the guest's IDT, and what happens when it cannot."""

from __future__ import annotations

import io
import json
import struct
from pathlib import Path
from types import SimpleNamespace

import pytest
from support import run_kernel
from unicorn import x86_const

from kernkit.arch.x86_64.guest import EXIT_TRIPLE_FAULT, RFLAGS_IF, GuestCpu
from kernkit.core.assemble import assemble, boot
from kernkit.core.physmem import PhysicalMemory
from kernkit.plugins.linux_abi.memory import sys_mmap
from kernkit.plugins.vmm import layout, read_vmexits
from kernkit.plugins.vmm.cpuid import cpuid_for
from kernkit.plugins.vmm.gpc import GuestPcore, lookup_gpc
from kernkit.plugins.vmm.interrupts import deliver_pending, take_posted
from kernkit.plugins.vmm.syscalls import sys_vmm_add_gpcs, sys_vmm_poke_guest

ROOT = Path(__file__).resolve().parents[3]
VMM = ROOT / "configs" / "vmm.toml"
TICKS = ["guest: tick 1", "guest: tick 2", "guest: tick 3", "guest: timer off after 3 ticks"]
VIRTIO = "guest: a line through the virtio-mmio console"
PERIOD_2E00 = 0x2E00 * 1_000_000_000 // 1_193_182  # ns: the guest's PIT count, at the PIT's clock


def _exits(run) -> dict[str, list[int]]:  # noqa: ANN001
    table = read_vmexits(run.kernel, run.kernel.init).splitlines()[2:]
    return {row.split()[0]: [int(n) for n in row.split()[1:]] for row in table}


def _in_order(lines: list[str], wanted: list[str]) -> bool:
    at = [lines.index(line) for line in wanted]
    return at == sorted(at)


def test_one_guest_pcore_takes_its_timer_and_prints_through_virtio():
    """HLT reflected: the VMM sleeps to the PIT's next tick in virtual time and posts IRQ 0."""
    run = run_kernel("vmrunkernel", "/bin/guest", config=VMM)
    assert run.status == 0, run.err
    lines = run.out.splitlines()
    assert VIRTIO in lines and _in_order(lines, [VIRTIO, "guest: total 1000 from 1 guest pcores", *TICKS])
    exits = _exits(run)
    assert exits["hlt"] == [0, 3]  # one reflected halt per tick
    assert exits["ept_violation"][1] > 10  # the driver's register accesses, decoded by the VMM


def test_guest_pcore_zero_halts_in_the_kernel_until_a_sibling_pokes_it():
    run = run_kernel(config=VMM, trace=True)  # -m -n 2: HLT halts in the kernel
    assert run.status == 0, run.err
    lines = run.out.splitlines()
    assert _in_order(
        lines,
        [
            VIRTIO,
            "guest: guest pcore 0 woken by 1 interrupt from a sibling",
            "guest: total 2000 from 2 guest pcores",
            *TICKS,
        ],
    )
    assert _exits(run)["hlt"] == [4, 0]  # the IPI and 3 ticks, each ending a halt in the kernel
    events = [json.loads(line) for line in run.trace.splitlines()]
    delivered = [(e["gpcoreid"], e["vector"], e["t"]) for e in events if e["ev"] == "vm_interrupt"]
    assert [(g, v) for g, v, _ in delivered] == [(0, 0xF0)] + [(0, 0x20)] * 3
    ticks = [t for _, _, t in delivered[1:]]
    gaps = [ticks[1] - ticks[0], ticks[2] - ticks[1]]
    # the guest wrote the high byte 0x2e alone, which zeroes the low byte: count 0x2e00, ~101 Hz
    assert all(abs(gap - PERIOD_2E00) < 50_000 for gap in gaps), ticks
    # ... after programming the slowest rate (~55 ms) and letting the timer thread wait for it:
    # the first tick comes one new period after the reprogramming, not at the old deadline
    reprogrammed = max(
        e["t"] for e in events if e["ev"] == "vmexit" and e["reason"] == "io" and e["t"] < ticks[0]
    )
    assert 0 < ticks[0] - reprogrammed < PERIOD_2E00 + 500_000, (reprogrammed, ticks)


def test_runs_with_interrupts_are_deterministic():
    first = run_kernel(config=VMM, trace=True)
    second = run_kernel(config=VMM, trace=True)
    assert first.out == second.out and "guest: total 2000" in first.out
    assert first.kernel.tracer.digest == second.kernel.tracer.digest


def test_a_vmm_asking_for_more_vcores_than_it_may_have_says_so():
    run = run_kernel(config=VMM, init__args=["-m", "-n", "3", "/bin/guest"])
    assert run.status == 1
    assert "vmrunkernel: -m -n 3 needs 4 vcores (one per guest pcore and one for the timer); " in run.out


# --- delivery through the guest's IDT, on a bare guest CPU -------------------------------------

CODE, HANDLER, IDT, STACK = 0x1000, 0x2000, 0x3000, 0x8000
HLT, STI_HLT, INC_RBX_IRETQ = b"\xf4", b"\xfb\xf4", b"\x48\xff\xc3\x48\xcf"
GDT = struct.pack("<3Q", 0, 0x00209A0000000000, 0x0000920000000000)


def _cpu(code: bytes, idt_limit: int, gate_type: int = 0x8E, deterministic: bool = True) -> GuestCpu:
    """A guest CPU over 64 KiB (guest-physical = host), ring 0 with a flat GDT, code at CODE, an
    IDT whose vector 0x40 goes to HANDLER (inc rbx; iretq)."""
    memory = PhysicalMemory(0x10000)
    translate = lambda gpa: gpa if gpa < memory.size else None  # noqa: E731
    cpu = GuestCpu(memory, translate, cpuid_for(0), deterministic=deterministic)
    memory.write(0x4000, GDT)
    memory.write(0x4100, struct.pack("<HQ", len(GDT) - 1, 0x4000))
    # lgdt [0x4100]; push 8; push CODE; lretq -- the guest's own code segment, then its code
    boot = b"\x0f\x01\x14\x25" + struct.pack("<I", 0x4100) + b"\x6a\x08\x68" + struct.pack("<I", CODE)
    memory.write(0x500, boot + b"\x48\xcb")
    memory.write(CODE, code)
    memory.write(HANDLER, INC_RBX_IRETQ)
    gate = HANDLER & 0xFFFF | 0x08 << 16 | gate_type << 40 | (HANDLER >> 16 & 0xFFFF) << 48
    memory.write(IDT + 0x40 * 16, gate.to_bytes(16, "little"))
    cpu.set_state({"rip": 0x500, "rsp": STACK, "rflags": 0x2}, 0)
    cpu.uc.reg_write(x86_const.UC_X86_REG_IDTR, (0, IDT, idt_limit, 0))
    return cpu


def _run_to_code(cpu: GuestCpu) -> None:
    _, exit_ = cpu.run(4)  # the far return into CODE
    assert exit_ is None and cpu.state()["rip"] == CODE


@pytest.mark.parametrize("limit", [0, 0x40 * 16 - 1])
def test_an_interrupt_the_idt_cannot_deliver_is_a_triple_fault(limit):
    cpu = _cpu(HLT, idt_limit=limit)
    _run_to_code(cpu)
    cpu.set_state({"rflags": 0x2 | RFLAGS_IF}, 0)
    failed = cpu.inject(0x40)
    assert failed is not None and failed.reason == EXIT_TRIPLE_FAULT and failed.intrinfo == 0x40
    assert cpu.state()["rip"] == CODE and cpu.state()["rsp"] == STACK  # untouched


def test_a_gate_that_is_not_present_is_a_triple_fault():
    cpu = _cpu(HLT, idt_limit=0xFFF, gate_type=0x0E)  # present bit clear
    _run_to_code(cpu)
    failed = cpu.inject(0x40)
    assert failed is not None and failed.reason == EXIT_TRIPLE_FAULT


def test_a_delivered_interrupt_runs_the_handler_and_iretq_returns():
    cpu = _cpu(b"\x90" + HLT, idt_limit=0xFFF)
    _run_to_code(cpu)
    cpu.set_state({"rflags": 0x2 | RFLAGS_IF, "rbx": 41}, 0)
    assert cpu.interruptible()
    assert cpu.inject(0x40) is None
    state = cpu.state()
    assert state["rip"] == HANDLER and not state["rflags"] & RFLAGS_IF  # interrupt gate: IF off
    frame = struct.unpack("<5Q", cpu.read_guest(state["rsp"], 40))
    assert frame[0] == CODE and frame[1] == 0x08 and frame[2] & RFLAGS_IF and frame[3] == STACK
    _, exit_ = cpu.run(100)  # inc rbx; iretq; nop; hlt
    state = cpu.state()
    assert exit_ is not None and exit_.reason == 12  # the guest's own hlt, after the handler
    assert state["rbx"] == 42 and state["rsp"] == STACK and state["rflags"] & RFLAGS_IF
    assert state["rip"] == CODE + 2


def test_an_interrupt_between_sti_and_hlt_wakes_the_halt_instead_of_preceding_it():
    cpu = _cpu(STI_HLT + b"\x90" + HLT, idt_limit=0xFFF)
    _run_to_code(cpu)
    cpu.run(1)  # sti; the slice ends in its shadow, before the hlt
    assert cpu.state()["rip"] == CODE + 1 and cpu.interruptible()
    assert cpu.inject(0x40) is None
    frame = struct.unpack("<5Q", cpu.read_guest(cpu.state()["rsp"], 40))
    assert frame[0] == CODE + 2  # returns past the hlt: the wake-up is not lost


def test_interrupts_wait_while_the_guest_has_them_off():
    cpu = _cpu(HLT, idt_limit=0xFFF)
    _run_to_code(cpu)
    gpc = GuestPcore(0, None, cpu, 0, 0x10000)
    gpc.irr = 1 << 0x40
    kernel = type("K", (), {"tracing": False})()
    assert deliver_pending(kernel, gpc) is None
    assert gpc.irr == 1 << 0x40 and cpu.state()["rip"] == CODE  # IF clear: still pending
    cpu.set_state({"rflags": 0x2 | RFLAGS_IF}, 0)
    assert deliver_pending(kernel, gpc) is None
    assert gpc.irr == 0 and gpc.injected == 1 and cpu.state()["rip"] == HANDLER


# --- the ABI: vmm_add_gpcs with and without a posted-interrupt descriptor ------------------------


@pytest.fixture
def vmm():
    """The init thread of a booted (not yet running) vmrunkernel, with 64 KiB mapped for guest
    memory at ``vmm.mem`` and a page for init structs and descriptors at ``vmm.scratch``."""
    kernel = assemble(VMM, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    boot(kernel)
    thread = kernel.init.threads[0]
    mem = sys_mmap(thread, 0, 0x10000, 3, 0x22, -1, 0)
    scratch = sys_mmap(thread, 0, 0x1000, 3, 0x22, -1, 0)
    yield SimpleNamespace(thread=thread, process=thread.process, mem=mem, scratch=scratch)
    kernel.shutdown()


def _add(vmm: SimpleNamespace, desc: int | None, size: int) -> int:
    fields = [vmm.mem, 0x10000, 0x1000, 0x8000, 0, 7]
    packed = layout.GPCORE_INIT_V1.pack(*fields) if desc is None else layout.GPCORE_INIT.pack(*fields, desc)
    vmm.process.aspace.write(vmm.scratch, packed)
    return sys_vmm_add_gpcs(vmm.thread, 1, vmm.scratch, size)


def test_the_original_init_struct_still_adds_guest_pcores_without_interrupts(vmm):
    assert _add(vmm, None, 0) == 1  # a caller that passes no size
    assert _add(vmm, None, 48) == 1
    assert [lookup_gpc(vmm.process, i).posted_irq_desc for i in (0, 1)] == [0, 0]


@pytest.mark.parametrize(
    ("where", "size"),
    [(0x800 + 8, 56), (0x800, 40), (0x800, 64)],  # a misaligned descriptor, sizes of no struct
)
def test_a_bad_descriptor_or_struct_size_is_einval(vmm, where, size):
    assert _add(vmm, vmm.scratch + where, size) == -22


def test_a_descriptor_outside_the_vmms_memory_is_einval(vmm):
    assert _add(vmm, 0x1000, 56) == -22


def test_posted_vectors_reach_the_guest_pcore_and_the_descriptor_is_cleared(vmm):
    desc = vmm.scratch + 0x800
    assert _add(vmm, desc, 56) == 1
    gpc = lookup_gpc(vmm.process, 0)
    aspace = vmm.process.aspace
    aspace.write(desc, (1 << 0x20 | 1 << 0xF0).to_bytes(32, "little") + (1).to_bytes(8, "little"))
    assert sys_vmm_poke_guest(vmm.thread, 0) == 0 and gpc.notified
    take_posted(gpc)
    assert gpc.irr == 1 << 0x20 | 1 << 0xF0 and not gpc.notified
    assert aspace.read(desc, 40) == bytes(40)  # requests and the notification bit taken


@pytest.mark.parametrize("rsp", [0, 8, 0x28])
def test_an_interrupt_frame_that_would_wrap_below_address_zero_is_a_triple_fault(rsp):
    """The 40-byte frame below a stack pointer under 0x30 wraps to the top of the address space,
    which guest memory does not reach: the guest cannot take the interrupt (and nothing is
    written outside guest memory)."""
    cpu = _cpu(HLT, idt_limit=0xFFF)
    _run_to_code(cpu)
    cpu.set_state({"rflags": 0x2 | RFLAGS_IF, "rsp": rsp}, 0)
    failed = cpu.inject(0x40)
    assert failed is not None and failed.reason == EXIT_TRIPLE_FAULT and failed.intrinfo == 0x40
    assert cpu.state()["rsp"] == rsp and cpu.state()["rip"] == CODE


def test_in_fast_mode_an_exit_stops_the_guest_before_its_next_instruction():
    """Fast mode gives a guest run no budget; its exits must still end the run at once (without
    a count the engine ran on to the end of the translated block: past the OUT the VMM had not
    seen yet, and on)."""
    cpu = _cpu(b"\xe6\x80\x48\xff\xc3\xf4", idt_limit=0xFFF, deterministic=False)  # out; inc rbx; hlt
    cpu.run(0)  # the far return into CODE, then on to the OUT
    state = cpu.state()
    assert cpu.exit is not None and cpu.exit.reason == 30  # IO
    assert state["rip"] == CODE + 2 and state["rbx"] == 0  # past the OUT, before the inc
