"""The C side of the x86-64 cores' hot paths (``_native.c``): loading it, and its structures.

``_native.c`` is compiled when the package is installed (an optional extension: an install
without a C compiler still works) and loaded with ctypes; Unicorn's functions reach it as
pointers, so it does not link against Unicorn. Without it, the cores run the same logic in
Python (the same results to the byte, slower); ``KERNKIT_PURE_PYTHON=1`` in the environment
chooses that for a kernel booted afterwards.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable
from pathlib import Path

import attrs
from unicorn import UC_HOOK_INSN, UC_HOOK_TLB_FILL, Uc
from unicorn import x86_const as x86
from unicorn.unicorn_py3.unicorn import uclib

from kernkit.arch.x86_64 import lowlevel
from kernkit.core.extensions import extension_path

#: Entries in a core's cache of block counts (a power of two).
SLOTS = 8192


class UcTb(ctypes.Structure):
    _fields_ = (("pc", ctypes.c_uint64), ("icount", ctypes.c_uint16), ("size", ctypes.c_uint16))


class Slot(ctypes.Structure):
    _fields_ = (
        ("pc", ctypes.c_uint64),
        ("space", ctypes.c_uint64),
        ("tag", ctypes.c_uint64),
        ("size", ctypes.c_uint32),
        ("icount", ctypes.c_uint32),
    )


class BlockState(ctypes.Structure):
    """The hook's state (``struct block_state`` in _native.c), shared with Python."""

    _fields_ = (
        ("counted", ctypes.c_uint64),
        ("limit", ctypes.c_uint64),
        ("hard", ctypes.c_uint64),
        ("start", ctypes.c_uint64),
        ("size", ctypes.c_uint32),
        ("icount", ctypes.c_uint32),
        ("preempt", ctypes.c_int32),
        ("stopped", ctypes.c_int32),
        ("space", ctypes.c_uint64),
        ("tag", ctypes.c_uint64),
        ("misses", ctypes.c_uint64),
        ("stop", ctypes.c_void_p),
        ("ctl", ctypes.c_void_p),
        ("request_cache", ctypes.c_int32),
        ("counting", ctypes.c_int32),
        ("resolve", ctypes.c_void_p),
        ("slots", ctypes.c_void_p),
        ("scan", ctypes.c_void_p),
    )


class SyscallState(ctypes.Structure):
    """The C syscall entry's state (``struct syscall_state`` in _native.c)."""

    _fields_ = (
        ("values", ctypes.c_uint64 * 7),
        ("ids", ctypes.c_int32 * 7),
        ("rax", ctypes.c_int32),
        ("read_batch", ctypes.c_void_p),
        ("reg_write", ctypes.c_void_p),
        ("handler", ctypes.py_object),
        ("mode", ctypes.c_int32),
        ("index", ctypes.c_int32),
        ("deterministic", ctypes.c_int32),
        ("batch", ctypes.c_int32),
        ("blocks", ctypes.c_void_p),
        ("core", ctypes.py_object),
        ("calls", ctypes.c_uint64),
        ("kernel", ctypes.py_object),
        ("pending", ctypes.py_object),
        ("flush", ctypes.py_object),
        ("settle", ctypes.py_object),
        ("failed", ctypes.py_object),
        ("stamp", ctypes.py_object),
        ("read", ctypes.py_object),
        ("close", ctypes.py_object),
        ("files_types", ctypes.py_object),
    )


class ImageState(ctypes.Structure):
    """A register image's moves on a running core (``struct image_state`` in _native.c)."""

    _fields_ = (
        ("cells", ctypes.c_void_p),
        ("ids", ctypes.c_void_p),
        ("where", ctypes.c_void_p),
        ("syscall_where", ctypes.c_void_p),
        ("count", ctypes.c_int32),
        ("size", ctypes.c_int32),
        ("fpu", ctypes.c_int32),
        ("rip", ctypes.c_int32),
        ("read_batch", ctypes.c_void_p),
        ("write_batch", ctypes.c_void_p),
    )


class FillState(ctypes.Structure):
    """The C TLB fill's state (``struct fill_state`` in _native.c)."""

    _fields_ = (
        ("words", ctypes.c_void_p),
        ("root", ctypes.c_uint64),
        ("user_limit", ctypes.c_uint64),
        ("slow", ctypes.py_object),
    )


_native: list[ctypes.CDLL | None] = []


def native_library() -> ctypes.CDLL | None:
    """The compiled hook, or None (see kernkit.core.extensions.extension_path; the pure-Python
    path is asked for per call, so a test can switch to it after the library was loaded)."""
    if os.environ.get("KERNKIT_PURE_PYTHON"):
        return None
    if not _native:
        _native.append(_load_native())
    return _native[0]


def _load_native() -> ctypes.CDLL | None:
    origin = extension_path("kernkit.arch.x86_64._native", Path(__file__).with_name("_native.c"))
    if origin is None:
        return None
    try:
        library = ctypes.CDLL(origin)
    except OSError:
        return None
    sizes = {"block": BlockState, "syscall": SyscallState, "image": ImageState, "fill": FillState}
    for name, structure in sizes.items():
        size_of = getattr(library, f"kernkit_{name}_state_size", None)
        if size_of is None:
            return None  # built from another version of the source
        size_of.restype = ctypes.c_size_t
        if size_of() != ctypes.sizeof(structure):
            return None
    return library


def address(function: object) -> int:
    """The C address of a ctypes function or callback."""
    return ctypes.cast(function, ctypes.c_void_p).value


def install_syscall_entry(uc: Uc, handler: Callable[[int], int | None]) -> SyscallState | None:
    """Enter ``handler(number)`` at each ``syscall`` of ``uc`` from C: the argument registers are
    then in the returned state's ``values[1:7]``, and what it returns goes to RAX (None: nothing).
    None (nothing installed) without the native library. Keep the state while ``uc`` lives."""
    library = native_library()
    if library is None:
        return None
    state = SyscallState()
    state.ids[:] = (x86.UC_X86_REG_RAX, *lowlevel.ARG_REGISTERS)
    state.rax = x86.UC_X86_REG_RAX
    state.read_batch = address(uclib.uc_reg_read_batch)
    state.reg_write = address(uclib.uc_reg_write)
    state.handler = handler
    syscall = ctypes.c_int(x86.UC_X86_INS_SYSCALL)
    lowlevel.add_hook(uc, UC_HOOK_INSN, library.kernkit_syscall_hook, syscall, data=ctypes.addressof(state))
    return state


def args_reader(state: SyscallState) -> Callable[[int], tuple[int, ...]]:
    """``read_args(n)`` for calls entered through ``state``: the first ``n`` argument registers
    as read at entry, from C (no Python frame per call). Keep the state while it is used."""
    library = native_library()
    assert library is not None  # there is a state only with the library
    # with the GIL held (a PyDLL function), as it makes Python objects
    make = ctypes.PyDLL(library._name).kernkit_args_reader
    make.restype = ctypes.py_object
    make.argtypes = (ctypes.c_void_p,)
    return make(ctypes.addressof(state))


#: SyscallState.mode: every call to the handler; dispatched in C; dispatched and traced in C.
ENTRY_HANDLER, ENTRY_DISPATCH, ENTRY_TRACED = 0, 1, 2


@attrs.frozen
class EntryDispatch:
    """What the C entry needs to dispatch a call itself (see ``kernkit_entry_dispatch``)."""

    mode: int  # ENTRY_DISPATCH or ENTRY_TRACED
    core: object  # its thread, in_syscall, needs_tb_flush, in_run, run_base, segment_base
    kernel: object  # tracing, _core_used, round_start_ns, ips
    index: int
    deterministic: bool
    blocks: BlockState
    #: settle(thread, number, result) -> RAX's value: after a call that stops the thread, gives
    #: it signals to take or leaves the core to flush its translations
    settle: Callable[[object, int, int | None], int | None]
    #: failed(thread, number, call, args, error) -> RAX's value: after a handler that raised
    failed: Callable[..., int | None]
    stamp: Callable[[int | None], int] | None = None  # Kernel.now, for traced calls
    pending: list | None = None  # the tracer's batch, for traced calls
    flush: Callable[[], None] | None = None
    batch: int = 1
    #: descriptor calls the C does itself in their plainest cases (``native_files``), or None
    files: NativeFiles | None = None


@attrs.frozen
class NativeFiles:
    """A personality's ``read(thread, fd, buf, count)`` and ``close(thread, fd)`` handlers whose
    plainest cases the C entry may do itself (``fast_read`` and ``fast_close`` in _native.c):
    descriptors of a ``channel`` open on a driver of one of ``drivers`` types, whose ``read`` of a
    plain file reads its ``page_cache`` (``chan.aux.inode.data``) and sets its access time as
    Linux's relatime does, and whose ``close`` only counts the inode's opens down (unless it is a
    fifo, ORCLOSE, or the last open of a removed file); ``locks`` is the key of the kernel's data
    whose presence sends closes to the handler (locks to drop)."""

    read: Callable[..., int | None]
    close: Callable[..., int | None]
    channel: type
    drivers: tuple[type, ...]
    page_cache: type
    locks: object


#: The registered handlers (one pair: the C entry stands in for one personality's), see
#: ``native_files``.
_files: list[NativeFiles] = []


def native_files(files: NativeFiles) -> None:
    """Let the C entry do the plainest cases of ``files.read`` and ``files.close`` itself from
    now on (for the cores that set up their entry later); the handlers stay what runs in every
    other case and on the pure-Python path."""
    if _files and _files[0] != files:
        raise ValueError(f"the C entry already does {_files[0].read.__qualname__}'s reads")
    _files[:] = [files]


def registered_files() -> NativeFiles | None:
    """The registered handlers, or None."""
    return _files[0] if _files else None


def dispatch_in_c(state: SyscallState, entry: EntryDispatch) -> None:
    """From now on the C entry of ``state`` looks handlers up and calls them itself (and builds
    the trace records, ENTRY_TRACED), going to its Python handler only for the calls it leaves.
    It counts the calls it dispatched in ``state.calls``, for the caller to add to the
    dispatcher's count."""
    library = native_library()
    assert library is not None  # there is a state only with the library
    init = ctypes.PyDLL(library._name).kernkit_entry_init  # with the GIL held: it makes strings
    if init() != 0:
        raise MemoryError("cannot set up the system call entry")
    for name in ("core", "kernel", "settle", "failed", "index"):
        setattr(state, name, getattr(entry, name))
    state.deterministic = int(entry.deterministic)
    state.blocks = ctypes.addressof(entry.blocks)
    if entry.mode == ENTRY_TRACED:
        assert type(entry.pending) is list and entry.stamp is not None and entry.flush is not None
        state.pending, state.stamp, state.flush = entry.pending, entry.stamp, entry.flush
        state.batch = entry.batch
    if entry.files is not None:
        files = entry.files
        state.read, state.close = files.read, files.close
        state.files_types = (files.channel, tuple(files.drivers), files.page_cache, files.locks)
    state.mode = entry.mode


def image_mover(
    cells: ctypes.Array,
    ids: ctypes.Array,
    where: ctypes.Array,
    syscall_where: ctypes.Array,
    fpu: int,
    rip: int,
) -> tuple[ImageState, Callable[..., int], Callable[..., int]] | None:
    """A register image's moves on a running core in C: (state, read, write), called as
    ``read(engine, state, in_syscall)`` and ``write(...)`` (nonzero: reserved MXCSR bits set,
    nothing moved); see RegisterImage. None without the native library. Keep the arrays (and
    the state) while they are used."""
    library = native_library()
    if library is None:
        return None
    arrays = (ctypes.addressof(a) for a in (cells, ids, where, syscall_where))
    batches = (address(uclib.uc_reg_read_batch), address(uclib.uc_reg_write_batch))
    state = ImageState(*arrays, len(ids), ctypes.sizeof(cells) - 16, fpu, rip, *batches)
    moves = (lowlevel.unchecked(library.kernkit_image_read), lowlevel.unchecked(library.kernkit_image_write))
    return state, *moves


def install_tlb_fill(
    uc: Uc, memory_address: int, user_limit: int, slow: Callable[[int, int, int | None], int | None]
) -> FillState | None:
    """Fill ``uc``'s TLB from C where the page tables (root: the state's ``root``, 0 for none)
    map a page that allows the access; ``slow(vaddr, access, pte)`` decides the rest (``pte``:
    what the walk found, 0 for nothing), returning the frame's address | Unicorn's permission
    bits, or None to refuse, or -1 once it made the page present for the access (the tables
    are then walked again in C). None (nothing installed) without the native library. Keep the
    state while ``uc`` lives."""
    library = native_library()
    if library is None:
        return None
    state = FillState()
    state.words = memory_address
    state.user_limit = user_limit
    state.slow = slow
    library.kernkit_tlb_fill.restype = ctypes.c_bool
    lowlevel.add_hook(uc, UC_HOOK_TLB_FILL, library.kernkit_tlb_fill, data=ctypes.addressof(state))
    return state
