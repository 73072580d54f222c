"""The x86-64 registers as GDB knows them (``i386:x86-64``); imports nothing heavy (the
registration record carries it). Where Unicorn keeps each one: ``context.UC_REGISTERS``.

The features and their register order are those GDB's own amd64 Linux targets use (core, sse,
linux, segments), so a plain ``gdb`` needs nothing but ``target remote``: register 16 is rip,
7 is rsp, 6 is rbp.
"""

from __future__ import annotations

from kernkit.core.records import DebugFeature, DebugRegister, DebugTarget

GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", *(f"r{i}" for i in range(8, 16)))
SEGMENTS = ("cs", "ss", "ds", "es", "fs", "gs")
X87_CONTROL = ("fctrl", "fstat", "ftag", "fiseg", "fioff", "foseg", "fooff", "fop")


def _flags(type_id: str, bits: dict[str, int]) -> str:
    fields = "\n".join(
        f'      <field name="{name}" start="{bit}" end="{bit}"/>' for name, bit in bits.items()
    )
    return f'    <flags id="{type_id}" size="4">\n{fields}\n    </flags>'


EFLAGS_BITS = {
    "CF": 0, "PF": 2, "AF": 4, "ZF": 6, "SF": 7, "TF": 8, "IF": 9, "DF": 10, "OF": 11,
    "NT": 14, "RF": 16, "VM": 17, "AC": 18, "VIF": 19, "VIP": 20, "ID": 21,
}  # fmt: skip
MXCSR_BITS = {
    "IE": 0, "DE": 1, "ZE": 2, "OE": 3, "UE": 4, "PE": 5, "DAZ": 6, "IM": 7, "DM": 8,
    "ZM": 9, "OM": 10, "UM": 11, "PM": 12, "FZ": 15,
}  # fmt: skip

_VECTOR_TYPES = """    <vector id="v4f" type="ieee_single" count="4"/>
    <vector id="v2d" type="ieee_double" count="2"/>
    <vector id="v16i8" type="int8" count="16"/>
    <vector id="v8i16" type="int16" count="8"/>
    <vector id="v4i32" type="int32" count="4"/>
    <vector id="v2i64" type="int64" count="2"/>
    <union id="vec128">
      <field name="v4_float" type="v4f"/>
      <field name="v2_double" type="v2d"/>
      <field name="v16_int8" type="v16i8"/>
      <field name="v8_int16" type="v8i16"/>
      <field name="v4_int32" type="v4i32"/>
      <field name="v2_int64" type="v2i64"/>
      <field name="uint128" type="uint128"/>
    </union>
"""


def _gpr_type(name: str) -> str:
    return {"rbp": "data_ptr", "rsp": "data_ptr"}.get(name, "int64")


CORE = DebugFeature(
    "org.gnu.gdb.i386.core",
    [
        *(DebugRegister(name, 64, _gpr_type(name)) for name in GPRS),
        DebugRegister("rip", 64, "code_ptr"),
        DebugRegister("eflags", 32, "i386_eflags"),
        *(DebugRegister(name, 32, "int32") for name in SEGMENTS),
        *(DebugRegister(f"st{i}", 80, "i387_ext") for i in range(8)),
        *(DebugRegister(name, 32, "int", "float") for name in X87_CONTROL),
    ],
    _flags("i386_eflags", EFLAGS_BITS),
)
SSE = DebugFeature(
    "org.gnu.gdb.i386.sse",
    [
        *(DebugRegister(f"xmm{i}", 128, "vec128") for i in range(16)),
        DebugRegister("mxcsr", 32, "i386_mxcsr", "vector"),
    ],
    _VECTOR_TYPES + _flags("i386_mxcsr", MXCSR_BITS),
)
LINUX = DebugFeature("org.gnu.gdb.i386.linux", [DebugRegister("orig_rax", 64, "int", "system")])
SEGMENT_BASES = DebugFeature(
    "org.gnu.gdb.i386.segments", [DebugRegister("fs_base", 64, "int"), DebugRegister("gs_base", 64, "int")]
)

DEBUG_TARGET = DebugTarget("i386:x86-64", [CORE, SSE, LINUX, SEGMENT_BASES], expedite=("rbp", "rsp", "rip"))
