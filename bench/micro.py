"""The micro-figures of docs/architecture.md: what Unicorn's context switch and register reads
cost, a page-table walk in Python, the TLB fills of memtest, and how far a fast-mode stop from
another thread overshoots.

Prints one JSON object on stdout (progress on stderr); exit status 0 (the script measures, it
does not judge).

    python bench/micro.py            # 5 repetitions, the medians
    python bench/micro.py --quick    # fewer iterations, 2 repetitions
    python bench/micro.py --deterministic   # only memtest's TLB fills (the same every run)

- ``context_restore_us``, ``context_update_us``: ``Uc.context_restore`` / ``context_update`` of a
  saved x86-64 context (what switching a core to another thread costs, and saving it after a run)
- ``reg_read_us``: one ``Uc.reg_read`` of RAX through the Python binding (the syscall path reads
  registers in one raw batch call instead)
- ``page_walk_us``: ``arch/x86_64/paging.walk`` of a present page (the TLB fill's walk)
- ``memtest_tlb_fills`` (deterministic), ``tlb_fill_us``, ``tlb_fill_share``: the packaged memtest
  (touches 16 MiB) in the default kernel: the TLB fills that reach the kernel in Python (a page
  not present yet, or a refused access; the native helper fills the others in C), host time per
  such fill including the demand-zero allocation, and their share of ``kernel.run()``
- ``fast_stop_extra``, ``fast_stops``: a bare Unicorn loop of ``inc qword [rbx]`` run
  ``--increments`` times, stopped every 100 us by ``uc_emu_stop`` from a second thread and resumed
  at its pc: increments beyond the count (each an instruction run twice) and stops
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from unicorn import UC_ARCH_X86, UC_MODE_64, UC_PROT_ALL, Uc  # noqa: E402
from unicorn.x86_const import UC_X86_REG_RAX, UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RIP  # noqa: E402

from kernkit.arch.x86_64 import cpu  # noqa: E402
from kernkit.arch.x86_64.paging import X86PageTable, walk  # noqa: E402
from kernkit.core.assemble import assemble, boot  # noqa: E402
from kernkit.core.physmem import PAGE_SIZE, PhysicalMemory  # noqa: E402

#: inc qword [rbx]; dec rcx; jnz back to the inc
LOOP = bytes.fromhex("48ff0348ffc975f8")
CODE, DATA = 0x10000, 0x20000


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def per_call_us(action, count: int) -> float:  # noqa: ANN001
    started = time.perf_counter()
    for _ in range(count):
        action()
    return (time.perf_counter() - started) / count * 1e6


def unicorn_costs(count: int) -> dict[str, float]:
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.mem_map(CODE, PAGE_SIZE, UC_PROT_ALL)
    context = uc.context_save()
    return {
        "context_restore_us": per_call_us(lambda: uc.context_restore(context), count),
        "context_update_us": per_call_us(lambda: uc.context_update(context), count),
        "reg_read_us": per_call_us(lambda: uc.reg_read(UC_X86_REG_RAX), count),
    }


def page_walk_us(count: int) -> float:
    memory = PhysicalMemory(64 * PAGE_SIZE)
    table = X86PageTable(memory)
    table.map(0x40_0000, memory.alloc_frame(), True, False)
    words, root = memory.words, table.root
    cost = per_call_us(lambda: walk(words, root, 0x40_0000), count)
    memory.close()
    return cost


def memtest_fills() -> dict[str, float]:
    """memtest with the kernel's side of the TLB fill wrapped to count and time it."""
    original = cpu.X86Core._fill
    fills, spent = 0, 0.0

    def counted(self, *args):  # noqa: ANN001, ANN002, ANN202
        nonlocal fills, spent
        started = time.perf_counter()
        try:
            return original(self, *args)
        finally:
            spent += time.perf_counter() - started
            fills += 1

    cpu.X86Core._fill = counted
    try:
        streams = {"stdin": io.BytesIO(), "stdout": io.BytesIO(), "stderr": io.BytesIO()}
        kernel = assemble(None, overrides={"init.program": "memtest"}, **streams)
        boot(kernel)
        fills, spent = 0, 0.0  # boot's own fills are not memtest's
        started = time.perf_counter()
        status = kernel.run()
        run = time.perf_counter() - started
        kernel.shutdown()
    finally:
        cpu.X86Core._fill = original
    if status != 0:
        raise RuntimeError(f"memtest exited {status}")
    return {"memtest_tlb_fills": fills, "tlb_fill_us": spent / fills * 1e6, "tlb_fill_share": spent / run}


def fast_stop_overshoot(increments: int, period_s: float = 100e-6) -> dict[str, int]:
    uc = Uc(UC_ARCH_X86, UC_MODE_64)
    uc.mem_map(CODE, PAGE_SIZE, UC_PROT_ALL)
    uc.mem_map(DATA, PAGE_SIZE, UC_PROT_ALL)
    uc.mem_write(CODE, LOOP)
    uc.reg_write(UC_X86_REG_RBX, DATA)
    uc.reg_write(UC_X86_REG_RCX, increments)
    end = CODE + len(LOOP)
    stops, done = 0, threading.Event()

    def stopper() -> None:
        nonlocal stops
        while not done.wait(period_s):
            uc.emu_stop()
            stops += 1

    thread = threading.Thread(target=stopper)
    thread.start()
    pc = CODE
    try:
        while pc != end:
            uc.emu_start(pc, end)
            pc = uc.reg_read(UC_X86_REG_RIP)
    finally:
        done.set()
        thread.join()
    counted = int.from_bytes(uc.mem_read(DATA, 8), "little")
    return {"fast_stop_extra": counted - increments, "fast_stops": stops}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer iterations, 2 repetitions")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (default 5)")
    parser.add_argument("--increments", type=int, default=3_000_000, help="loop count of the fast-stop test")
    parser.add_argument("--deterministic", action="store_true", help="only memtest_tlb_fills")
    args = parser.parse_args(argv)
    if args.deterministic:
        print(json.dumps({"memtest_tlb_fills": memtest_fills()["memtest_tlb_fills"]}))
        return 0
    if (args.repeat is not None and args.repeat < 1) or args.increments < 1:
        parser.error("--repeat and --increments must be positive")
    repeat = args.repeat or (2 if args.quick else 5)
    count = 2_000 if args.quick else 50_000
    samples: dict[str, list[float]] = {}
    for round_ in range(repeat):
        log(f"round {round_ + 1} of {repeat} ...")
        measured = {**unicorn_costs(count), "page_walk_us": page_walk_us(count), **memtest_fills()}
        measured |= fast_stop_overshoot(args.increments // (10 if args.quick else 1))
        for key, value in measured.items():
            samples.setdefault(key, []).append(value)
    report = {key: round(statistics.median(values), 3) for key, values in samples.items()}
    for key in ("memtest_tlb_fills", "fast_stop_extra", "fast_stops"):
        report[key] = int(report[key])
    parameters = {"repeat": repeat, "calls": count, "increments": args.increments}
    report.update(samples=samples, parameters=parameters)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
