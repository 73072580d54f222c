"""Host I/O in the run loop: plugins' descriptors are served between rounds, and an idle kernel
that a plugin keeps alive waits for the host instead of stopping."""

from __future__ import annotations

import socket
import threading
import time

from support import add_module, config_with_plugins, run_kernel

from kernkit.core.hostio import HostIO

PLUGIN = """
import socket
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import BootStep

PAIR = {}

def start(kernel):
    ours, theirs = socket.socketpair()
    PAIR["host"] = theirs
    PAIR["seen"] = []

    def readable():
        data = ours.recv(100)
        PAIR["seen"].append((data, kernel.now()))
        if data == b"stop":
            kernel.exit_process(kernel.init, 7)

    kernel.hostio.add_reader(ours.fileno(), readable)
    if KEEP:
        kernel.hostio.keep_alive("test")
    PAIR["ready"].set()

@hookimpl
def kernkit_boot_steps():
    return [BootStep("hostio_test", "services", start)]
"""


def plugin(plugin_dir, keep: bool) -> tuple[str, object]:
    import importlib
    import threading as _threading

    name = add_module(plugin_dir, PLUGIN.replace("KEEP", str(keep)), prefix="kk_hostio")
    module = importlib.import_module(name)
    module.PAIR["ready"] = _threading.Event()
    return name, module


def test_an_idle_kernel_kept_alive_waits_for_the_host(plugin_dir, tmp_path):
    name, module = plugin(plugin_dir, keep=True)
    config = config_with_plugins(tmp_path / "k.toml", [name], '[init]\nprogram = "idle"\n')

    def host():
        module.PAIR["ready"].wait(30)
        time.sleep(0.3)  # the kernel is idle by now: it must be waiting, not finished
        module.PAIR["host"].sendall(b"hello")
        time.sleep(0.1)
        module.PAIR["host"].sendall(b"stop")

    thread = threading.Thread(target=host)
    thread.start()
    run = run_kernel(config=config)
    thread.join()
    assert run.status == 7, run.err
    assert run.out == "idle\n"
    assert [data for data, _ in module.PAIR["seen"]][:1] == [b"hello"]
    assert "deadlock" not in run.err


def test_without_keep_alive_a_blocked_kernel_still_reports_deadlock(plugin_dir, tmp_path):
    name, _ = plugin(plugin_dir, keep=False)
    config = config_with_plugins(tmp_path / "k.toml", [name], '[init]\nprogram = "idle"\n')
    run = run_kernel(config=config)
    assert run.status == 70 and "deadlock" in run.err


def test_descriptors_are_polled_while_guests_run(plugin_dir, tmp_path):
    name, module = plugin(plugin_dir, keep=False)
    config = config_with_plugins(
        tmp_path / "k.toml", [name], '[init]\nprogram = "spin"\nargs = ["100000000000"]\n'
    )

    def host():
        module.PAIR["ready"].wait(30)
        module.PAIR["host"].sendall(b"stop")

    thread = threading.Thread(target=host)
    thread.start()
    run = run_kernel(config=config)
    thread.join()
    assert run.status == 7  # the callback ended init while it was still spinning
    assert module.PAIR["seen"][0][1] > 0  # at some virtual time after boot


def test_an_unused_facility_leaves_runs_identical():
    first = run_kernel("procs", "3", trace=True)
    second = run_kernel("procs", "3", trace=True)
    assert first.kernel.tracer.digest == second.kernel.tracer.digest
    assert not first.kernel.hostio.active


def test_writers_and_removal():
    io = HostIO()
    a, b = socket.socketpair()
    calls = []
    io.add_writer(a.fileno(), lambda: calls.append("w"))
    io.add_reader(a.fileno(), lambda: calls.append("r"))
    assert io.poll() and calls == ["w"]  # writable at once, nothing to read yet
    b.sendall(b"x")
    io.remove_writer(a.fileno())
    assert io.poll() and calls == ["w", "r"]
    io.remove_reader(a.fileno())
    assert not io.active and not io.poll()
    assert not io.wait_idle()  # nobody keeps the kernel alive
    io.close()
    a.close()
    b.close()


TWO_SOCKETS = """
import socket
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import BootStep

STATE = {}

def start(kernel):
    a_ours, a_host = socket.socketpair()
    b_ours, b_host = socket.socketpair()
    STATE["a"] = a_host

    def on_a():
        a_ours.recv(100)
        b_host.sendall(b"stop")  # ready only after this select: the next poll between rounds sees it

    def on_b():
        b_ours.recv(100)
        kernel.exit_process(kernel.init, 5)

    kernel.hostio.add_reader(a_ours.fileno(), on_a)
    kernel.hostio.add_reader(b_ours.fileno(), on_b)
    kernel.hostio.keep_alive("test")
    STATE["ready"].set()

@hookimpl
def kernkit_boot_steps():
    return [BootStep("hostio_two", "services", start)]
"""


def test_input_that_ends_init_between_rounds_ends_the_run(plugin_dir, tmp_path):
    """Host input handled by the poll between rounds may end init: the kernel then stops
    instead of waiting for more input."""
    import importlib

    name = add_module(plugin_dir, TWO_SOCKETS, prefix="kk_hostio2")
    module = importlib.import_module(name)
    module.STATE["ready"] = threading.Event()
    config = config_with_plugins(tmp_path / "k.toml", [name], '[init]\nprogram = "idle"\n')
    result = {}

    def run():
        result["run"] = run_kernel(config=config)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    module.STATE["ready"].wait(30)
    time.sleep(0.3)  # init is blocked: the kernel waits for the host
    module.STATE["a"].sendall(b"go")
    runner.join(30)
    assert not runner.is_alive(), "the kernel waited for host input after init had exited"
    assert result["run"].status == 5
