"""A single-file HTML report: a grid of variants x workloads in status colours, then every cell.

Everything is inline (no scripts, fonts or style sheets from elsewhere), so it opens offline.
"""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import Any

from kernkit.tools.matrix.spec import METRICS

COLOURS = {
    "PASS": "#2e7d32",
    "FAIL": "#c62828",
    "ERROR": "#6a1b9a",
    "MISS": "#ef6c00",
    "SKIP": "#757575",
    "XFAIL": "#827717",
    "XPASS": "#ad1457",
}
STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
td.status { color: white; font-weight: bold; text-align: center; }
.summary span { display: inline-block; margin-right: 1em; padding: 2px 8px; color: white;
                border-radius: 3px; }
pre { margin: 0; white-space: pre-wrap; max-width: 60em; }
"""


def _variant(row: dict[str, Any]) -> str:
    """The variant's label: its config file, then the options it sets."""
    return ", ".join([Path(row["config"]).name, *(f"{k}={v}" for k, v in row["params"].items())])


def _status_cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "<td></td>"
    status = row["status"]
    tip = escape(
        row["reason"] or f"{row.get('instructions') or 0} instructions, {row.get('virtual_ns') or 0} ns"
    )
    return (
        f'<td class="status" style="background:{COLOURS[status]}" title="{tip}">'
        f'<a href="#{escape(row["id"])}" style="color:white">{status}</a></td>'
    )


def render(report: dict[str, Any]) -> str:
    cells = report["cells"]
    workloads = list(dict.fromkeys(row["workload"] for row in cells))
    variants = list(dict.fromkeys(_variant(row) for row in cells))
    by_key = {(_variant(row), row["workload"]): row for row in cells}
    summary = "".join(
        f'<span style="background:{COLOURS[s]}">{n} {s}</span>' for s, n in report["summary"].items() if n
    )
    grid = ["<table><tr><th>variant</th>", *(f"<th>{escape(w)}</th>" for w in workloads), "</tr>"]
    for variant in variants:
        grid.append(f"<tr><th>{escape(variant)}</th>")
        grid.extend(_status_cell(by_key.get((variant, w))) for w in workloads)
        grid.append("</tr>")
    grid.append("</table>")
    columns = ("status", "reason", *(m for m in METRICS if m != "trace_hash"))
    detail = ["<table><tr><th>cell</th>", *(f"<th>{c}</th>" for c in columns), "<th>output</th></tr>"]
    for row in cells:
        detail.append(f'<tr id="{escape(row["id"])}"><td>{escape(row["id"])}</td>')
        detail.extend(
            f"<td>{escape(str(row.get(c) if row.get(c) is not None else ''))}</td>" for c in columns
        )
        detail.append(f"<td><pre>{escape(row.get('output') or '')}</pre></td></tr>")
    detail.append("</table>")
    title = f"kernkit matrix: {escape(Path(report['matrix']).name)}"
    return (
        f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>{title}</title>'
        f"<style>{STYLE}</style></head><body><h1>{title}</h1>"
        f'<p class="summary">{summary}</p><h2>Variants x workloads</h2>{"".join(grid)}'
        f"<h2>Every cell</h2>{''.join(detail)}</body></html>\n"
    )


def write_html(report: dict[str, Any], path: Path) -> None:
    path.write_text(render(report))
