"""VM exits per second and guest MIPS, in one run (docs/vmm.md).

Prints one JSON object on stdout; progress goes to stderr. Missed targets are reported, not
judged (exit status 0); 1 if a run itself failed (the reason under "errors").

    python bench/vmm.py                  # 5 repetitions
    python bench/vmm.py --quick          # small counts, 2 repetitions
    python bench/vmm.py --profile        # also the top of a cProfile of the exit path (stderr)

Exits: ``vmmcheck /bin/badguest out N`` (user/vmm/vmmcheck.c, user/guest/badguest.c): the guest
makes N OUTs to port 0x80, each an exit to the user-space VMM, which resumes the guest from the
trapframe it got (a port I/O round trip through vmm_run). MIPS: ``vmmcheck /bin/badguest spin N``
runs user/spin.c's loop in the guest; the packaged ``spin N`` runs the same loop as an ordinary
process of the same kernel. Every figure is a slope between two counts (the fastest of the
repetitions, as in bench/mcp.py: the host is shared and slowed runs are noise, not cost;
``kernel.run()`` timed alone), so boot and the VMM's set-up cancel out.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kernkit.core.assemble import assemble, boot  # noqa: E402
from kernkit.plugins.vmm import read_vmexits  # noqa: E402

CONFIG = ROOT / "configs" / "vmm.toml"
TARGETS = {"vm_exits_per_s": (">=", 50_000.0), "guest_mips_ratio": (">=", 0.8)}
NOTES = {
    "vm_exits_per_s": "exits reflected to the user VMM per host second: (N_large - N_small) / "
    "(t_large - t_small) of vmmcheck out N (one OUT per exit, the VMM resumes each)",
    "guest_mips": "guest instructions per host microsecond in vmmcheck spin N (slope)",
    "process_mips": "the same loop as an ordinary process (spin N) on the same kernel (slope)",
    "vm_exits_per_cpu_s": "the same per second of this process's CPU time (less sensitive to a "
    "shared host than the wall-clock figure, which is the target's)",
    "guest_mips_ratio": "guest_mips / process_mips (target: the guest within 20%)",
}


#: The figures, each a number or None when its run had no slope (see "unmeasured").
FIGURES = (
    "vm_exits_per_s",
    "us_per_exit",
    "vm_exits_per_cpu_s",
    "guest_mips",
    "process_mips",
    "guest_mips_ratio",
)


class BenchError(Exception):
    pass


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def run(program: str, *args: str) -> tuple[tuple[float, float], int, str, Any]:
    """((wall, CPU) seconds of kernel.run(), instructions, stdout, kernel) of one vmm.toml kernel."""
    out, err = io.BytesIO(), io.BytesIO()
    settings = {"init.program": program, "init.args": list(args)}
    kernel = assemble(CONFIG, overrides=settings, stdin=io.BytesIO(), stdout=out, stderr=err)
    boot(kernel)
    gc.collect()
    start, cpu = time.perf_counter(), time.process_time()
    status = kernel.run()
    seconds = time.perf_counter() - start, time.process_time() - cpu
    if status != 0:
        raise BenchError(f"{program} {' '.join(args)} exited {status}: {err.getvalue().decode()[-500:]}")
    return seconds, kernel.instructions, out.getvalue().decode(), kernel


def exits_run(n: int) -> tuple[tuple[float, float], int]:
    seconds, _, out, kernel = run("vmmcheck", "/bin/badguest", "out", str(n))
    if f"vmmcheck: guest exited with status 0 after {n + 1} exits" not in out:
        raise BenchError(f"vmmcheck out {n}: unexpected output {out!r}")
    io_row = next(row for row in read_vmexits(kernel, kernel.init).splitlines() if row.startswith("io "))
    if int(io_row.split()[2]) != n:
        raise BenchError(f"vmmcheck out {n}: {io_row.split()[2]} I/O exits reflected, expected {n}")
    return seconds, n


def spin_run(where: str, n: int) -> tuple[tuple[float, float], int]:
    if where == "guest":
        seconds, instructions, out, _ = run("vmmcheck", "/bin/badguest", "spin", str(n))
        expected = "vmmcheck: guest exited with status 0 after 1 exits"
    else:
        seconds, instructions, out, _ = run("spin", str(n))
        expected = f"spin {n} result"
    if expected not in out:
        raise BenchError(f"{where} spin {n}: unexpected output {out!r}")
    return seconds, instructions


def slopes(
    measures: dict[str, Any],
    counts: dict[str, tuple[int, int]],
    repeat: int,
    samples: dict[str, Any],
    unmeasured: dict[str, str],
) -> dict[str, tuple[float, float, int]]:
    """Per key, (wall seconds, CPU seconds, units), each large - small, the fastest runs, from
    ``measure(n) -> ((wall, cpu), units)``; the repetitions interleave every key, so a busy
    moment of the host hits them all. A key whose large run was not the slower (a busy host and
    small counts) has no slope: it goes to ``unmeasured`` with the reason instead."""
    runs: dict[str, dict[int, list[Any]]] = {k: {n: [] for n in counts[k]} for k in measures}
    for round_ in range(repeat):
        for key, measure in measures.items():
            log(f"{key}: {counts[key][0]} / {counts[key][1]}, round {round_ + 1} of {repeat} ...")
            for n in counts[key]:
                runs[key][n].append(measure(n))
    result = {}
    for key, by_count in runs.items():
        small, large = counts[key]
        samples[key] = {
            clock: [[s[i] for s, _ in by_count[n]] for n in (small, large)]
            for i, clock in enumerate(("wall", "cpu"))
        }
        wall, cpu = (min(samples[key][c][1]) - min(samples[key][c][0]) for c in ("wall", "cpu"))
        if wall <= 0 or cpu <= 0:
            unmeasured[key] = "the large run was not slower than the small one (a busy host?); raise counts"
            continue
        result[key] = wall, cpu, by_count[large][0][1] - by_count[small][0][1]
    return result


def profile_exits(n: int) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    exits_run(n)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(25)
    log(stream.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts, 2 repetitions")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions per count (default 5)")
    parser.add_argument("--exits", type=int, default=None, help="OUTs in the large exit run (default 40000)")
    parser.add_argument("--spin", type=int, default=None, help="loop rounds, large spin runs (default 5M)")
    parser.add_argument("--profile", action="store_true", help="cProfile one exit run, top 25 on stderr")
    args = parser.parse_args(argv)
    if min(v for v in (args.repeat, args.exits, args.spin, 1) if v is not None) < 1:
        parser.error("--repeat, --exits and --spin must be positive")
    repeat = args.repeat or (2 if args.quick else 5)
    exits_large = args.exits or (2000 if args.quick else 40_000)
    spin_large = args.spin or (200_000 if args.quick else 5_000_000)
    exits_small, spin_small = max(exits_large // 20, 1), max(spin_large // 20, 1)
    started = time.perf_counter()
    report: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    errors: dict[str, str] = {}
    unmeasured: dict[str, str] = {}
    try:
        measures = {
            "exits": exits_run,
            "guest_spin": lambda n: spin_run("guest", n),
            "process_spin": lambda n: spin_run("process", n),
        }
        counts = {
            "exits": (exits_small, exits_large),
            "guest_spin": (spin_small, spin_large),
            "process_spin": (spin_small, spin_large),
        }
        result = slopes(measures, counts, repeat, samples, unmeasured)
        report.update(dict.fromkeys(FIGURES))
        if "exits" in result:
            wall, cpu, exits = result["exits"]
            report["vm_exits_per_s"] = round(exits / wall)
            report["us_per_exit"] = round(wall / exits * 1e6, 2)
            report["vm_exits_per_cpu_s"] = round(exits / cpu)
        mips = {
            w: result[f"{w}_spin"][2] / result[f"{w}_spin"][0] / 1e6
            for w in ("guest", "process")
            if f"{w}_spin" in result
        }
        for where, value in mips.items():
            report[f"{where}_mips"] = round(value, 1)
        if len(mips) == 2:
            report["guest_mips_ratio"] = round(mips["guest"] / mips["process"], 3)
    except BenchError as exc:
        errors["bench"] = str(exc)
    if args.profile and not errors:
        profile_exits(exits_large)
    targets = {}
    for key, (op, threshold) in TARGETS.items():
        value = report.get(key)
        met = None if value is None else value >= threshold
        targets[key] = {"value": value, "target": f"{op} {threshold:g}", "met": met}
    report.update(
        targets=targets,
        errors=errors,
        unmeasured=unmeasured,
        samples=samples,
        notes=NOTES,
        parameters={"repeat": repeat, "exits": [exits_small, exits_large], "spin": [spin_small, spin_large]},
        elapsed_s=round(time.perf_counter() - started, 1),
    )
    print(json.dumps(report, indent=2))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
