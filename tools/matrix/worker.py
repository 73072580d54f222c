"""Running one cell in-process, and the worker loop that runs cells sent on stdin."""

from __future__ import annotations

import io
import json
import os
import re
import sys
import time
from typing import Any

from kernkit.core.assemble import assemble, boot, resolve_config
from kernkit.core.config import merge_env
from kernkit.core.errors import KernkitError

EXCERPT = 2000


class HashOnly:
    """A trace "stream" that keeps nothing: the kernel still hashes every event."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def run_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Boot the cell's kernel, run its workload, judge the result (PASS, FAIL or ERROR)."""
    workload = cell["workload"]
    overrides = dict(cell["params"])
    overrides["init.program"] = workload["program"]
    overrides["init.args"] = list(workload["args"])
    budget = budget_instructions(cell["config"] or None, overrides, workload)
    if budget:
        overrides["kernel.max_instructions"] = budget
    result: dict[str, Any] = {"id": cell["id"], "status": "ERROR", "reason": ""}
    out, err, trace = io.BytesIO(), io.BytesIO(), HashOnly()
    start = time.perf_counter()
    try:
        config = cell["config"] or None
        if workload["env"]:
            base, _ = resolve_config(config, overrides)
            overrides["init.env"] = merge_env(base["init"].env, workload["env"])
        kernel = assemble(
            config,
            overrides=overrides,
            stdin=io.BytesIO(workload["stdin"].encode()),
            stdout=out,
            stderr=err,
            trace=trace,
        )
        boot(kernel)
        status = kernel.run()
    except KernkitError as exc:
        result["reason"] = str(exc)
        result["wall_s"] = round(time.perf_counter() - start, 4)
        return result
    output = out.getvalue().decode(errors="replace")
    result.update(
        exit_status=status,
        output=output[:EXCERPT],
        errors=err.getvalue().decode(errors="replace")[:EXCERPT],
        virtual_ns=kernel.elapsed_ns(),
        instructions=kernel.instructions,
        syscalls=kernel.dispatcher.count,
        context_switches=kernel.context_switches,
        trace_hash=kernel.tracer.digest,
        wall_s=round(time.perf_counter() - start, 4),
    )
    result["status"], result["reason"] = judge(workload, status, output)
    return result


def budget_instructions(config: str | None, overrides: dict[str, Any], workload: dict[str, Any]) -> int:
    """The instruction budget: ``max_instructions``, or ``max_virtual_ms`` at the machine's speed."""
    if workload["max_virtual_ms"]:
        resolved, _ = resolve_config(config, overrides)
        return max(1, int(workload["max_virtual_ms"] * resolved["machine"].ips / 1000))
    return workload["max_instructions"]


def judge(workload: dict[str, Any], status: int, output: str) -> tuple[str, str]:
    if status != workload["expect_status"]:
        return "FAIL", f"exit status {status}, expected {workload['expect_status']}"
    if workload["expect_output"] is not None and output != workload["expect_output"]:
        return "FAIL", f"output differs from expect_output ({len(output)} bytes)"
    pattern = workload["expect_output_regex"]
    if pattern is not None and not re.search(pattern, output):
        return "FAIL", f"output does not match {pattern!r}"
    return "PASS", ""


def main() -> int:
    """Read one JSON cell per line on stdin, answer one JSON result per line on stdout.

    Whatever plugins print goes to stderr instead, so it cannot garble the answers."""
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    for line in sys.stdin:
        cell = json.loads(line)
        try:
            result = run_cell(cell)
        except Exception as exc:  # a kernel bug: the cell errs, the worker lives on
            result = {"id": cell["id"], "status": "ERROR", "reason": f"{type(exc).__name__}: {exc}"}
        answers.write(json.dumps(result) + "\n")
        answers.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
