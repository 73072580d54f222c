"""Running one cell in-process, and the worker loop that runs cells sent on stdin."""

from __future__ import annotations

import io
import json
import os
import sys
import time
from typing import Any

from kernkit.core.assemble import assemble, boot, resolve_config
from kernkit.core.config import merge_env
from kernkit.core.errors import KernkitError, ProgramError
from kernkit.tools.matrix.hostpeer import HostPeer
from kernkit.tools.matrix.judge import judge

EXCERPT = 2000


class HashOnly:
    """A trace "stream" that keeps nothing: the kernel still hashes every event."""

    def write(self, text: str) -> int:
        return len(text)

    def flush(self) -> None:
        pass


def cell_overrides(cell: dict[str, Any]) -> dict[str, Any]:
    """The config options a cell's kernel is assembled with: the workload's own options, the
    variant's (which win), the program and its arguments, and the instruction budget."""
    workload = cell["workload"]
    overrides = {key: value for key, value in workload["options"]}
    overrides.update(cell["params"])
    overrides["init.program"] = workload["program"]
    overrides["init.args"] = list(workload["args"])
    if workload["argv0"]:
        overrides["init.name"] = workload["argv0"]
    budget = budget_instructions(cell["config"] or None, overrides, workload)
    if budget:
        overrides["kernel.max_instructions"] = budget
    return overrides


def run_cell(cell: dict[str, Any]) -> dict[str, Any]:
    """Boot the cell's kernel, run its workload, judge the result (PASS, FAIL or ERROR; XFAIL
    and XPASS for a workload expected to fail; SKIP, without booting, for one that says why)."""
    workload = cell["workload"]
    if workload["skip"]:
        return {"id": cell["id"], "status": "SKIP", "reason": workload["skip"]}
    overrides = cell_overrides(cell)
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
        peer = HostPeer(workload["host_command"]) if workload["host_command"] else None
        if peer is not None:
            peer.start(kernel)
        status = kernel.run()
    except ProgramError as exc:  # the kernel runs, but not this program: the workload fails
        result["wall_s"] = round(time.perf_counter() - start, 4)
        result["status"], result["reason"] = expected(workload, "FAIL", str(exc))
        return result
    except KernkitError as exc:
        result["reason"] = str(exc)
        result["wall_s"] = round(time.perf_counter() - start, 4)
        return result
    output = out.getvalue().decode(errors="replace") + (peer.output() if peer is not None else "")
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
        enosys={str(number): count for number, count in sorted(kernel.dispatcher.unknown.items())},
    )
    panic = next((m for m in kernel.messages if m.startswith("kernel panic:")), None)
    verdict = judge(workload, status, output)
    result.update(verdict.details)
    if panic is not None:  # never an expected failure: a panic is a kernel bug
        result["status"], result["reason"] = "FAIL", panic
    else:
        result["status"], result["reason"] = expected(workload, verdict.status, verdict.reason)
    return result


def budget_instructions(config: str | None, overrides: dict[str, Any], workload: dict[str, Any]) -> int:
    """The instruction budget: ``max_instructions``, or ``max_virtual_ms`` at the machine's speed;
    none in fast mode, which counts no instructions (``timeout_s`` still holds there)."""
    if not (workload["max_virtual_ms"] or workload["max_instructions"]):
        return 0
    resolved, _ = resolve_config(config, overrides)
    if resolved["machine"].mode != "deterministic":
        return 0
    if workload["max_virtual_ms"]:
        return max(1, int(workload["max_virtual_ms"] * resolved["machine"].ips / 1000))
    return workload["max_instructions"]


def expected(workload: dict[str, Any], status: str, reason: str) -> tuple[str, str]:
    """PASS and FAIL as they are, or XFAIL and XPASS for a workload marked expected-fail."""
    if not workload["xfail"]:
        return status, reason
    if status == "PASS":
        return "XPASS", f"passes, but is marked expected-fail ({workload['xfail']})"
    return "XFAIL", f"{workload['xfail']}: {reason}"


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
