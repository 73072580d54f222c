"""The two Akaros experiments: thread switch cost and interference, mcp vs rr.

Prints one JSON object on stdout and writes a PNG histogram of the interference gaps beside it
(``--png``, default ``bench/interference.png``); progress goes to stderr.

    python bench/mcp.py                      # both experiments
    python bench/mcp.py --quick              # fewer rounds, shorter interference window

Thread switch: two threads ping-pong N times. uthreads (``uthread_switch``: parlib's user-level
switch on one vcore, no kernel entry) against kernel threads (``pthread_switch``: musl pthreads
and futexes under ``rr``). Cost per switch in virtual cycles (from the guest's rdtsc) and in host
microseconds (the slope between two run lengths, so boot cost cancels out).

Interference: an MCP asks for VCORES vcores and reads the time-stamp counter back to back for a
fixed number of virtual cycles on each; two reads THRESHOLD or more cycles apart are a gap (some
other work ran on that core). The same background load (BACKGROUND single-core spinning
processes) runs beside it, under ``mcp`` and then under ``rr`` with the same machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from kernkit.core.testing import boot_kernel

ROOT = Path(__file__).resolve().parent.parent
BASE = {"kernel__personalities": ["linux", "akaros"], "machine__cores": 4, "machine__memory": "256M"}


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def last_json(output: str) -> dict[str, Any]:
    for line in reversed(output.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"no JSON line in the program's output:\n{output}")


def timed(program: str, *args: str, **settings: Any) -> tuple[float, dict[str, Any]]:
    started = time.perf_counter()
    run = boot_kernel(program, *args, **{**BASE, **settings})
    seconds = time.perf_counter() - started
    if run.status != 0:
        raise RuntimeError(f"{program} {' '.join(args)} exited {run.status}: {run.err.strip()}")
    return seconds, last_json(run.out)


def switch_cost(program: str, small: int, large: int, repeat: int, **settings: Any) -> dict[str, Any]:
    """Host microseconds per switch from the slope between two round counts (best of ``repeat``)."""
    short = min(timed(program, str(small), **settings)[0] for _ in range(repeat))
    best_long, result = min(
        (timed(program, str(large), **settings) for _ in range(repeat)), key=lambda r: r[0]
    )
    switches = 2 * (large - small)
    return {
        "host_us_per_switch": round((best_long - short) / switches * 1e6, 3),
        "virtual_cycles_per_switch": result["cycles_per_switch"],
        "switches": result["switches"],
    }


def interference(policy: str, args: argparse.Namespace) -> dict[str, Any]:
    background = [["spin", str(10**9)] for _ in range(args.background)]
    run = boot_kernel(
        "interference", str(args.threshold), str(args.cycles), str(args.vcores),
        also=background, sched__policy=policy, **BASE,
    )  # fmt: skip
    if run.status != 0:
        raise RuntimeError(f"interference under {policy} exited {run.status}: {run.err.strip()}")
    result = last_json(run.out)
    result["policy"] = policy
    return result


def plot(results: dict[str, dict[str, Any]], threshold: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(8, 4.5), dpi=100)
    width = 0.4
    for offset, (policy, result) in zip((-width / 2, width / 2), results.items(), strict=True):
        histogram = {int(k): v for k, v in result["histogram"].items()}
        buckets = sorted(histogram) or [0]
        axis.bar([b + offset for b in buckets], [histogram.get(b, 0) for b in buckets], width, label=(
            f"{policy}: {result['gaps']} gaps, {result['stolen_cycles']} cycles stolen"
        ))  # fmt: skip
    top = max((int(k) for r in results.values() for k in r["histogram"]), default=0)
    ticks = list(range(top + 1))
    axis.set_xticks(ticks, [f">={threshold << k}" for k in ticks], rotation=45, ha="right")
    axis.set_xlabel("gap length (virtual cycles)")
    axis.set_ylabel("gaps")
    axis.set_title("Interference on an MCP's cores, same background load")
    axis.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, a shorter window")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threshold", type=int, default=200, help="cycles between reads that count as a gap")
    parser.add_argument("--cycles", type=int, default=20_000_000, help="virtual cycles each vcore measures")
    parser.add_argument("--vcores", type=int, default=3)
    parser.add_argument("--background", type=int, default=3, help="spinning SCPs beside the MCP")
    parser.add_argument("--png", type=Path, default=ROOT / "bench" / "interference.png")
    args = parser.parse_args(argv)
    if args.quick:
        args.repeat, args.cycles = 1, 2_000_000
    small, large = (100, 1000) if args.quick else (500, 5000)
    report: dict[str, Any] = {
        "machine": {"cores": BASE["machine__cores"]},
        "settings": vars(args) | {"png": str(args.png)},
    }
    log("thread switch: uthreads (mcp) ...")
    report["uthread_switch"] = switch_cost("uthread_switch", small, large, args.repeat, sched__policy="mcp")
    log("thread switch: kernel threads (rr) ...")
    report["kernel_thread_switch"] = switch_cost(
        "pthread_switch", small, large, args.repeat, sched__policy="rr"
    )
    report["switch_speedup_host"] = round(
        report["kernel_thread_switch"]["host_us_per_switch"] / report["uthread_switch"]["host_us_per_switch"],
        2,
    )
    results = {}
    for policy in ("mcp", "rr"):
        log(f"interference under {policy} ...")
        results[policy] = interference(policy, args)
    report["interference"] = results
    mcp_stolen, rr_stolen = results["mcp"]["stolen_cycles"], results["rr"]["stolen_cycles"]
    report["interference_ratio_rr_over_mcp"] = round(rr_stolen / mcp_stolen, 1) if mcp_stolen else None
    report["claim_order_of_magnitude_less"] = rr_stolen >= 10 * mcp_stolen
    plot(results, args.threshold, args.png)
    report["png"] = str(args.png)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
