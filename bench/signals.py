"""Signals: the cost of a handled signal, and interval timers that keep time, with the peers.

Prints one JSON object on stdout; progress goes to stderr. Missed targets are reported, not
judged (exit status 0); 1 if a kernkit run itself failed (the reason under "errors").

    python bench/signals.py              # 5 repetitions
    python bench/signals.py --quick      # small counts, 2 repetitions

Round trip: ``sigbench roundtrip N`` (user/sigbench.c) sends ``kill(getpid(), SIGUSR1)`` N times
to a handler that counts; each is a system call, a frame built on the stack, the handler, and
rt_sigreturn. The figure is a slope between two counts, so boot and start-up cancel out:
kernkit times ``kernel.run()`` in-process (host CPU time), the same binary runs natively and under
qemu-user as whole processes (wall time), the medians of the repetitions.

Timer: ``sigbench itimer 1 1`` arms a 1 ms ITIMER_REAL and counts the SIGALRMs until one second
of virtual time has passed; kernkit must count exactly 1,000 every run. The same program under
qemu-user and natively runs in real time, so their counts only come near it.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kernkit.core.assemble import assemble, boot  # noqa: E402
from kernkit.core.programs import packaged_programs_dir  # noqa: E402

TARGETS = {"signal_roundtrip_us": ("<=", 10.0), "itimer_1ms_1s_exact": ("==", True)}
SIGBENCH = packaged_programs_dir() / "sigbench"


def log(message: str) -> None:
    print(f"[signals] {message}", file=sys.stderr, flush=True)


def kernkit_run(args: list[str]) -> tuple[float, str]:
    """(CPU seconds of kernel.run(), stdout) of ``sigbench ARGS`` under the default config."""
    out = io.BytesIO()
    settings = {"init.program": "sigbench", "init.args": args}
    kernel = assemble(None, overrides=settings, stdin=io.BytesIO(), stdout=out, stderr=io.BytesIO())
    boot(kernel)
    gc.collect()
    start = time.process_time()
    status = kernel.run()
    seconds = time.process_time() - start
    if status != 0:
        raise RuntimeError(f"sigbench {' '.join(args)} exited {status}: {out.getvalue().decode()!r}")
    return seconds, out.getvalue().decode()


def host_run(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, timeout=600, check=True)
    return time.perf_counter() - start, run.stdout.decode()


def slope_us(measure, small: int, large: int, repeat: int) -> tuple[float, dict[str, list[float]]]:
    """Microseconds per round trip: (median t(large) - median t(small)) / (large - small)."""
    times: dict[str, list[float]] = {str(small): [], str(large): []}
    for _ in range(repeat):
        for count in (small, large):
            times[str(count)].append(measure(["roundtrip", str(count)])[0])
    per = (statistics.median(times[str(large)]) - statistics.median(times[str(small)])) / (large - small)
    return round(per * 1e6, 3), times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small counts, 2 repetitions")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (default 5, 2 with --quick)")
    args = parser.parse_args()
    repeat = args.repeat or (2 if args.quick else 5)
    small, large = (200, 2_000) if args.quick else (1_000, 20_000)
    qemu = shutil.which("qemu-x86_64-static")
    values: dict[str, Any] = {}
    samples: dict[str, Any] = {}
    errors: dict[str, str] = {}
    skipped: dict[str, str] = {}

    log(f"round trip, kernkit ({small} and {large} signals, {repeat} repetitions)")
    try:
        values["signal_roundtrip_us"], samples["kernkit_roundtrip_s"] = slope_us(
            kernkit_run, small, large, repeat
        )
    except Exception as exc:  # report it, go on with the peers
        errors["signal_roundtrip_us"] = f"{type(exc).__name__}: {exc}"
    peer_large = large * 10
    log("round trip, native and qemu-user")
    values["native_signal_roundtrip_us"], samples["native_roundtrip_s"] = slope_us(
        lambda a: host_run([str(SIGBENCH), *a]), small, peer_large, repeat
    )
    if qemu:
        values["qemu_user_signal_roundtrip_us"], samples["qemu_user_roundtrip_s"] = slope_us(
            lambda a: host_run([qemu, str(SIGBENCH), *a]), small, peer_large, repeat
        )
        if values.get("signal_roundtrip_us"):
            values["roundtrip_vs_qemu_user"] = round(
                values["signal_roundtrip_us"] / values["qemu_user_signal_roundtrip_us"], 2
            )
    else:
        skipped["qemu_user_signal_roundtrip_us"] = "qemu-x86_64-static is not installed"

    log("1 ms ITIMER_REAL for 1 s")
    counts = []
    try:
        for _ in range(max(repeat, 2)):
            counts.append(int(kernkit_run(["itimer", "1", "1"])[1].split()[-2]))
        values["itimer_1ms_1s_signals"] = counts
        values["itimer_1ms_1s_exact"] = all(c == 1000 for c in counts)
    except Exception as exc:
        errors["itimer_1ms_1s_signals"] = f"{type(exc).__name__}: {exc}"
    values["native_itimer_1ms_1s_signals"] = int(host_run([str(SIGBENCH), "itimer", "1", "1"])[1].split()[-2])
    if qemu:
        values["qemu_user_itimer_1ms_1s_signals"] = int(
            host_run([qemu, str(SIGBENCH), "itimer", "1", "1"])[1].split()[-2]
        )

    targets = {}
    for key, (comparison, threshold) in TARGETS.items():
        value = values.get(key)
        met = None if value is None else (value <= threshold if comparison == "<=" else value == threshold)
        targets[key] = {"value": value, "target": f"{comparison} {threshold}", "met": met}
    result = {
        "values": values,
        "targets": targets,
        "parameters": {"small": small, "large": large, "peer_large": peer_large, "repeat": repeat},
        "notes": {
            "signal_roundtrip_us": "kernkit: host CPU seconds of kernel.run() per kill+handler+sigreturn, "
            "slope between two counts; peers: wall time of whole processes, slope between two counts",
            "itimer_1ms_1s_signals": "SIGALRMs counted by sigbench in one second of virtual time (kernkit) "
            "or real time (native, qemu-user), one entry per kernkit run",
        },
        "samples": samples,
        "skipped": skipped,
        "errors": errors,
    }
    json.dump(result, sys.stdout, indent=2)
    print()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
