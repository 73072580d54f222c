"""A trace as a timeline: what ran on each core (with its vcore), and instants on the core they
concern. The Perfetto export and the HTML page (``kernkit trace perfetto|html``) both draw it.

Where an instant goes: an event naming a physical core (``pcore``: grant, release, provision,
preempt_warn, vcore_start, notify) goes on that core; a kernel message on the core it is sent
*to*, at the time it was sent; anything else on the core that was acting (``core``). Events
without a core (boot steps, spawns from outside a core) are global.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs


@attrs.frozen
class Run:
    """A span of one thread on one core; ``vcore`` when the thread was running a vcore."""

    core: int
    start: int
    end: int
    pid: int
    tid: int
    name: str
    vcore: int | None
    stop: str
    instructions: int

    @property
    def label(self) -> str:
        vcore = "" if self.vcore is None else f" vc{self.vcore}"
        return f"{self.name} {self.pid}.{self.tid}{vcore}"


@attrs.frozen
class Instant:
    """A point event: ``kind`` is the trace event's ``ev``, ``name`` says what happened."""

    core: int | None
    t: int
    kind: str
    name: str
    args: dict[str, Any]


@attrs.define
class Timeline:
    runs: list[Run] = attrs.Factory(list)
    instants: list[Instant] = attrs.Factory(list)
    #: Process names (argv[0]) and whole command lines by pid.
    names: dict[int, str] = attrs.Factory(dict)
    commands: dict[int, str] = attrs.Factory(dict)
    cores: set[int] = attrs.Factory(set)
    end: int = 0

    def who_ran(self, core: int) -> list[tuple[int, list[int]]]:
        """(pid, vcores) for every process that ran on ``core``, in the order they first did."""
        seen: dict[int, list[int]] = {}
        for run in self.runs:
            if run.core == core:
                vcores = seen.setdefault(run.pid, [])
                if run.vcore is not None and run.vcore not in vcores:
                    vcores.append(run.vcore)
        return list(seen.items())

    def core_label(self, core: int, most: int = 4) -> str:
        """``core 2: provision_demo 2 vc1; provision_demo 3 vc0``: who ran there."""
        parts = []
        for pid, vcores in self.who_ran(core):
            numbers = ",".join(map(str, sorted(vcores)))
            parts.append(f"{self.names.get(pid, 'pid')} {pid}" + (f" vc{numbers}" if vcores else ""))
        more = f"; +{len(parts) - most} more" if len(parts) > most else ""
        return f"core {core}" + (": " + "; ".join(parts[:most]) + more if parts else "")


def note_name(names: dict[int, str], event: dict[str, Any]) -> None:
    """Process names come from spawn, exec (argv[0]) and fork (the parent's) events."""
    if event["ev"] in ("spawn", "exec"):
        names[event["pid"]] = (event.get("argv") or [event.get("path", "?")])[0]
    elif event["ev"] == "fork":
        names[event["pid"]] = names.get(event.get("parent"), "?")


def build(events: Iterable[dict[str, Any]]) -> Timeline:
    timeline = Timeline()
    #: The vcore each (pid, tid) runs, from its last vcore_start.
    vcore_of: dict[tuple[int, int], int] = {}
    for event in events:
        kind = event["ev"]
        note_name(timeline.names, event)
        if kind in ("spawn", "exec"):
            timeline.commands[event["pid"]] = " ".join(event.get("argv") or [event.get("path", "?")])
        elif kind == "fork":
            timeline.commands[event["pid"]] = timeline.commands.get(event.get("parent"), "?")
        timeline.end = max(timeline.end, event["t"], event.get("end", 0))
        if kind == "vcore_start" and "tid" in event:
            vcore_of[(event.get("pid"), event["tid"])] = event.get("vcore")
        if kind == "run":
            pid, tid = event["pid"], event["tid"]
            timeline.cores.add(event["core"])
            timeline.runs.append(
                Run(
                    event["core"],
                    event["start"],
                    event["end"],
                    pid,
                    tid,
                    timeline.names.get(pid, "pid"),
                    vcore_of.get((pid, tid)),
                    event["stop"],
                    event["instructions"],
                )
            )
            continue
        core = _track(event)
        if core is not None:
            timeline.cores.add(core)
        args = {k: v for k, v in event.items() if k not in ("t", "ev")}
        timeline.instants.append(Instant(core, event["t"], kind, _describe(event, timeline.names), args))
    return timeline


def _track(event: dict[str, Any]) -> int | None:
    if isinstance(event.get("pcore"), int):
        return event["pcore"]
    if event["ev"] == "kmsg" and isinstance(event.get("to"), int):
        return event["to"]
    return event.get("core")


def _describe(event: dict[str, Any], names: dict[int, str]) -> str:
    kind = event["ev"]
    pid = event.get("pid")
    who = f"{names.get(pid, 'pid')} {pid}"
    vcore = f"vc{event.get('vcore')}"
    match kind:
        case "syscall":
            return str(event.get("name", kind))
        case "kmsg":
            return f"kmsg {event.get('name')} from core {event.get('core')}"
        case "grant" | "provision":
            return f"{kind} to {who}"
        case "release":
            return f"release by {who}"
        case "preempt_warn":
            return f"preempt warning to {who} (pid {event.get('to')} is owed it)"
        case "vcore_start":
            return f"{vcore} start ({who})"
        case "vcore_yield":
            return f"{vcore} yield ({who})"
        case "vcore_preempt":
            return f"{vcore} preempted ({who})"
        case "event" | "event_dropped":
            return f"{kind.replace('_', ' ')} {event.get('type')} to {vcore} of {who}"
        case "notify":
            return f"notify {vcore} of {who}"
        case "notify_ignored":
            return f"notify {vcore} of {who} ignored"
        case "exit":
            return f"exit {who}: {'killed' if event.get('killed') else 'status'} {event.get('status')}"
        case "spawn" | "fork" | "exec":
            return f"{kind} {who}"
        case "change_to_m":
            return f"{who} becomes an MCP"
        case _:
            return kind
