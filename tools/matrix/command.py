"""``kernkit matrix FILE``: run every cell, print a live summary, write reports and history."""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kernkit.core.assemble import check_choices, collect_registries, resolve_config
from kernkit.core.errors import KernkitError
from kernkit.core.plugins import PluginManager
from kernkit.tools.matrix import history, reports
from kernkit.tools.matrix.dask_executor import run_dask
from kernkit.tools.matrix.progress import reporter
from kernkit.tools.matrix.report_page import write_html
from kernkit.tools.matrix.runner import run_local
from kernkit.tools.matrix.spec import Cell, load_matrix
from kernkit.tools.matrix.worker import cell_overrides
from kernkit.tools.stopsignals import exit_status, on_stop_signals, signum_of, word

EXIT_FAILURES = 1


def add_arguments(parser: argparse.ArgumentParser, default_matrix: str | None = None) -> None:
    """The matrix command's options (``default_matrix``: the matrix file may be left out)."""
    if default_matrix is None:
        parser.add_argument("matrix", help="matrix file (TOML)")
    else:
        parser.add_argument(
            "matrix", nargs="?", default=default_matrix, help=f"matrix file (default: {default_matrix})"
        )
    parser.add_argument(
        "-j", "--jobs", type=int, default=os.cpu_count() or 1, help="cells run at once (default: all cores)"
    )
    parser.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local worker processes (default) or a Dask distributed cluster",
    )
    parser.add_argument("--scheduler", metavar="ADDRESS", help="the Dask scheduler, e.g. tcp://10.0.0.5:8786")
    parser.add_argument("--filter", metavar="GLOB", help="run only cells whose id matches, e.g. '*cores=2*'")
    parser.add_argument("--json", metavar="FILE", help="write the JSON report")
    parser.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    parser.add_argument("--html", metavar="FILE", help="write a single-file HTML report")
    parser.add_argument(
        "--db",
        metavar="FILE",
        default=str(history.DEFAULT_DB),
        help=f"results history (default: {history.DEFAULT_DB})",
    )
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "lines"),
        default="auto",
        help="a live bar (default on a terminal) or one line per cell",
    )
    parser.add_argument("--compare", choices=("last",), help="show what changed since the previous run")


def config_problem(cell: Cell, plugins: PluginManager) -> str | None:
    """The config error of a cell's kernel, or None when it can be assembled."""
    try:
        overrides = cell_overrides(cell.as_dict())
        config, plugins = resolve_config(cell.config or None, overrides, plugins)
        check_choices(config, collect_registries(plugins))
    except KernkitError as exc:
        return str(exc)
    return None


def run(args: argparse.Namespace) -> int:
    return execute(args)[1]


def execute(args: argparse.Namespace) -> tuple[dict[str, Any], int]:
    """Run the matrix as ``args`` say, print and write what they ask for; (report, exit status)."""
    matrix = load_matrix(args.matrix)
    cells = [c for c in matrix.cells if not args.filter or fnmatch.fnmatch(c.id, args.filter)]
    if not cells:
        raise KernkitError(f"--filter {args.filter!r}: no cell of {args.matrix} matches")
    for option, value in (("--json", args.json), ("--junit", args.junit), ("--html", args.html)):
        if value and not _writable(Path(value)):
            raise KernkitError(f"{option} {value}: cannot write there")
    history.check(Path(args.db))
    results: dict[str, dict[str, Any]] = {}
    width = max((len(c.id) for c in cells), default=0)
    if args.executor == "dask" and not args.scheduler:
        raise KernkitError("--executor dask needs --scheduler tcp://HOST:PORT")
    stopped_by: int | None = None
    lock = threading.Lock()  # results arrive from worker threads and, for config errors, this one
    with reporter(args.progress, len(cells), width) as show:

        def on_result(cell: Cell, result: dict[str, Any]) -> None:
            with lock:
                results[cell.id] = result
                show(cell, result)

        managers: dict[str, PluginManager] = {}  # one per config: plugins of one stay out of another

        def checked() -> Iterator[Cell]:
            """Cells whose kernels can be assembled; the others are ERROR at once."""
            for cell in cells:
                if cell.workload.skip:
                    on_result(cell, {"id": cell.id, "status": "SKIP", "reason": cell.workload.skip})
                    continue
                problem = config_problem(cell, managers.setdefault(cell.config, PluginManager()))
                if problem:
                    on_result(cell, {"id": cell.id, "status": "ERROR", "reason": problem})
                else:
                    yield cell

        try:
            with on_stop_signals():
                if args.executor == "dask":
                    run_dask(list(checked()), args.scheduler, on_result)
                else:
                    run_local(checked(), args.jobs, on_result, count=len(cells))
        except KeyboardInterrupt as exc:  # Ctrl-C, SIGTERM, SIGHUP: workers ended, results kept
            stopped_by = signum_of(exc)
    if stopped_by is not None:
        print(f"kernkit: {word(stopped_by)}; unfinished cells are reported as SKIP", file=sys.stderr)
    report = reports.to_json(matrix.path.resolve(), cells, results)
    counts = report["summary"]
    print("summary: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + f" of {len(cells)} cells")
    if args.json:
        reports.write_json(report, Path(args.json))
    if args.junit:
        reports.write_junit(report, Path(args.junit))
    if args.html:
        write_html(report, Path(args.html))
    db = Path(args.db)
    run_number = history.record(db, report)
    if args.compare:
        old = history.previous(db, report["matrix"], run_number)
        changes = history.compare(old, report["cells"]) if old is not None else ["no previous run to compare"]
        print("\n".join(changes) if changes else "no changes since the previous run")
    if stopped_by is not None:
        return report, exit_status(stopped_by)
    return report, EXIT_FAILURES if any(counts[status] for status in reports.FAILING) else 0


def _writable(path: Path) -> bool:
    directory = path.parent if str(path.parent) else Path(".")
    return directory.is_dir() and os.access(directory, os.W_OK) and (not path.is_dir())
