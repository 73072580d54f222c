"""Running cells on a Dask distributed cluster (``--executor dask --scheduler tcp://HOST:PORT``).

Every worker needs kernkit installed; each cell runs in-process there, like a local worker.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kernkit.core.errors import KernkitError
from kernkit.tools.matrix.runner import miss
from kernkit.tools.matrix.spec import Cell


def run_dask(
    cells: Sequence[Cell], scheduler: str, on_result: Callable[[Cell, dict[str, Any]], None]
) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise KernkitError(
            "--executor dask needs the distributed package (pip install 'kernkit[dask]')"
        ) from None
    from kernkit.tools.matrix.worker import run_cell

    try:
        client = Client(scheduler, timeout="10s")
    except OSError as exc:
        raise KernkitError(f"--scheduler {scheduler}: cannot reach the Dask scheduler: {exc}") from None
    with client:
        futures = {
            client.submit(run_cell, cell.as_dict(), pure=False, key=f"kernkit-{i}-{cell.id}"): cell
            for i, cell in enumerate(cells)
        }
        # no per-task clock is exposed, so the whole run gets the time its cells could need
        slots = max(1, sum(client.nthreads().values()))
        budget = max(c.workload.timeout_s for c in cells) * -(-len(cells) // slots) + 30 if cells else 0
        try:
            for future in as_completed(futures, timeout=budget):
                cell = futures.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # the worker died or the task failed there
                    result = miss(cell, f"the Dask task failed: {type(exc).__name__}: {exc}")
                on_result(cell, result)
        except TimeoutError:
            pass
        finally:  # Ctrl-C or the time is up: what is left is not wanted any more
            client.cancel(list(futures))
        for cell in futures.values():
            on_result(cell, miss(cell, f"no result from the Dask cluster within {budget:g} s"))
