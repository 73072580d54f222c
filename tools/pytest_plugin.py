"""The kernkit pytest plugin (entry point ``pytest11``): fixtures for plugin authors' tests, and
matrix cells as test parameters.

- ``kernel``: boot a kernel and run it to the end (:func:`kernkit.tools.testing.boot_kernel`).
- ``--kernkit-matrix FILE``: tests marked ``@pytest.mark.kernkit`` (or asking for ``kernkit_cell``
  or ``kernkit_result``) run once per cell of the matrix, with readable ids
  (``hello-cores2-policyrr``), so ``pytest -k rr`` selects cells and pytest's own JUnit output
  carries the results.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kernkit.tools.testing import BootResult, boot_kernel

CELL_FIXTURES = ("kernkit_cell", "kernkit_result")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--kernkit-matrix",
        metavar="FILE",
        default=None,
        help="run tests marked kernkit once per cell of this kernkit matrix file",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "kernkit: run once per cell of --kernkit-matrix")


def cell_param_id(cell: Any) -> str:
    """``hello-cores2-policyrr``: the cell's id (which names its config when that varies) in
    a form pytest's ``-k`` can match."""
    workload, _, rest = cell.id.partition("[")
    parts = [workload] + [p.replace("=", "") for p in rest.rstrip("]").split(",") if p]
    return "-".join(p.replace(" ", "_") for p in parts)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    wants_cells = metafunc.definition.get_closest_marker("kernkit") is not None or any(
        name in metafunc.fixturenames for name in CELL_FIXTURES
    )
    if not wants_cells:
        return
    if "kernkit_cell" not in metafunc.fixturenames:
        metafunc.fixturenames.append("kernkit_cell")
    path = metafunc.config.getoption("kernkit_matrix")
    if not path:
        metafunc.parametrize(
            "kernkit_cell",
            [pytest.param(None, marks=pytest.mark.skip(reason="no --kernkit-matrix FILE given"))],
            ids=["no-matrix"],
        )
        return
    from kernkit.core.errors import KernkitError
    from kernkit.tools.matrix.spec import load_matrix

    try:
        cells = load_matrix(path).cells
    except KernkitError as exc:
        raise pytest.UsageError(f"--kernkit-matrix: {exc}") from None
    metafunc.parametrize("kernkit_cell", cells, ids=[cell_param_id(c) for c in cells])


@pytest.fixture
def kernel() -> Callable[..., BootResult]:
    """Boot a kernel and run it to the end: ``kernel("hello", machine__cores=2)``; see
    :func:`kernkit.tools.testing.boot_kernel`."""
    return boot_kernel


@pytest.fixture
def kernkit_result(kernkit_cell: Any) -> dict[str, Any]:
    """The result of running this test's matrix cell: status, reason, output and metrics (run in
    a worker process, so the workload's ``timeout_s`` holds: past it the status is MISS)."""
    from kernkit.tools.matrix.runner import Worker

    worker = Worker()
    try:
        return worker.run(kernkit_cell)
    finally:
        worker.stop()
