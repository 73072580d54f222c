"""Reading kernkit traces: conversion to Chrome/Perfetto trace-event JSON, and a summary."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from kernkit.core.errors import KernkitError
from kernkit.core.records import TraceStyle
from kernkit.tools.traces.timeline import build, note_name

MACHINE_PID = 0  # Perfetto "process" holding one track (thread) per core
#: Fields each kind of event must have for the tools to use it.
REQUIRED = {
    "run": ("pid", "tid", "core", "start", "end", "stop", "instructions"),
    "syscall": ("pid", "name"),
    "spawn": ("pid",),
    "fork": ("pid",),
}


def read_events(path: Path) -> Iterator[dict[str, Any]]:
    """The events of a JSON-lines trace; KernkitError naming the line for anything else."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise KernkitError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise KernkitError(f"{path}: not a kernkit trace (not UTF-8 text)") from None
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KernkitError(f"{path}:{number}: not a kernkit trace line: {exc.msg}") from None
        if not isinstance(event, dict) or not isinstance(event.get("t"), int) or "ev" not in event:
            raise KernkitError(f"{path}:{number}: not a kernkit trace event (needs an integer 't' and 'ev')")
        missing = [f for f in REQUIRED.get(event["ev"], ()) if f not in event]
        if missing:
            raise KernkitError(f"{path}:{number}: a {event['ev']!r} event without {', '.join(missing)}")
        yield event


def _us(ns: int) -> float:
    return ns / 1000


def to_perfetto(events: Iterable[dict[str, Any]], styles: Mapping[str, TraceStyle]) -> dict[str, Any]:
    """Chrome trace-event JSON: a track per core named after the processes and vcores that ran
    there, what ran when as slices (``procs 1.2``, ``mcp_hello 1.3 vc1``), syscalls as 1 ns
    slices nested in them, kernel messages, core grants, preemptions and other kernel events as
    instants on the core they concern (see :mod:`kernkit.tools.traces.timeline`); ``styles``
    (event kind -> style, from the plugins that emit them) name and place the events."""
    timeline = build(events, styles)
    out: list[dict[str, Any]] = [
        {
            "ph": "M",
            "name": "process_name",
            "pid": MACHINE_PID,
            "args": {"name": "kernkit machine (virtual time)"},
        }
    ]
    for run in timeline.runs:
        args = {"pid": run.pid, "tid": run.tid, "stop": run.stop, "instructions": run.instructions}
        args.update(run.tag_fields)
        out.append(
            {
                "ph": "X",
                "name": run.label,
                "cat": "run",
                "pid": MACHINE_PID,
                "tid": run.core,
                "ts": _us(run.start),
                "dur": max(_us(run.end - run.start), 0.001),
                "args": args,
            }
        )
    for instant in timeline.instants:
        if instant.kind == "syscall" and instant.core is not None:
            # a syscall takes no virtual time (kernel work is free in it): a 1 ns slice nested
            # in the run that made it, so the timeline shows it as a slice of that run
            out.append(
                {
                    "ph": "X",
                    "name": instant.name,
                    "cat": "syscall",
                    "pid": MACHINE_PID,
                    "tid": instant.core,
                    "ts": _us(instant.t),
                    "dur": 0.001,
                    "args": instant.args,
                }
            )
            continue
        out.append(
            {
                "ph": "i",
                "s": "g" if instant.core is None else "t",
                "name": instant.name,
                "cat": instant.kind,
                "pid": MACHINE_PID,
                "tid": 0 if instant.core is None else instant.core,
                "ts": _us(instant.t),
                "args": instant.args,
            }
        )
    for core in sorted(timeline.cores):
        out.append(
            {
                "ph": "M",
                "name": "thread_name",
                "pid": MACHINE_PID,
                "tid": core,
                "args": {"name": timeline.core_label(core)},
            }
        )
        sort = {"sort_index": core}
        out.append({"ph": "M", "name": "thread_sort_index", "pid": MACHINE_PID, "tid": core, "args": sort})
    return {"traceEvents": out, "displayTimeUnit": "ns"}


def summary(events: Iterable[dict[str, Any]]) -> str:
    """Per process: syscalls (the five most frequent) and time on cores; per core: utilisation
    and context switches (a run of another thread than the core's previous one)."""
    syscalls: dict[int, Counter[str]] = defaultdict(Counter)
    switches: Counter[int] = Counter()
    last_on_core: dict[int, tuple[int, int]] = {}
    busy_by_process: Counter[int] = Counter()
    busy_by_core: Counter[int] = Counter()
    runs: Counter[int] = Counter()
    names: dict[int, str] = {}
    end = 0
    for event in events:
        end = max(end, event["t"], event.get("end", 0))
        note_name(names, event)
        if event["ev"] == "syscall":
            syscalls[event["pid"]][event["name"]] += 1
        elif event["ev"] == "run":
            span = event["end"] - event["start"]
            busy_by_process[event["pid"]] += span
            busy_by_core[event["core"]] += span
            runs[event["pid"]] += 1
            who = (event["pid"], event.get("tid", event["pid"]))
            if last_on_core.get(event["core"], who) != who:
                switches[event["core"]] += 1
            last_on_core[event["core"]] = who
    lines = [
        f"virtual time: {end / 1e6:.3f} ms",
        "",
        f"{'pid':>5}  {'name':<16} {'syscalls':>9} {'on cpu ms':>10} {'runs':>6}  most frequent",
    ]
    for pid in sorted(set(names) | set(syscalls) | set(busy_by_process)):
        top = ", ".join(f"{n} {c}" for n, c in syscalls[pid].most_common(5))
        lines.append(
            f"{pid:>5}  {names.get(pid, '?'):<16} {sum(syscalls[pid].values()):>9} "
            f"{busy_by_process[pid] / 1e6:>10.3f} {runs[pid]:>6}  {top}"
        )
    lines += ["", f"{'core':>5}  {'busy ms':>10} {'utilisation':>12} {'switches':>9}"]
    for core in sorted(busy_by_core):
        share = busy_by_core[core] / end if end else 0.0
        lines.append(f"{core:>5}  {busy_by_core[core] / 1e6:>10.3f} {share:>11.1%} {switches[core]:>9}")
    return "\n".join(lines)
