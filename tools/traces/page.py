"""``kernkit trace html``: a trace's timeline as one self-contained HTML page (inline SVG, no
scripts, nothing fetched), for a browser or a screenshot when ui.perfetto.dev is out of reach.

One row per core, labelled with who ran there; what ran as bars coloured by process and vcore;
kernel events as markers above the bars (stacked when they coincide); syscalls as ticks below.
Every bar and marker has a tooltip with the event's fields.
"""

from __future__ import annotations

import html
import zlib
from collections.abc import Mapping
from typing import Any

from kernkit.core.records import TraceStyle
from kernkit.tools.traces.timeline import Run, Timeline

WIDTH = 1400
MARGIN = 24
ROW_LABEL = 20
MARKS = 46
BAR = 30
TICKS = 8
ROW = ROW_LABEL + MARKS + BAR + TICKS + 12
MARK_STEP = 9

def colour(pid: int, tag: str | None) -> str:
    """One hue per process; the tags of its threads (vcores) shade it."""
    shade = zlib.crc32(tag.encode()) if tag is not None else 0
    hue = (pid * 97 + shade % 13 * 28) % 360
    light = 62 if tag is None else 48 + (shade % 3) * 10
    return f"hsl({hue},62%,{light}%)"


def _esc(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.3f} ms"


def _tick_step(span_ns: int, pixels: int) -> int:
    """A round time step giving ticks about 100 pixels apart."""
    target = max(span_ns * 100 // max(pixels, 1), 1)
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= target:
                return step * factor
        step *= 10


def _marker(shape: str, x: float, y: float, fill: str, tip: str) -> str:
    title = f"<title>{_esc(tip)}</title>"
    if shape == "down":
        body = f'<polygon points="{x - 4:.1f},{y - 6} {x + 4:.1f},{y - 6} {x:.1f},{y}" fill="{fill}">'
        return body + title + "</polygon>"
    if shape == "up":
        body = f'<polygon points="{x - 4:.1f},{y} {x + 4:.1f},{y} {x:.1f},{y - 7}" fill="{fill}">'
        return body + title + "</polygon>"
    if shape == "diamond":
        points = f"{x:.1f},{y - 8} {x + 4:.1f},{y - 4} {x:.1f},{y} {x - 4:.1f},{y - 4}"
        return f'<polygon points="{points}" fill="{fill}">{title}</polygon>'
    if shape == "circle":
        return f'<circle cx="{x:.1f}" cy="{y - 4}" r="3.5" fill="{fill}">{title}</circle>'
    if shape == "cross":
        return (
            f'<path d="M{x - 4:.1f},{y - 8} L{x + 4:.1f},{y} M{x + 4:.1f},{y - 8} L{x - 4:.1f},{y}" '
            f'stroke="{fill}" stroke-width="2">{title}</path>'
        )
    return f'<rect x="{x - 1.5:.1f}" y="{y - 8}" width="3" height="8" fill="{fill}">{title}</rect>'


def _fields(args: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in args.items())


def to_html(timeline: Timeline, title: str, styles: Mapping[str, TraceStyle]) -> str:
    """The page for ``timeline``; ``title`` heads it (say, the trace file's name); ``styles``
    (event kind -> style, from the plugins that emit them) say which events are drawn and how."""
    cores = sorted(timeline.cores)
    end = max(timeline.end, 1)
    chart = WIDTH - 2 * MARGIN
    top = 70

    def x_of(ns: float) -> float:
        return MARGIN + ns * chart / end

    parts: list[str] = []
    row_top = {core: top + index * ROW for index, core in enumerate(cores)}
    for core in cores:
        y = row_top[core]
        parts.append(
            f'<text x="{MARGIN}" y="{y + 14}" class="core">{_esc(timeline.core_label(core, most=6))}</text>'
            f'<rect x="{MARGIN}" y="{y + ROW_LABEL + MARKS}" width="{chart}" height="{BAR}" class="lane"/>'
        )
    for run in timeline.runs:
        parts.append(_bar(run, x_of, row_top[run.core] + ROW_LABEL + MARKS))
    for core, start, stop, label in _stretches(timeline.runs, end):
        y = row_top[core] + ROW_LABEL + MARKS
        if x_of(stop) - x_of(start) > 7.2 * len(label) + 8:
            x = x_of(start) + 4
            parts.append(f'<text x="{x:.1f}" y="{y + BAR / 2 + 4}" class="bar">{_esc(label)}</text>')
    stacked: dict[tuple[int, int], int] = {}
    drawn: dict[str, int] = {}
    for instant in timeline.instants:
        if instant.core not in row_top:
            continue
        x = x_of(instant.t)
        if instant.kind == "syscall":
            y = row_top[instant.core] + ROW_LABEL + MARKS + BAR
            tip = f"{_ms(instant.t)} syscall {instant.name}: {_fields(instant.args)}"
            parts.append(
                f'<rect x="{x - 0.5:.1f}" y="{y + 1}" width="1" height="{TICKS - 2}" class="sys">'
                f"<title>{_esc(tip)}</title></rect>"
            )
            drawn["syscall"] = drawn.get("syscall", 0) + 1
            continue
        style = styles.get(instant.kind)
        if style is None or not style.marker:
            continue
        level = stacked.get((instant.core, round(x / 4)), 0)
        stacked[(instant.core, round(x / 4))] = level + 1
        y = row_top[instant.core] + ROW_LABEL + MARKS - 2 - min(level, MARKS // MARK_STEP - 1) * MARK_STEP
        tip = f"{_ms(instant.t)} {instant.name}: {_fields(instant.args)}"
        parts.append(_marker(style.marker, x, y, style.colour, tip))
        drawn[instant.kind] = drawn.get(instant.kind, 0) + 1
    axis_y = top + len(cores) * ROW
    parts.append(_axis(end, x_of, axis_y))
    legend, legend_height = _legend(timeline, drawn, styles, axis_y + 40)
    parts.append(legend)
    height = axis_y + 40 + legend_height
    runs = len(timeline.runs)
    subtitle = (
        f"{len(cores)} cores, {_ms(timeline.end)} of virtual time, {runs} runs, "
        f"{sum(drawn.values())} instants drawn; hover for details"
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}">'
        f'<text x="{MARGIN}" y="28" class="title">{_esc(title)}</text>'
        f'<text x="{MARGIN}" y="50" class="sub">{_esc(subtitle)}</text>' + "".join(parts) + "</svg>"
    )
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'>"
        f"<title>{_esc(title)}</title><style>{CSS}</style></head>"
        f"<body>{svg}</body></html>\n"
    )


def _bar(run: Run, x_of: Any, y: int) -> str:
    x0, x1 = x_of(run.start), x_of(run.end)
    width = max(x1 - x0, 0.6)
    tip = (
        f"{run.label} on core {run.core}: {_ms(run.start)} to {_ms(run.end)}, "
        f"{run.instructions} instructions, stopped by {run.stop}"
    )
    return (
        f'<rect x="{x0:.2f}" y="{y}" width="{width:.2f}" height="{BAR}" fill="{colour(run.pid, run.tag)}">'
        f"<title>{_esc(tip)}</title></rect>"
    )


def _stretches(runs: list[Run], end: int) -> list[tuple[int, int, int, str]]:
    """(core, start, end, label) of each stretch of runs of one thread on one core with gaps
    under 0.5% of the trace between them: a label is written once across a stretch."""
    by_core: dict[int, list[Run]] = {}
    for run in runs:
        by_core.setdefault(run.core, []).append(run)
    stretches: list[tuple[int, int, int, str]] = []
    for core, spans in by_core.items():
        spans.sort(key=lambda r: r.start)
        current: list[Any] = []
        for run in spans:
            if current and current[3] == run.label and run.start - current[2] <= end // 200:
                current[2] = max(current[2], run.end)
                continue
            if current:
                stretches.append(tuple(current))
            current = [core, run.start, run.end, run.label]
        if current:
            stretches.append(tuple(current))
    return stretches


def _axis(end: int, x_of: Any, y: int) -> str:
    step = _tick_step(end, WIDTH - 2 * MARGIN)
    parts = [f'<line x1="{MARGIN}" y1="{y}" x2="{WIDTH - MARGIN}" y2="{y}" class="axis"/>']
    for ns in range(0, end + 1, step):
        x = x_of(ns)
        parts.append(
            f'<line x1="{x:.1f}" y1="{y}" x2="{x:.1f}" y2="{y + 5}" class="axis"/>'
            f'<text x="{x:.1f}" y="{y + 18}" class="tick">{ns / 1e6:g} ms</text>'
        )
    return "".join(parts)


def _legend(
    timeline: Timeline, drawn: dict[str, int], styles: Mapping[str, TraceStyle], y: int
) -> tuple[str, int]:
    parts: list[str] = []
    seen: dict[tuple[int, str | None], None] = {}
    for run in timeline.runs:
        seen.setdefault((run.pid, run.tag), None)
    x, line = MARGIN, y
    for pid, tag in sorted(seen, key=lambda key: (key[0], "" if key[1] is None else key[1])):
        text = f"{timeline.commands.get(pid, timeline.names.get(pid, '?'))} (pid {pid})"
        text += "" if tag is None else f" {tag}"
        width = 26 + 6.8 * len(text)
        if x + width > WIDTH - MARGIN:
            x, line = MARGIN, line + 20
        parts.append(
            f'<rect x="{x}" y="{line - 10}" width="16" height="12" fill="{colour(pid, tag)}"/>'
            f'<text x="{x + 22}" y="{line}" class="legend">{_esc(text)}</text>'
        )
        x += width + 14
    x, line = MARGIN, line + 26
    for kind, style in styles.items():
        if kind not in drawn:
            continue
        shape, fill = style.marker, style.colour
        text = f"{style.legend} ({drawn[kind]})"
        width = 22 + 6.8 * len(text)
        if x + width > WIDTH - MARGIN:
            x, line = MARGIN, line + 20
        parts.append(_marker(shape, x + 6, line + 1, fill, kind))
        parts.append(f'<text x="{x + 16}" y="{line}" class="legend">{_esc(text)}</text>')
        x += width + 14
    if "syscall" in drawn:
        text = f"system call ({drawn['syscall']})"
        if x + 22 + 6.8 * len(text) > WIDTH - MARGIN:
            x, line = MARGIN, line + 20
        parts.append(f'<rect x="{x + 5}" y="{line - 8}" width="1.5" height="8" class="sys"/>')
        parts.append(f'<text x="{x + 16}" y="{line}" class="legend">{_esc(text)}</text>')
    return "".join(parts), line - y + 24


CSS = """
body { margin: 0; background: #fff; font-family: 'DejaVu Sans', Verdana, sans-serif; }
.title { font-size: 18px; font-weight: bold; }
.sub, .tick, .legend { font-size: 12px; fill: #333; }
.core { font-size: 13px; font-weight: bold; fill: #222; }
.lane { fill: #f3f3f3; }
.bar { font-size: 11px; fill: #fff; pointer-events: none; }
.sys { fill: #888; }
.axis { stroke: #555; stroke-width: 1; }
.tick { text-anchor: middle; }
"""
