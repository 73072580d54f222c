"""Register images (Machine.register_image): registers read into, and loaded from, fixed places
of a record in one engine call; the FPU state as the FXSAVE image. Checked against the
registers read one by one, on a thread loaded on a core and on one saved in its context."""

from __future__ import annotations

import io
import random
import struct

import pytest

from kernkit.arch.x86_64.context import FXSAVE_SIZE, INITIAL_FXSAVE, USER_REGISTERS
from kernkit.core.assemble import assemble, boot

ST = [f"st{i}" for i in range(8)]
XMM = [f"xmm{i}" for i in range(16)]


@pytest.fixture(params=["live", "live-python", "saved"])
def context(request, monkeypatch):
    """The init thread's context, loaded on core 0 ("live": the moves in C when the native
    library is built; "live-python": in Python) or not ("saved")."""
    if request.param == "live-python":
        monkeypatch.setenv("KERNKIT_PURE_PYTHON", "1")
    kernel = assemble(None, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    boot(kernel)
    thread = kernel.init.threads[0]
    core = kernel.machine.cores[0]
    core.load(thread)
    if request.param == "saved":
        core.unload()
    assert (thread.context.live is not None) == (request.param != "saved")
    yield kernel.machine, thread.context
    kernel.machine.close()


def scramble_fpu(context, rng: random.Random) -> None:
    """Random x87 and SSE contents (a valid MXCSR, some registers tagged empty)."""
    context.set_register("fctrl", rng.getrandbits(16) | 0x3F)
    context.set_register("fstat", rng.getrandbits(16) & ~0x3800 | rng.randrange(8) << 11)
    context.set_register("fop", rng.getrandbits(11))
    context.set_register("fioff", rng.getrandbits(48))
    context.set_register("fooff", rng.getrandbits(48))
    context.set_register("mxcsr", rng.getrandbits(16))
    for name in ST:
        context.set_register(name, rng.getrandbits(80))
    for name in XMM:
        context.set_register(name, rng.getrandbits(128))
    context.set_register("ftag", rng.choice((0x0000, 0xFFFF, 0x5A5A, 0xC03F, rng.getrandbits(16))))


def fxsave_one_by_one(context) -> bytes:
    """The FXSAVE image as the manuals lay it out, from the registers read one by one."""
    tag = context.get_register("ftag")
    valid = sum(1 << i for i in range(8) if (tag >> (2 * i)) & 3 != 3)
    image = bytearray(FXSAVE_SIZE)
    struct.pack_into(
        "<HHBxHQQII", image, 0, context.get_register("fctrl"), context.get_register("fstat"), valid,
        context.get_register("fop"), context.get_register("fioff"), context.get_register("fooff"),
        context.get_register("mxcsr"), 0xFFFF,
    )  # fmt: skip
    for i, name in enumerate(ST):
        image[32 + 16 * i : 42 + 16 * i] = context.get_register(name).to_bytes(10, "little")
    for i, name in enumerate(XMM):
        image[160 + 16 * i : 176 + 16 * i] = context.get_register(name).to_bytes(16, "little")
    return bytes(image)


@pytest.mark.parametrize("seed", range(6))
def test_the_fpu_image_is_what_the_registers_hold(context, seed):
    _machine, ctx = context
    scramble_fpu(ctx, random.Random(seed))
    assert ctx.fpu_state() == fxsave_one_by_one(ctx)


@pytest.mark.parametrize("seed", range(6))
def test_an_fpu_image_loads_back_as_it_was(context, seed):
    _machine, ctx = context
    scramble_fpu(ctx, random.Random(seed))
    image = ctx.fpu_state()
    ctx.reset_fpu_state()
    assert ctx.fpu_state() == INITIAL_FXSAVE
    ctx.set_fpu_state(image)
    assert ctx.fpu_state() == image
    assert fxsave_one_by_one(ctx) == image


def test_an_fpu_image_the_cpu_would_refuse_is_a_value_error(context):
    _machine, ctx = context
    bad = bytearray(INITIAL_FXSAVE)
    struct.pack_into("<I", bad, 24, 0x1_0000)  # a reserved MXCSR bit
    with pytest.raises(ValueError, match="reserved MXCSR"):
        ctx.set_fpu_state(bytes(bad))


def test_registers_read_into_a_record_and_loaded_from_it(context):
    machine, ctx = context
    names = ("rip", "rsp", "rax", "r11", "rflags")
    # a record with gaps and a template the registers must not disturb
    fields = [(name, 16 + 12 * i) for i, name in enumerate(names)] + [("fpu", 128)]
    image = machine.register_image(fields, 128 + FXSAVE_SIZE + 8, b"\xaa" * 16)
    scramble_fpu(ctx, random.Random(7))
    block = image.read(ctx)
    regs = ctx.user_registers()
    assert block[:16] == b"\xaa" * 16
    for name, offset in fields[:-1]:
        assert struct.unpack_from("<Q", block, offset)[0] == regs[name]
    assert bytes(block[128 : 128 + FXSAVE_SIZE]) == ctx.fpu_state()

    untouched = {name: value for name, value in regs.items() if name not in names}
    values = {"rip": 0x401000, "rsp": 0x7FFF_0000_1238, "rax": (1 << 64) - 5, "r11": 0x1234, "rflags": 0x246}
    for name, offset in fields[:-1]:
        struct.pack_into("<Q", image.buffer, offset, values[name])
    image.buffer[128 : 128 + FXSAVE_SIZE] = INITIAL_FXSAVE
    image.write(ctx)
    regs = ctx.user_registers()
    assert {name: regs[name] for name in names} == values
    assert ctx.fpu_state() == INITIAL_FXSAVE
    assert {name: regs[name] for name in untouched} == untouched
    assert set(regs) == set(USER_REGISTERS)


def test_inside_a_system_call_the_image_holds_where_the_thread_resumes(context):
    """In the syscall hook the engine's rip is the syscall instruction; the image holds the
    address after it (2 bytes on), both ways, with the FPU image moved alongside."""
    machine, ctx = context
    if ctx.live is None:
        pytest.skip("a saved thread is inside no system call")
    image = machine.register_image([("rip", 0), ("rax", 8), ("fpu", 16)], 16 + FXSAVE_SIZE)
    scramble_fpu(ctx, random.Random(3))
    ctx.pc = 0x40_1000
    ctx.live.in_syscall = True
    try:
        block = image.read(ctx)
        assert struct.unpack_from("<Q", block, 0)[0] == 0x40_1002
        assert bytes(block[16 : 16 + FXSAVE_SIZE]) == fxsave_one_by_one(ctx)
        struct.pack_into("<QQ", image.buffer, 0, 0x40_2000, 77)
        image.buffer[16 : 16 + FXSAVE_SIZE] = INITIAL_FXSAVE
        image.write(ctx)
        assert ctx.pc == 0x40_1FFE  # the engine's, which adds 2 when the hook returns
    finally:
        ctx.live.in_syscall = False
    assert ctx.user_registers()["rax"] == 77
    assert ctx.fpu_state() == INITIAL_FXSAVE


def test_a_refused_fpu_image_moves_nothing(context):
    machine, ctx = context
    image = machine.register_image([("rax", 0), ("fpu", 8)], 8 + FXSAVE_SIZE)
    before = ctx.user_registers()["rax"]
    bad = bytearray(INITIAL_FXSAVE)
    struct.pack_into("<I", bad, 24, 0x2_0000)
    image.buffer[:8] = (before + 1).to_bytes(8, "little")
    image.buffer[8 : 8 + FXSAVE_SIZE] = bad
    with pytest.raises(ValueError, match="reserved MXCSR bits set: 0x20000"):
        image.write(ctx)
    assert ctx.user_registers()["rax"] == before
