"""Running cells in parallel worker processes; a worker that dies costs only its cell (MISS)."""

from __future__ import annotations

import ctypes
import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from kernkit.tools.matrix.spec import Cell

Result = dict[str, Any]
PR_SET_PDEATHSIG = 1


class Worker:
    """A ``python -m kernkit.tools.matrix.worker`` process that runs cells one at a time."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "kernkit.tools.matrix.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            bufsize=1,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_die_with_parent,
        )
        self._answers: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._answers.put(line)
        self._answers.put(None)

    def run(self, cell: Cell) -> Result:
        try:
            self.process.stdin.write(json.dumps(cell.as_dict()) + "\n")
            self.process.stdin.flush()
            line = self._answers.get(timeout=cell.workload.timeout_s)
        except queue.Empty:
            self.stop()
            return miss(cell, f"no result within {cell.workload.timeout_s:g} s of host time")
        except OSError:
            line = None
        if line is None:
            code = self.process.wait()
            return miss(cell, f"the worker process died (exit status {code})")
        return json.loads(line)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> None:
        if self.alive:
            self.process.kill()
        self.process.wait()


def _die_with_parent() -> None:
    """In the worker, before it starts: the kernel kills it when the runner dies (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def miss(cell: Cell, reason: str) -> Result:
    return {"id": cell.id, "status": "MISS", "reason": reason}


def run_local(
    cells: Iterable[Cell], jobs: int, on_result: Callable[[Cell, Result], None], count: int | None = None
) -> None:
    """Run ``cells`` on ``jobs`` worker processes; ``on_result`` sees each result as it lands.

    ``cells`` may be a generator: workers start at once and take cells as they come (so checking
    cells overlaps with starting Python in the workers). ``count`` bounds how many workers are
    worth starting. KeyboardInterrupt stops the workers; results already delivered stay delivered.
    """
    pending: queue.Queue[Cell | None] = queue.Queue()
    workers: list[Worker] = []
    lock = threading.Lock()
    stopping = threading.Event()
    jobs = max(1, min(jobs, count if count is not None else jobs))

    def serve() -> None:
        worker = Worker()
        with lock:
            workers.append(worker)
        while not stopping.is_set():
            cell = pending.get()
            if cell is None:
                break
            try:
                result = worker.run(cell)
            except Exception as exc:  # a runner bug must cost one cell, not the run
                result = {"id": cell.id, "status": "ERROR", "reason": f"runner: {type(exc).__name__}: {exc}"}
            if not worker.alive and not stopping.is_set():  # replace a dead worker
                worker.stop()
                worker = Worker()
                with lock:
                    workers.append(worker)
            if not stopping.is_set():
                with lock:
                    on_result(cell, result)
        worker.stop()

    threads = [threading.Thread(target=serve, daemon=True) for _ in range(jobs)]
    for thread in threads:
        thread.start()
    try:
        for cell in cells:
            pending.put(cell)
        for _ in threads:
            pending.put(None)
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
    except KeyboardInterrupt:
        stopping.set()
        with lock:
            for worker in workers:
                worker.stop()
        raise
