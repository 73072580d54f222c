"""Dynamic programs from the host's userland: ``python3 -c pass`` under kernkit, qemu-user, natively.

Prints one JSON object on stdout; progress goes to stderr. ``kernkit boot --host-root --
/usr/bin/python3 -c pass`` is timed as a whole command (CPU of the process: Python's start,
assembling and booting the kernel, the run), in deterministic and in fast mode, beside the same
program under qemu-user and natively, in one run; medians of ``--repeat``. In-process runs give
the instruction count, ``kernel.run()`` alone, and what a second ``python3 -c pass`` in the same
kernel costs (the interpreter's, the libraries' and python's pages and translated code are still
cached). Missed targets are reported, not judged.

    python bench/dynamic.py            # 5 repetitions
    python bench/dynamic.py --quick    # 1 repetition
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from memory import Skip, child_cpu, qemu, record, timed_run
from run import kernkit_command

PYTHON = "/usr/bin/python3"
PASS = [PYTHON, "-c", "pass"]
TARGETS = {"python3_pass_deterministic_s": ("<=", 3.0)}
NOTES = {
    "python3_pass_deterministic_s": "CPU seconds of `kernkit boot --host-root -- /usr/bin/python3 -c pass` "
    "(the whole command, children included)",
    "python3_pass_fast_s": "the same with --set machine.mode=fast",
    "python3_pass_wall_s": "wall seconds of the deterministic command",
    "python3_pass_run_s": "CPU seconds of kernel.run() alone, in-process (deterministic)",
    "python3_pass_instructions": "guest instructions retired (deterministic; the same every run)",
    "python3_pass_again_s": "CPU seconds of a second python3 -c pass in the same kernel (sh runs "
    "it twice; the difference from running it once)",
    "qemu_user_python3_pass_s": "CPU seconds of qemu-x86_64-static /usr/bin/python3 -c pass",
    "native_python3_pass_s": "CPU seconds of /usr/bin/python3 -c pass on the host",
}


def in_process(argv: Sequence[str]) -> tuple[float, int]:
    """(CPU seconds of kernel.run(), instructions) for ARGV as init, host root in the namespace."""
    settings = {
        "init.program": argv[0],
        "init.name": argv[0],
        "init.args": list(argv[1:]),
        "namespace.host": ["@userland"],
    }
    spent, kernel = timed_run(settings, " ".join(argv))
    return spent, kernel.instructions


def wall(command: Sequence[str]) -> float:
    start = time.perf_counter()
    child_cpu(command)
    return time.perf_counter() - start


class Bench:
    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.values: dict[str, Any] = {}
        self.samples: dict[str, list[float]] = {}
        self.skipped: dict[str, str] = {}
        self.errors: dict[str, str] = {}

    def measure(self, key: str, action: Callable[[], float], digits: int = 3) -> None:
        def median() -> float:
            if not Path(PYTHON).exists():
                raise Skip(f"{PYTHON} is not installed")
            samples = [action() for _ in range(self.repeat)]
            self.samples[key] = [round(s, 4) for s in samples]
            return statistics.median(samples)

        record(self, key, median, digits)

    def run(self) -> None:
        boot_cmd = [*kernkit_command(), "boot", "--host-root"]
        self.measure("python3_pass_deterministic_s", lambda: child_cpu([*boot_cmd, "--", *PASS]))
        self.measure("python3_pass_wall_s", lambda: wall([*boot_cmd, "--", *PASS]))
        fast = [*boot_cmd, "--set", "machine.mode=fast", "--", *PASS]
        self.measure("python3_pass_fast_s", lambda: child_cpu(fast))
        self.measure("qemu_user_python3_pass_s", lambda: child_cpu([qemu(), *PASS]))
        self.measure("native_python3_pass_s", lambda: child_cpu(PASS))
        counts: list[int] = []

        def run_alone() -> float:
            spent, instructions = in_process(PASS)
            counts.append(instructions)
            return spent

        self.measure("python3_pass_run_s", run_alone)
        if counts:
            self.values["python3_pass_instructions"] = counts[0]
            self.values["instructions_same_every_run"] = len(set(counts)) == 1
        twice = ["/bin/sh", "-c", f"{PYTHON} -c pass; {PYTHON} -c pass"]
        once = ["/bin/sh", "-c", f"{PYTHON} -c pass; true"]
        self.measure("python3_pass_again_s", lambda: in_process(twice)[0] - in_process(once)[0])

    def report(self, elapsed: float) -> dict[str, Any]:
        targets = {}
        for key, (sense, threshold) in TARGETS.items():
            value = self.values.get(key)
            met = None if value is None else value <= threshold
            targets[key] = {"value": value, "target": f"{sense} {threshold}", "met": met}
        return {
            "values": self.values,
            "targets": targets,
            "notes": NOTES,
            "samples": self.samples,
            "skipped": self.skipped,
            "errors": self.errors,
            "parameters": {"repeat": self.repeat, "command": " ".join([*kernkit_command(), "boot"])},
            "elapsed_s": round(elapsed, 1),
        }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repetition")
    parser.add_argument("--repeat", type=int, default=None, help="repetitions (default 5, quick 1)")
    options = parser.parse_args(argv)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python caches byte code (run.py)
    bench = Bench(options.repeat or (1 if options.quick else 5))
    start = time.perf_counter()
    bench.run()
    print(json.dumps(bench.report(time.perf_counter() - start), indent=2))
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
