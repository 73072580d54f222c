"""Counting a core's instructions by translated blocks, and ending its runs between blocks.

Unicorn translates guest code into blocks (straight-line code up to a branch, a system call or
a page's end) and can call a hook as each block starts. The hook here adds the block's
instruction count (Unicorn's own figure for that block, asked once and cached) and ends the run
*before* a block once the run has used its budget (``limit``: the first block boundary at or
after it), before a block that would take it past a hard limit (``hard``: the caller then runs
the last few instructions one by one), or when another thread asked for a stop (``preempt``:
fast mode's timer). A stop that lands inside a block (a fault, a breakpoint) retired only the
instructions before the pc, which :meth:`BlockCounter.retired` finds by decoding that block.

Block boundaries depend only on the code and where execution entered it, so a run stops at the
same instruction every time: runs stay reproducible at close to the engine's full speed (see
docs/architecture.md, "Counting instructions"). The hook is C (``_native.c``, see native.py);
without it a Python hook with the same behaviour runs, much slower.
"""

from __future__ import annotations

import ctypes
import mmap
from bisect import bisect_left
from collections.abc import Callable

from unicorn import UC_CTL_IO_READ_WRITE, UC_CTL_TB_REQUEST_CACHE, UC_HOOK_BLOCK, UC_HOOK_EDGE_GENERATED, Uc
from unicorn.unicorn_py3.unicorn import uclib

from kernkit.arch.x86_64 import lowlevel
from kernkit.arch.x86_64.native import SLOTS, BlockState, Slot, UcTb, address, native_library

RESOLVE_CB = ctypes.CFUNCTYPE(ctypes.c_uint32, ctypes.c_uint64, ctypes.c_uint32)
BLOCK_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64, ctypes.c_uint32, ctypes.c_void_p)
EDGE_CB = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.POINTER(UcTb), ctypes.POINTER(UcTb), ctypes.c_void_p)
#: No limit: a budget no run reaches.
NEVER = (1 << 64) - 1
#: BlockState.stopped: why the hook ended the run (a scan: before a block the scan asked for).
STOPPED_BUDGET, STOPPED_PREEMPT, STOPPED_SCAN = 1, 2, 3
#: uc_ctl's control word for UC_CTL_TB_REQUEST_CACHE (two arguments, read and write).
REQUEST_CACHE = ctypes.c_int32(UC_CTL_TB_REQUEST_CACHE | 2 << 26 | UC_CTL_IO_READ_WRITE << 30).value


class BlockCounter:
    """One core's block hook and its state. ``read_code(address, length)`` reads the guest's
    code at a virtual address of the running address space (for stops inside a block).
    ``scan(pc, size)``, if given, is asked of every block the first time the hook meets it
    (counting or not), before it runs: True ends the run before that block."""

    def __init__(
        self,
        uc: Uc,
        read_code: Callable[[int, int], bytes],
        counting: bool = True,
        scan: Callable[[int, int], bool] | None = None,
    ) -> None:
        self.read_code = read_code
        state = self.state = BlockState()
        state.limit = state.hard = NEVER
        state.tag = 1
        state.counting = int(counting)
        state.stop = address(uclib.uc_emu_stop)
        state.ctl = address(uclib.uc_ctl)
        state.request_cache = REQUEST_CACHE
        self._resolve = RESOLVE_CB(self._count_by_decoding)
        state.resolve = address(self._resolve)
        self._scan = scan
        if scan is not None:
            self._scan_cb = RESOLVE_CB(lambda pc, size: int(scan(pc, size)))
            state.scan = address(self._scan_cb)
        self._offsets: dict[tuple[int, int, int, int], list[int]] = {}
        self._counts: dict[tuple[int, int, int], int] = {}
        data = ctypes.addressof(state)
        library = native_library()
        self.native = library is not None
        if library is not None:
            # the C hook's cache of counts: an anonymous mapping costs memory only where used
            self._slots = mmap.mmap(-1, SLOTS * ctypes.sizeof(Slot))
            state.slots = ctypes.addressof(ctypes.c_char.from_buffer(self._slots))
            hooks = (
                library.kernkit_block_hook,
                library.kernkit_block_translated if scan is None else library.kernkit_block_dropped,
            )
        else:
            on_translated = self._on_translated if scan is None else self._on_dropped
            self._python_hooks = (BLOCK_CB(self._on_block), EDGE_CB(on_translated))
            hooks = self._python_hooks
        lowlevel.add_hook(uc, UC_HOOK_BLOCK, hooks[0], data=data)
        # a block just translated: its count is filled in, or (scanning: the scan must meet
        # every block, code rewritten in place included) its entry dropped
        if counting or scan is not None:
            lowlevel.add_hook(uc, UC_HOOK_EDGE_GENERATED, hooks[1], data=data)

    # --- one run ------------------------------------------------------------------------------

    def start_run(self, limit: int = NEVER, hard: int = NEVER) -> None:
        """Before an emu_start: count from 0, stop at the first block boundary at or after
        ``limit`` and before any block that would pass ``hard``."""
        state = self.state
        state.counted = 0
        state.limit = limit
        state.hard = hard
        state.stopped = 0
        state.icount = 0

    def retired(self, pc: int) -> int:
        """Instructions the run retired, when it ended with the thread's pc at ``pc`` (the next
        instruction to run): every block entered, less the part of the last one from ``pc`` on."""
        state = self.state
        counted, start, icount = state.counted, state.start, state.icount
        if not icount or not start <= pc < start + state.size:
            return counted
        if pc == start:
            return counted - icount
        return counted - icount + bisect_left(self._block_offsets(start, state.size), pc - start)

    def switch_space(self, space: int) -> None:
        """The core now runs address space number ``space`` (counts are cached per space)."""
        self.state.space = space

    def forget(self) -> None:
        """Translations were dropped or code may have changed: count every block afresh."""
        self.state.tag += 1
        self._offsets.clear()
        self._counts.clear()

    # --- decoding (stops inside a block; a count Unicorn could not give) ------------------------

    def _block_offsets(self, start: int, size: int) -> list[int]:
        key = (start, size, self.state.space, self.state.tag)
        offsets = self._offsets.get(key)
        if offsets is None:
            offsets = self._offsets[key] = instruction_offsets(self.read_code(start, size), start)
        return offsets

    def _count_by_decoding(self, pc: int, size: int) -> int:
        try:
            return len(self._block_offsets(pc, size))
        except Exception:  # noqa: BLE001 - called from C: count the block as one instruction
            return 1

    # --- the pure-Python hook (same behaviour as _native.c) ---------------------------------

    def _on_block(self, uch: int, pc: int, size: int, _data: int) -> None:
        state = self.state
        n = 0
        if state.preempt:
            state.preempt = 0
            state.stopped = STOPPED_PREEMPT
        elif state.counting:
            n = self._icount(uch, pc, size)
            if state.counted >= state.limit or state.counted + n > state.hard:
                state.stopped = STOPPED_BUDGET
        elif self._scan is not None:
            self._icount(uch, pc, size)
        state.start = pc
        state.size = size
        if state.stopped:
            state.icount = 0
            uclib.uc_emu_stop(uch)
            return
        state.icount = n
        state.counted += n

    def _icount(self, uch: int, pc: int, size: int) -> int:
        key = (pc, size, self.state.space)
        n = self._counts.get(key)
        if n is None:
            self.state.misses += 1
            tb = UcTb()
            status = uclib.uc_ctl(uch, REQUEST_CACHE, ctypes.c_uint64(pc), ctypes.byref(tb))
            found = status == 0 and tb.pc == pc and tb.size == size
            n = tb.icount if found else self._count_by_decoding(pc, size)
            if self._scan is not None and self._scan(pc, size):
                self.state.stopped = STOPPED_SCAN
            self._counts[key] = n
        return n

    def _on_translated(self, _uch: int, cur: ctypes._Pointer, _prev: ctypes._Pointer, _data: int) -> None:
        tb = cur.contents
        self._counts[(tb.pc, tb.size, self.state.space)] = tb.icount

    def _on_dropped(self, _uch: int, cur: ctypes._Pointer, _prev: ctypes._Pointer, _data: int) -> None:
        tb = cur.contents
        self._counts.pop((tb.pc, tb.size, self.state.space), None)


def instruction_offsets(code: bytes, address: int) -> list[int]:
    """Offsets of the instructions in ``code`` (x86-64 at ``address``), in order."""
    from capstone import CS_ARCH_X86, CS_MODE_64, Cs

    decoder = Cs(CS_ARCH_X86, CS_MODE_64)
    return [at - address for at, _size, _mnemonic, _operands in decoder.disasm_lite(code, address)]
