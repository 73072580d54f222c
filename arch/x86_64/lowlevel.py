"""Direct calls into libunicorn through ctypes, for the hot paths.

The Python binding's ``reg_read`` costs ~3 us and its hook wrappers add two Python frames per
event; syscall entry and TLB fills are frequent enough for that to dominate. This module keeps
prepared ctypes arguments per core and registers raw callbacks.
"""

from __future__ import annotations

import contextlib
import ctypes
import struct
from collections.abc import Callable, Iterator, Sequence

from unicorn import (
    UC_ARCH_X86,
    UC_HOOK_CODE,
    UC_HOOK_INSN,
    UC_HOOK_INTR,
    UC_HOOK_TLB_FILL,
    UC_MODE_64,
    UC_TLB_VIRTUAL,
    Uc,
    UcError,
)
from unicorn import x86_const as x86
from unicorn.unicorn_py3.unicorn import uclib

ARG_REGISTERS = (
    x86.UC_X86_REG_RDI,
    x86.UC_X86_REG_RSI,
    x86.UC_X86_REG_RDX,
    x86.UC_X86_REG_R10,
    x86.UC_X86_REG_R8,
    x86.UC_X86_REG_R9,
)

PR_SET_THP_DISABLE, PR_GET_THP_DISABLE = 41, 42

SYSCALL_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p)
INTR_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint32, ctypes.c_void_p)
CODE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p)


class TlbEntry(ctypes.Structure):
    _fields_ = (("paddr", ctypes.c_uint64), ("perms", ctypes.c_uint32))


TLB_FILL_CB = ctypes.CFUNCTYPE(
    ctypes.c_bool, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_int, ctypes.POINTER(TlbEntry), ctypes.c_void_p
)


@contextlib.contextmanager
def small_host_pages() -> Iterator[None]:
    """Host memory first touched inside the block gets 4 KiB pages rather than huge ones.

    Unicorn asks the host for huge pages for an engine's translation buffer and writes its first
    code there as the engine starts: without this, a 2 MiB host page per core, however little
    code the core ever runs (an idle core of an 8-core machine). Later translations that fill
    the buffer past its first huge-page-sized stretch still get huge pages.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    switched = (
        libc.prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0) == 0 and libc.prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0
    )
    try:
        yield
    finally:
        if switched:
            libc.prctl(PR_SET_THP_DISABLE, 0, 0, 0, 0)


def handle(uc: Uc) -> ctypes.c_void_p:
    return uc._uch  # noqa: SLF001 - the binding exposes no public accessor


def add_hook(
    uc: Uc,
    kind: int,
    callback: ctypes._CFuncPtr,
    *extra: ctypes.c_int,
    begin: int = 1,
    end: int = 0,
    data: int | None = None,
) -> ctypes.c_size_t:
    """Register a raw C callback (keep a reference to ``callback`` while ``uc`` lives) for
    addresses ``begin``..``end`` (all when begin > end), called with ``data`` as its last
    argument; returns the hook's handle."""
    hook = ctypes.c_size_t()
    span = ctypes.c_uint64(begin), ctypes.c_uint64(end)
    function = ctypes.c_void_p(ctypes.cast(callback, ctypes.c_void_p).value)
    status = uclib.uc_hook_add(
        handle(uc), ctypes.byref(hook), kind, function, ctypes.c_void_p(data), *span, *extra
    )
    if status != 0:
        raise RuntimeError(f"uc_hook_add({kind}) failed with unicorn error {status}")
    return hook


def add_code_hook(uc: Uc, callback: CODE_CB, begin: int = 1, end: int = 0) -> ctypes.c_size_t:
    """A callback before each instruction in ``begin``..``end`` (every one when begin > end).
    Code translated before the hook was added does not call it: flush translations."""
    return add_hook(uc, UC_HOOK_CODE, callback, begin=begin, end=end)


def delete_hook(uc: Uc, hook: ctypes.c_size_t) -> None:
    status = uclib.uc_hook_del(handle(uc), hook)
    if status != 0:
        raise RuntimeError(f"uc_hook_del failed with unicorn error {status}")


def add_syscall_hook(uc: Uc, callback: SYSCALL_CB) -> None:
    add_hook(uc, UC_HOOK_INSN, callback, ctypes.c_int(x86.UC_X86_INS_SYSCALL))


def add_intr_hook(uc: Uc, callback: INTR_CB) -> None:
    add_hook(uc, UC_HOOK_INTR, callback)


def add_tlb_fill_hook(uc: Uc, callback: TLB_FILL_CB) -> None:
    add_hook(uc, UC_HOOK_TLB_FILL, callback)


def unchecked(function: ctypes._CFuncPtr) -> ctypes._CFuncPtr:
    """``function`` without declared argument types. ctypes then converts nothing per call,
    which halves the cost of a register access (0.6 -> 0.3 us, 1.0 -> 0.4 us for a batch): the
    callers here pass ready-made C values (the engine handle as c_void_p, arrays, references,
    small ints for register ids and counts)."""
    bare = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.cast(function, ctypes.c_void_p).value)
    bare.argtypes = None
    return bare


class RegisterBlock:
    """A fixed list of registers moved in one C call, as the bytes of an array of u64 in the
    list's order (the layout of a saved-register record such as the vm_trapframe's head)."""

    def __init__(self, uc: Uc, registers: Sequence[int]) -> None:
        n = len(registers)
        self.values = (ctypes.c_uint64 * n)()
        self.size = ctypes.sizeof(self.values)
        base, size = ctypes.addressof(self.values), ctypes.sizeof(ctypes.c_uint64)
        self._args = (
            handle(uc),
            (ctypes.c_int * n)(*registers),
            (ctypes.c_void_p * n)(*[base + i * size for i in range(n)]),
            n,
        )
        self._read = unchecked(uclib.uc_reg_read_batch)
        self._write = unchecked(uclib.uc_reg_write_batch)

    def read(self) -> bytes:
        self._read(*self._args)
        return bytes(self.values)

    def write(self, raw: bytes) -> None:
        """Load the registers from ``raw`` (at least ``size`` bytes; only those are used)."""
        ctypes.memmove(self.values, raw, self.size)
        self._write(*self._args)


class Registers:
    """Prepared single and batch register access for one Uc instance."""

    def __init__(self, uc: Uc) -> None:
        uch = handle(uc)
        self._value = ctypes.c_uint64()
        self._value_ref = ctypes.byref(self._value)
        self._read = unchecked(uclib.uc_reg_read)
        self._write = unchecked(uclib.uc_reg_write)
        self._uch = uch
        # one array, so that slicing it gives the argument values as ints in one C call
        self._args = (ctypes.c_uint64 * len(ARG_REGISTERS))()
        base, size = ctypes.addressof(self._args), ctypes.sizeof(ctypes.c_uint64)
        self._batches = []
        for n in range(len(ARG_REGISTERS) + 1):
            ids = (ctypes.c_int * max(n, 1))(*ARG_REGISTERS[:n])
            ptrs = (ctypes.c_void_p * max(n, 1))(*[base + i * size for i in range(n)])
            self._batches.append((ids, ptrs, n))
        self._read_batch = unchecked(uclib.uc_reg_read_batch)

    def read(self, reg: int) -> int:
        self._read(self._uch, reg, self._value_ref)
        return self._value.value

    def write(self, reg: int, value: int) -> None:
        self._value.value = value & 0xFFFF_FFFF_FFFF_FFFF
        self._write(self._uch, reg, self._value_ref)

    def fast_access(self) -> tuple:
        """(uc_reg_read, uc_reg_write, engine, value cell, its reference) for inlined access."""
        return self._read, self._write, self._uch, self._value, self._value_ref

    def syscall_args(self, count: int) -> list[int]:
        """The first ``count`` syscall argument registers (rdi, rsi, rdx, r10, r8, r9)."""
        if count == 0:
            return []
        ids, ptrs, n = self._batches[count]
        self._read_batch(self._uch, ids, ptrs, n)
        return self._args[:count]


class RegisterBatch:
    """Registers of mixed sizes (up to 16 bytes each) read or written in one C call, on a live
    engine or on a saved context, each at its own offset of one byte image (``cells``): for
    signal frames, which save and restore the whole user state (general registers, x87, SSE)
    at once, straight from and to the layout the frame uses. Without offsets, the registers
    sit 16 bytes apart in the order given."""

    def __init__(
        self,
        registers: Sequence[tuple[int, int]],
        offsets: Sequence[int] | None = None,
        size: int | None = None,
    ) -> None:
        n = len(registers)
        self.sizes = [size for _, size in registers]
        self.offsets = list(offsets) if offsets is not None else [16 * i for i in range(n)]
        self.cells = (ctypes.c_uint8 * (size or 16 * n))()
        base = ctypes.addressof(self.cells)
        self._args = (
            (ctypes.c_int * n)(*[reg for reg, _ in registers]),
            (ctypes.c_void_p * n)(*[base + offset for offset in self.offsets]),
            n,
        )
        self._words = struct.Struct("<" + "Q8x" * n)
        self._live_read = unchecked(uclib.uc_reg_read_batch)
        self._blob_read = unchecked(uclib.uc_context_reg_read_batch)
        self._live_write = unchecked(uclib.uc_reg_write_batch)
        self._blob_write = unchecked(uclib.uc_context_reg_write_batch)

    def load(self, uch: object | None, blob: object | None) -> None:
        """Read the registers into ``cells``, from the engine ``uch`` or, when it is None, from
        the saved context ``blob``."""
        if uch is not None:
            self._live_read(uch, *self._args)
        else:
            self._blob_read(blob, *self._args)

    def store(self, uch: object | None, blob: object | None) -> None:
        """Write the registers from ``cells`` (in the order given: an x87 status word before
        the stack registers it makes relative)."""
        if uch is not None:
            self._live_write(uch, *self._args)
        else:
            self._blob_write(blob, *self._args)

    def words(self, uch: object | None, blob: object | None) -> tuple[int, ...]:
        """The values as integers, for a batch of 8-byte registers."""
        self.load(uch, blob)
        return self._words.unpack_from(self.cells)

    def write_words(self, uch: object | None, blob: object | None, values: Sequence[int]) -> None:
        """Set a batch of 8-byte registers to ``values`` (unsigned 64-bit integers)."""
        self._words.pack_into(self.cells, 0, *values)
        self.store(uch, blob)


# --- calibration of fields the binding does not expose --------------------------------------

_offsets: dict[str, int] = {}
_cpuid: dict[tuple[int, int], tuple[int, int, int, int]] = {}


def cpuid(leaf: int, subleaf: int = 0) -> tuple[int, int, int, int]:
    """(eax, ebx, ecx, edx) of CPUID ``leaf``/``subleaf`` on the CPU model the cores emulate
    (Unicorn's default, which every core runs), asked once of a scratch engine."""
    key = (leaf, subleaf)
    if key not in _cpuid:
        uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.mem_map(0x1000, 0x1000)
        uc.mem_write(0x1000, b"\x0f\xa2")  # cpuid
        uc.reg_write(x86.UC_X86_REG_RAX, leaf)
        uc.reg_write(x86.UC_X86_REG_RCX, subleaf)
        uc.emu_start(0x1000, 0x1002)
        registers = (x86.UC_X86_REG_RAX, x86.UC_X86_REG_RBX, x86.UC_X86_REG_RCX, x86.UC_X86_REG_RDX)
        _cpuid[key] = tuple(uc.reg_read(r) & 0xFFFF_FFFF for r in registers)  # type: ignore[assignment]
    return _cpuid[key]


def _readable(address: int, wanted: int) -> int:
    """How many of ``wanted`` bytes from ``address`` lie inside one readable host mapping."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                span, perms = line.split()[:2]
                start, end = (int(part, 16) for part in span.split("-"))
                if start <= address < end and perms.startswith("r"):
                    return min(wanted, end - address)
    except OSError:
        pass
    return min(wanted, 4096 - (address & 4095))  # the rest of its page is certainly mapped


def fault_address_offset() -> int | None:
    """Byte offset, inside the engine's state, of the exact address of the last access a TLB
    fill refused (the fill hook itself is only told the page). None if this build keeps none.

    Found by refusing a read of a known odd address on a scratch engine and searching the
    engine's state for it; checked again with another address."""
    if "fault_address" not in _offsets:
        _offsets["fault_address"] = _calibrate_fault_address()
    return _offsets["fault_address"]


def _calibrate_fault_address() -> int | None:
    def probe(address: int) -> list[int]:
        uc = Uc(UC_ARCH_X86, UC_MODE_64)
        uc.ctl_set_tlb_mode(UC_TLB_VIRTUAL)
        uc.mem_map(0, 0x4000)
        uc.mem_write(0x1000, b"\x48\xa1" + struct.pack("<Q", address) + b"\xf4")  # movabs rax, [address]

        def fill(_uch: int, vaddr: int, _access: int, entry, _data: int) -> bool:  # noqa: ANN001
            if vaddr >= 0x4000:
                return False
            entry.contents.paddr, entry.contents.perms = vaddr, 7
            return True

        callback = TLB_FILL_CB(fill)
        add_tlb_fill_hook(uc, callback)
        with contextlib.suppress(UcError):  # the refused read ends the run
            uc.emu_start(0x1000, 0x3000, count=4)
        base = ctypes.cast(handle(uc), ctypes.c_void_p).value
        raw = ctypes.string_at(base, _readable(base, 1 << 16))
        needle = struct.pack("<Q", address)
        found, at = [], raw.find(needle)
        while at >= 0:
            if at % 8 == 0:
                found.append(at)
            at = raw.find(needle, at + 1)
        return found

    first, second = probe(0x1357_9BDF_0247), probe(0x2468_ACE0_1359)
    common = sorted(set(first) & set(second))
    return common[0] if common else None


def fault_address_reader(uc: Uc) -> Callable[[], int | None]:
    """A function returning the exact address of the access the last refused TLB fill was for
    (None when this unicorn build does not keep it where kernkit can find it)."""
    offset = fault_address_offset()
    if offset is None:
        return lambda: None
    cell = ctypes.c_uint64.from_address(ctypes.cast(handle(uc), ctypes.c_void_p).value + offset)
    return lambda: cell.value


def exception_slot_offset() -> int:
    """Byte offset, in a saved context, of the CPU's 'exception being delivered' marker.

    Unicorn never clears it after a hooked exception (unicorn issue #1883), so the next
    exception would arrive as a double fault; writing -1 there acknowledges the first one.
    """
    if "exception" not in _offsets:
        _offsets["exception"] = _calibrate_exception_slot()
    return _offsets["exception"]


def _calibrate_exception_slot() -> int:
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.mem_map(0x1000, 0x4000)
    # mov ax, 0x1234; mov ds, ax: a selector past the GDT limit raises #GP (13), twice
    load = b"\x66\xb8\x34\x12\x8e\xd8"
    uc.mem_write(0x1000, load + load + b"\xf4")
    seen: list[int] = []

    def on_intr(_uch: int, number: int, _data: int) -> None:
        seen.append(number)
        uclib.uc_emu_stop(handle(uc))

    callback = INTR_CB(on_intr)
    add_intr_hook(uc, callback)
    before = uc.context_save()
    uc.emu_start(0x1000, 0x4000, count=2)
    after = uc.context_save()
    a, b = _context_bytes(before), _context_bytes(after)
    candidates = [
        i
        for i in range(0, len(a) - 3, 4)
        if a[i : i + 4] == b"\xff\xff\xff\xff" and b[i : i + 4] == struct.pack("<i", 13)
    ]
    for offset in candidates:
        retry = uc.context_save()
        ctypes.memmove(_context_address(retry) + offset, b"\xff\xff\xff\xff", 4)
        uc.context_restore(retry)
        seen.clear()
        uc.emu_start(0x1000 + len(load), 0x4000, count=2)
        if seen == [13]:
            return offset
        uc.context_restore(after)
    raise RuntimeError("cannot find the pending-exception marker in this unicorn build's context")


def _context_address(context: object) -> int:
    return ctypes.cast(context.context, ctypes.c_void_p).value  # type: ignore[attr-defined]


def _context_bytes(context: object) -> bytes:
    return ctypes.string_at(_context_address(context), context.size)  # type: ignore[attr-defined]


def clear_pending_exception(uc: Uc, scratch: object) -> None:
    """Acknowledge a hooked exception so the next one is delivered as itself."""
    uc.context_update(scratch)
    ctypes.memmove(_context_address(scratch) + exception_slot_offset(), b"\xff\xff\xff\xff", 4)
    uc.context_restore(scratch)
