"""System call dispatch (core/syscalls.py): arguments in, results out, a bad pointer is the
personality's EFAULT, an unknown number its ENOSYS, no frame left kills the caller; with tracing,
one event per call with its arguments and signed result."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import pytest

from kernkit.core import kernel as real_kernel
from kernkit.core.errors import BadAddress, OutOfMemory
from kernkit.core.records import Syscall
from kernkit.core.syscalls import SyscallDispatcher, TracingDispatcher
from kernkit.core.tracer import Tracer


class Kernel:
    """What the dispatchers use of a kernel, recording what they did with it."""

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.killed: list[tuple] = []
        self.tracing = True
        self.deterministic = False  # time from now() below
        self.trace = io.StringIO()
        self.tracer = Tracer(self.trace)

    @property
    def lines(self) -> list[dict]:
        """The trace written so far, each line parsed."""
        self.tracer.flush()
        return [json.loads(line) for line in self.trace.getvalue().splitlines()]

    def trace_event(self, kind: str, process, **fields) -> None:  # noqa: ANN001
        self.events.append((kind, process.pid, fields))

    def now(self, core: int | None) -> int:
        return 1000 + (core or 0)

    def kill_by_fault(self, thread, fault) -> None:  # noqa: ANN001
        self.killed.append((thread.tid, fault.signal, fault.what, fault.pc))


def raises(error: Exception):  # noqa: ANN201
    def handler(thread, *args):  # noqa: ANN001, ANN002, ARG001
        raise error

    return handler


CALLS = {
    1: Syscall(1, "add", lambda t, a, b: a + b, 2),
    2: Syscall(2, "six", lambda t, *a: sum(a), 6),
    3: Syscall(3, "none", lambda t: 7, 0),
    4: Syscall(4, "fault", raises(BadAddress(0x10)), 1),
    5: Syscall(5, "oom", raises(OutOfMemory("no frame")), 0),
    6: Syscall(6, "blocks", lambda t: None, 0),
    7: Syscall(7, "negative", lambda t: 2**64 - 14, 0),  # a result written as the register holds it
    8: Syscall(8, "caller", lambda t, a: t.tid + a, 1),  # handlers are given the calling thread
    9: Syscall(9, "callers pid", lambda t: t.process.pid, 0),
}


def thread(errno_fault: int = 14, errno_nosys: int = 38) -> SimpleNamespace:
    personality = SimpleNamespace(errno_fault=errno_fault, errno_nosys=errno_nosys)
    process = SimpleNamespace(pid=5, syscall_map=CALLS, personality=personality)
    return SimpleNamespace(tid=9, process=process, core=2, context=SimpleNamespace(pc=0x401000))


def reader(values: list[int]):  # noqa: ANN201
    asked = []

    def read(count: int) -> list[int]:
        asked.append(count)
        return values[:count]

    read.asked = asked
    return read


@pytest.mark.parametrize("dispatcher", [SyscallDispatcher, TracingDispatcher])
def test_results_errors_and_counts(dispatcher):
    kernel = Kernel()
    d = dispatcher(kernel)
    t = thread()
    args = reader([2, 3, 4, 5, 6, 7])
    assert d.dispatch(t, 1, args) == 5 and args.asked == [2]  # only as many arguments as it takes
    assert d.dispatch(t, 2, args) == 27 and args.asked == [2, 6]
    assert d.dispatch(t, 3, args) == 7 and args.asked == [2, 6]  # none read for a call without any
    assert d.dispatch(t, 4, args) == -14  # a bad pointer: EFAULT
    assert d.dispatch(thread(errno_fault=33), 4, args) == -33  # the personality's own number
    assert d.dispatch(t, 6, args) is None  # blocked: the result comes later
    assert d.dispatch(t, 8, args) == 9 + 2 and d.dispatch(t, 9, args) == 5
    assert d.count == 8 and kernel.killed == []
    assert d.dispatch(t, 5, args) is None  # no frame left: the caller dies as Linux's OOM killer does
    assert kernel.killed == [(9, 9, "out of memory", 0x401000)]  # SIGKILL, where the call was made
    assert d.dispatch(t, 500, args) == -38 and d.dispatch(t, 500, args) == -38
    assert d.dispatch(thread(errno_nosys=99), 501, args) == -99
    assert d.unknown == {500: 2, 501: 1} and d.count == 12
    assert kernel.events[-3:] == [("unknown_syscall", 5, {"tid": 9, "nr": 500})] * 2 + [
        ("unknown_syscall", 5, {"tid": 9, "nr": 501})
    ]


def test_a_traced_call_is_one_event_with_its_arguments_and_signed_result():
    kernel = Kernel()
    d = TracingDispatcher(kernel)
    t = thread()
    d.dispatch(t, 1, reader([2, 3]))
    d.dispatch(t, 4, reader([0x10]))
    d.dispatch(t, 6, reader([]))
    d.dispatch(t, 7, reader([]))
    assert kernel.lines == [
        {
            "t": 1002,
            "ev": "syscall",
            "core": 2,
            "pid": 5,
            "tid": 9,
            "name": "add",
            "nr": 1,
            "args": [2, 3],
            "ret": 5,
        },
        {
            "t": 1002,
            "ev": "syscall",
            "core": 2,
            "pid": 5,
            "tid": 9,
            "name": "fault",
            "nr": 4,
            "args": [16],
            "ret": -14,
        },
        {
            "t": 1002,
            "ev": "syscall",
            "core": 2,
            "pid": 5,
            "tid": 9,
            "name": "blocks",
            "nr": 6,
            "args": [],
            "ret": None,
        },
        {
            "t": 1002,
            "ev": "syscall",
            "core": 2,
            "pid": 5,
            "tid": 9,
            "name": "negative",
            "nr": 7,
            "args": [],
            "ret": -14,
        },
    ]
    kernel.tracing = False  # tracing turned off: no line
    d.dispatch(t, 1, reader([1, 1]))
    assert len(kernel.lines) == 4
    kernel.tracing = True
    d.dispatch(t, 5, reader([]))
    assert kernel.lines[-1]["name"] == "oom" and kernel.lines[-1]["ret"] is None


@pytest.mark.parametrize(
    ("value", "signed"), [(0, 0), (2**63 - 1, 2**63 - 1), (2**63, -(2**63)), (2**64 - 1, -1)]
)
def test_results_are_traced_as_signed_64_bit_numbers(value, signed):
    kernel = Kernel()
    calls = {8: Syscall(8, "raw", lambda t: value, 0)}
    t = thread()
    t.process.syscall_map = calls
    assert TracingDispatcher(kernel).dispatch(t, 8, reader([])) == value  # the register keeps it
    assert kernel.lines[0]["ret"] == signed


def test_a_traced_call_is_stamped_with_its_cores_virtual_time():
    """The dispatcher computes Kernel.now(core) itself (inlined for speed): the same number."""
    kernel = Kernel()
    kernel.deterministic = True
    kernel.ips, kernel.round_start_ns, kernel._core_used = 3_000_000_000, 7_000_123, [0, 0, 2]
    # past 2**31 instructions and not a whole nanosecond: any other rounding shows
    kernel.machine = SimpleNamespace(live_instructions=lambda core: 1_000_000_000 * core)
    TracingDispatcher(kernel).dispatch(thread(), 3, reader([]))
    expected = real_kernel.Kernel.now(kernel, 2)
    stamp = kernel.lines[0]["t"]
    assert stamp == expected == 7_000_123 + 2_000_000_002 * 10**9 // 3_000_000_000 == 673_666_790
    assert isinstance(stamp, int)


@pytest.mark.parametrize("tracing", [True, False])
def test_a_call_finished_in_its_wake_is_traced_with_its_result(tracing):
    """A call that slept and was completed by the wake (WaitQueue's finish) gets the line running
    it again would have written: its name, number and arguments (as many as it takes), its result,
    the waker's time and no core; untraced kernels and unknown numbers write nothing."""
    kernel = Kernel()
    kernel.tracing = tracing
    kernel.active_core = 1
    d = TracingDispatcher(kernel)
    t = thread()
    t.context = SimpleNamespace(syscall_number=lambda: 1)
    d.finished(t, (2, 3, 99), 5)
    t.context = SimpleNamespace(syscall_number=lambda: 600)
    d.finished(t, (1,), 0)
    SyscallDispatcher(kernel).finished(t, (1,), 0)  # nothing to trace without the tracing dispatcher
    expected = [
        {"t": 1001, "ev": "syscall", "pid": 5, "tid": 9, "name": "add", "nr": 1, "args": [2, 3], "ret": 5}
    ]
    assert kernel.lines == (expected if tracing else [])
