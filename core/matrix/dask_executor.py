"""Running cells on a Dask distributed cluster (``--executor dask --scheduler tcp://HOST:PORT``).

Every worker needs kernkit installed; each cell runs in-process there, like a local worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kernkit.core.errors import KernkitError
from kernkit.core.matrix.runner import miss
from kernkit.core.matrix.spec import Cell


def run_dask(
    cells: Sequence[Cell], scheduler: str, on_result: Callable[[Cell, dict[str, Any]], None]
) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise KernkitError(
            "--executor dask needs the distributed package (pip install 'kernkit[dask]')"
        ) from None
    from kernkit.core.matrix.worker import run_cell

    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise KernkitError(f"--scheduler {scheduler}: cannot reach the Dask scheduler: {exc}") from None
    with client:
        futures = {
            client.submit(run_cell, cell.as_dict(), pure=False, key=f"kernkit-{i}-{cell.id}"): cell
            for i, cell in enumerate(cells)
        }
        for future in as_completed(futures):
            cell = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # the worker died or the task failed there
                result = miss(cell, f"the Dask task failed: {type(exc).__name__}: {exc}")
            on_result(cell, result)
