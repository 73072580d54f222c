"""The C system call entry (arch/x86_64/_native.c) looks handlers up, calls them and builds the
traced records itself, and does a read of a cached #tmpfs page and a plain close itself; the Python entry does the
same. Both must give the same runs: output, status, trace (to the byte), the dispatcher's count of
calls and of unknown numbers."""

from __future__ import annotations

import io

import pytest
from support import run_kernel

from kernkit.arch.x86_64.cpu import entry_kind
from kernkit.arch.x86_64.native import ENTRY_DISPATCH, ENTRY_HANDLER, ENTRY_TRACED, native_library
from kernkit.core.assemble import assemble, boot
from kernkit.core.records import Syscall
from kernkit.core.syscalls import SyscallDispatcher, TracingDispatcher

#: Calls that leave the C entry for Python: a bad pointer (-EFAULT), unknown numbers, signals
#: delivered on the way out, threads blocking and handed over between cores, exec, a cost model.
CASES = {
    "efault": (("fault", "efault"), {}),
    "unknown-numbers": (("sysfuzz",), {}),
    "signals": (("sigtest", "eintr"), {}),
    "timers": (("sigtest", "timers"), {}),
    "threads-2-cores": (("procs", "threads", "4"), {"machine__cores": 2, "machine__quantum": 777}),
    "exec": (("procs", "exec"), {}),
    "costs": (("threads", "pingpong", "20"), {"costs__preset": "akaros-like"}),
    # reads of cached #tmpfs pages (done in C), with the first read's access time (in Python)
    "tmpfs-reads": (("openloop", "/tmp/f", "40"), {}),
    "tmpfs-io": (("fstest", "io"), {}),
    "tmpfs-fds": (("fstest", "fds"), {}),
    "tmpfs-dirs": (("fstest", "dirs"), {}),
    "tmpfs-locks": (("fsmeta", "locks", "/tmp"), {}),  # closes that drop locks: Python
}


def needs_native() -> None:
    if native_library() is None:
        pytest.skip("the native library is not built here (no compiler at install?)")


def outcome(args, settings, traced: bool) -> dict:
    run = run_kernel(*args, trace=traced, **settings)
    dispatcher = run.kernel.dispatcher
    return {
        "status": run.status,
        "out": run.out,
        "err": run.err,
        "trace": run.trace,
        "calls": dispatcher.count,
        "unknown": dict(dispatcher.unknown),
    }


@pytest.mark.parametrize("traced", [False, True], ids=["untraced", "traced"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_c_entry_runs_exactly_as_the_python_entry(case, traced, monkeypatch):
    needs_native()
    args, settings = CASES[case]
    native = outcome(args, settings, traced)
    monkeypatch.setenv("KERNKIT_PURE_PYTHON", "1")
    python = outcome(args, settings, traced)
    assert native == python
    assert native["calls"] > 0
    assert bool(native["trace"]) is traced


def test_the_c_entry_reads_and_closes_tmpfs_files_without_the_drivers_python(monkeypatch):
    needs_native()
    from kernkit.plugins.ns.devtmpfs import TmpfsDevice

    calls = {"read": 0, "close": 0}

    def counted(name):
        python = getattr(TmpfsDevice, name)

        def call(self, *args, **kwargs):
            calls[name] += 1
            return python(self, *args, **kwargs)

        monkeypatch.setattr(TmpfsDevice, name, call)

    counted("read")
    counted("close")
    native = run_kernel("openloop", "/tmp/f", "50")
    in_python = dict(calls)
    monkeypatch.setenv("KERNKIT_PURE_PYTHON", "1")
    python = run_kernel("openloop", "/tmp/f", "50")
    assert native.out == python.out == "3200\n"  # 50 reads of the 64-byte file
    # the first read sets the access time (relatime) and goes through Python; the rest and every
    # close (the file's creation's too) are C's
    assert in_python == {"read": 1, "close": 0}
    assert {name: count - in_python[name] for name, count in calls.items()} == {"read": 50, "close": 51}


def test_the_c_entry_dispatches_what_it_can_do_exactly():
    needs_native()
    plain = run_kernel("hello").kernel
    traced = run_kernel("hello", trace=True).kernel
    costed = run_kernel("hello", costs__preset="linux-like").kernel
    assert entry_kind(plain.dispatcher) == "plain"
    assert entry_kind(traced.dispatcher) == "traced"
    assert entry_kind(costed.dispatcher) is None  # the cost model wraps it: Python dispatches
    modes = [k.machine.cores[0]._syscall_entry.mode for k in (plain, traced, costed)]
    assert modes == [ENTRY_DISPATCH, ENTRY_TRACED, ENTRY_HANDLER]

    class Changed(TracingDispatcher):  # a dispatch of its own: the C must not stand in for it
        def dispatch(self, thread, number, read_args):
            return super().dispatch(thread, number, read_args)

    class Same(SyscallDispatcher):
        pass

    assert entry_kind(Changed(traced)) is None
    assert entry_kind(Same(plain)) == "plain"


def _panic_of_a_broken_getpid() -> tuple[int, bytes]:
    """syscall_loop with a getpid handler that raises (a kernel bug): the kernel panics."""
    err = io.BytesIO()
    settings = {"init.program": "syscall_loop", "init.args": ["3"]}
    kernel = assemble(None, overrides=settings, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=err)
    boot(kernel)

    def broken(thread):
        raise RuntimeError("a kernel bug in getpid")

    process = kernel.init
    process.syscall_map = {**process.syscall_map, 39: Syscall(39, "getpid", broken)}
    return kernel.run(), err.getvalue()


def test_a_handler_that_raises_a_kernel_bug_panics_the_kernel_as_in_python(monkeypatch):
    needs_native()
    runs = [_panic_of_a_broken_getpid()]
    monkeypatch.setenv("KERNKIT_PURE_PYTHON", "1")
    runs.append(_panic_of_a_broken_getpid())
    for status, err in runs:  # the traceback's frames differ; the panic and the state do not
        assert status == 70
        assert err.splitlines()[0] == b"kernkit: kernel panic: RuntimeError: a kernel bug in getpid"
    native, python = (err[err.index(b"PID  Name") :] for _, err in runs)
    assert native == python
    assert b"syscall_loop" in native
