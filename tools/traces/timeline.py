"""A trace as a timeline: what ran on each core (with the tag its thread carries, such as an
Akaros vcore), and instants on the core they concern. The Perfetto export and the HTML page
(``kernkit trace perfetto|html``) both draw it.

How an event kind is shown comes from the plugin that emits it (a
:class:`~kernkit.core.records.TraceStyle`, ``kernkit_register_trace_styles``): its label, the
field naming the core it concerns (else the core that was acting), and whether it tags its
thread's later runs. Events without a core (boot steps, spawns from outside a core) are global.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from kernkit.core.records import TraceStyle


@attrs.frozen
class Run:
    """A span of one thread on one core; ``tag`` is what the thread was tagged with then (an
    Akaros vcore: ``vc1``), if anything."""

    core: int
    start: int
    end: int
    pid: int
    tid: int
    name: str
    tag: str | None
    stop: str
    instructions: int
    #: The fields of the event that tagged the thread which the tag shows (``{"vcore": 1}``).
    tag_fields: dict[str, Any] = attrs.field(factory=dict)

    @property
    def label(self) -> str:
        tag = "" if self.tag is None else f" {self.tag}"
        return f"{self.name} {self.pid}.{self.tid}{tag}"


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

    def who_ran(self, core: int) -> list[tuple[int, list[str]]]:
        """(pid, tags) for every process that ran on ``core``, in the order they first did."""
        seen: dict[int, list[str]] = {}
        for run in self.runs:
            if run.core == core:
                tags = seen.setdefault(run.pid, [])
                if run.tag is not None and run.tag not in tags:
                    tags.append(run.tag)
        return list(seen.items())

    def core_label(self, core: int, most: int = 4) -> str:
        """``core 2: provision_demo 2 vc1; provision_demo 3 vc0``: who ran there."""
        parts = []
        for pid, tags in self.who_ran(core):
            tagged = f" {','.join(sorted(tags))}" if tags else ""
            parts.append(f"{self.names.get(pid, 'pid')} {pid}{tagged}")
        more = f"; +{len(parts) - most} more" if len(parts) > most else ""
        return f"core {core}" + (": " + "; ".join(parts[:most]) + more if parts else "")


def note_name(names: dict[int, str], event: dict[str, Any]) -> None:
    """Process names come from spawn, exec (argv[0]) and fork (the parent's) events."""
    if event["ev"] in ("spawn", "exec"):
        names[event["pid"]] = (event.get("argv") or [event.get("path", "?")])[0]
    elif event["ev"] == "fork":
        names[event["pid"]] = names.get(event.get("parent"), "?")


def build(events: Iterable[dict[str, Any]], styles: Mapping[str, TraceStyle] | None = None) -> Timeline:
    """The timeline of ``events``, shown as ``styles`` (event kind -> style) say."""
    styles = styles or {}
    timeline = Timeline()
    #: The tag each (pid, tid) carries, and the fields it shows, from the last event that tagged it.
    tag_of: dict[tuple[int, int], tuple[str, dict[str, Any]]] = {}
    for event in events:
        kind = event["ev"]
        note_name(timeline.names, event)
        if kind in ("spawn", "exec"):
            timeline.commands[event["pid"]] = " ".join(event.get("argv") or [event.get("path", "?")])
        elif kind == "fork":
            timeline.commands[event["pid"]] = timeline.commands.get(event.get("parent"), "?")
        timeline.end = max(timeline.end, event["t"], event.get("end", 0))
        style = styles.get(kind)
        if style is not None and style.tag and "tid" in event:
            shown = {f: event[f] for _, f, _, _ in string.Formatter().parse(style.tag) if f in event}
            tag_of[(event.get("pid"), event["tid"])] = (_format(style.tag, event, ""), shown)
        if kind == "run":
            pid, tid = event["pid"], event["tid"]
            tag, tag_fields = tag_of.get((pid, tid), (None, {}))
            timeline.cores.add(event["core"])
            timeline.runs.append(
                Run(
                    event["core"],
                    event["start"],
                    event["end"],
                    pid,
                    tid,
                    timeline.names.get(pid, "pid"),
                    tag,
                    event["stop"],
                    event["instructions"],
                    tag_fields,
                )
            )
            continue
        core = _track(event, style)
        if core is not None:
            timeline.cores.add(core)
        args = {k: v for k, v in event.items() if k not in ("t", "ev")}
        name = _describe(event, style, timeline.names)
        timeline.instants.append(Instant(core, event["t"], kind, name, args))
    return timeline


def _track(event: dict[str, Any], style: TraceStyle | None) -> int | None:
    if style is not None and style.place and isinstance(event.get(style.place), int):
        return event[style.place]
    return event.get("core")


class _Fields(dict):
    def __missing__(self, key: str) -> str:
        return "?"


def _format(template: str, event: dict[str, Any], who: str) -> str:
    return string.Formatter().vformat(template, (), _Fields(event, who=who))


def _describe(event: dict[str, Any], style: TraceStyle | None, names: dict[int, str]) -> str:
    kind = event["ev"]
    if kind == "syscall":
        return str(event.get("name", kind))
    if style is None or not style.label:
        return kind
    pid = event.get("pid")
    who = f"{names.get(pid, 'pid')} {pid}"
    if callable(style.label):
        return style.label(event, who)
    return _format(style.label, event, who)
