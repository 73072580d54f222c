"""Showing a matrix run as it goes: a rich progress bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from typing import Any

from kernkit.tools.matrix.spec import Cell

Reporter = Callable[[Cell, dict[str, Any]], None]


def _line(done: int, total: int, width: int, cell: Cell, result: dict[str, Any]) -> str:
    extra = f"  {result['reason']}" if result.get("reason") else ""
    return f"[{done:>{len(str(total))}}/{total}] {result['status']:<5} {cell.id:<{width}}{extra}".rstrip()


class Lines:
    """One line per finished cell (for logs and CI)."""

    def __init__(self, total: int, width: int) -> None:
        self.total, self.width, self.done = total, width, 0

    def __enter__(self) -> Reporter:
        def report(cell: Cell, result: dict[str, Any]) -> None:
            self.done += 1
            print(_line(self.done, self.total, self.width, cell, result), flush=True)

        return report

    def __exit__(self, *exc: object) -> None:
        pass


class Bar:
    """A live bar with the running counts per status; cells that did not pass are printed above."""

    def __init__(self, total: int, width: int, force_terminal: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.total, self.width, self.done = total, width, 0
        self.counts: Counter[str] = Counter()
        console = Console(force_terminal=force_terminal)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.progress.add_task("starting", total=total)

    def __enter__(self) -> Reporter:
        self.progress.start()

        def report(cell: Cell, result: dict[str, Any]) -> None:
            self.done += 1
            self.counts[result["status"]] += 1
            if result["status"] != "PASS":
                self.progress.console.print(
                    _line(self.done, self.total, self.width, cell, result), markup=False, highlight=False
                )
            summary = " ".join(f"{n} {s}" for s, n in sorted(self.counts.items()))
            self.progress.update(self.task, advance=1, description=summary)

        return report

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def reporter(mode: str, total: int, width: int) -> Lines | Bar:
    """``auto``: a bar on a terminal, lines otherwise; ``bar`` or ``lines`` to choose."""
    if mode == "bar" or (mode == "auto" and sys.stdout.isatty()):
        return Bar(total, width, force_terminal=mode == "bar")
    return Lines(total, width)
