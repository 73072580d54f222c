"""Debian's gdb, in batch mode, debugging real guests through ``kernkit boot --gdb``."""

from __future__ import annotations

import re
import signal
import subprocess
import time

from support import default_signals
from support.gdb import DEMO, GDB, needs_gdb, symbol

pytestmark = needs_gdb


def test_break_continue_bt_registers_memory_print_step_next(guest):
    g = guest(str(DEMO))
    out = g.gdb(
        "break main",
        "continue",
        "break add_up",
        "continue",
        "bt",
        "info registers rip",
        "x/s greeting",
        "print counter",
        "print n",
        "stepi",
        "info registers rip",
        "next",
        "next",
        "print total",
        "finish",
        "continue",
    )
    assert g.wait() == 0, g.err
    assert (
        "0x000000000040102b in _start ()" in out or "in _start ()" in out
    )  # held before init's first instruction
    assert re.search(r"Breakpoint 1, main \(argc=1, argv=0x[0-9a-f]+\) at \./gdbdemo\.c:\d+", out), out
    assert re.search(r"Breakpoint 2, add_up \(n=10\) at \./gdbdemo\.c:\d+", out), out
    assert re.search(r"#0  add_up \(n=10\) at \./gdbdemo\.c:\d+\n#1  0x[0-9a-f]+ in main \(argc=1, ", out), (
        out
    )
    rips = re.findall(r"rip\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+ <add_up\+(\d+)>", out)
    assert len(rips) == 2 and int(rips[0][0], 16) != int(rips[1][0], 16), out  # stepi moved
    assert int(rips[0][0], 16) > symbol("add_up")
    assert '"hello from gdbdemo"' in out
    assert "$1 = 0\n$2 = 10\n" in out  # counter is still 0; n is add_up's argument
    assert "for (int i = 1; i <= n; i++)" in out and "total += square(i);" in out  # next, by lines
    assert "Value returned is $4 = 385" in out
    assert "exited normally" in out
    assert g.out == "hello from gdbdemo: counter=385\n"


def test_symbols_come_from_the_exec_file_the_stub_names(guest):
    g = guest(str(DEMO))
    out = g.gdb("break square", "continue", "bt 1", "kill", program=None)
    assert f"Reading symbols from {DEMO}" in out
    assert re.search(r"#0  square \(x=1\) at \./gdbdemo\.c:\d+", out), out
    assert g.wait() == 137


def test_breakpoints_written_into_memory_when_gdb_is_told_not_to_use_z_packets(guest):
    g = guest(str(DEMO))
    out = g.gdb(
        "set remote software-breakpoint-packet off",
        "set remote hardware-breakpoint-packet off",
        "break square",
        "continue",
        "continue",
        "print x",
        "delete",
        "continue",
    )
    assert g.wait() == 0, g.err
    assert "Breakpoint 1, square (x=1)" in out and "Breakpoint 1, square (x=2)" in out
    assert "$1 = 2" in out and "SIGTRAP" not in out
    assert g.out == "hello from gdbdemo: counter=385\n"  # gdb's int3 bytes were all taken out again


def test_threads_are_gdb_threads_and_a_second_thread_stops_at_a_breakpoint(guest):
    g = guest(str(DEMO), "threads", "3")
    out = g.gdb(
        "break worker", "continue", "info threads", "continue", "thread", "print arg", "delete", "continue"
    )
    assert g.wait() == 0, g.err
    assert "[New Thread 2]" in out and "[New Thread 4]" in out
    assert "Thread 2 hit Breakpoint 1, worker (arg=0x1)" in out
    assert "Thread 3 hit Breakpoint 1, worker (arg=0x2)" in out
    listing = out[out.index("  Id   Target Id") :]
    assert re.search(r"\* 2    Thread 2 \(pid 1 gdbdemo RUNNING_S, on core 0\) worker \(arg=0x1\)", listing)
    assert re.search(r"  1    Thread 1 \(pid 1 gdbdemo RUNNING_S, blocked\)", listing)
    assert "[Current thread is 3 (Thread 3)]" in out and "$1 = (void *) 0x2" in out
    assert "exited normally" in out
    assert g.out == "threads: counter=6\n"


def test_breakpoint_in_a_forked_child(guest):
    g = guest(str(DEMO), "fork")
    out = g.gdb("break child_task", "continue", "info threads", "next", "print counter", "continue")
    assert g.wait() == 0, g.err
    assert "Thread 2 hit Breakpoint 1, child_task () at ./gdbdemo.c" in out
    assert re.search(r"\* 2    Thread 2 \(pid 2 gdbdemo RUNNING_S, on core 0\) child_task", out)
    assert re.search(r"  1    Thread 1 \(pid 1 gdbdemo WAITING, blocked\)", out)
    assert "$1 = 42" in out  # the child's memory, after its assignment
    assert g.out == "fork: child 2 exited with 3\n"


def test_a_segfault_is_reported_to_gdb_before_the_kernel_kills(guest):
    g = guest(str(DEMO), "segv")
    out = g.gdb("continue", "bt", "print nowhere", "continue")
    assert "Program received signal SIGSEGV, Segmentation fault." in out
    assert re.search(r"#0  0x[0-9a-f]+ in crash \(\) at \./gdbdemo\.c:\d+\n#1  0x[0-9a-f]+ in main", out), out
    assert "$1 = (volatile int * volatile) 0x0" in out
    assert "Program terminated with signal SIGSEGV, Segmentation fault." in out
    assert g.wait() == 139
    assert "kernkit: pid 1 (gdbdemo) killed by SIGSEGV: page fault, not mapped at 0x0 (write)" in g.err


def test_kill_ends_the_run(guest):
    g = guest(str(DEMO), "spin")
    out = g.gdb("break main", "continue", "kill")
    assert "[Inferior 1 (Remote target) killed]" in out
    assert g.wait() == 137
    assert "kernkit: gdb: kill: the program is killed and the run ends" in g.err


def test_detach_lets_the_program_finish(guest):
    g = guest(str(DEMO))
    out = g.gdb("break square", "continue", "detach")
    assert "[Inferior 1 (Remote target) detached]" in out
    assert g.wait() == 0, g.err
    assert g.out == "hello from gdbdemo: counter=385\n"  # the removed breakpoint stopped nothing
    assert "kernkit: gdb: detached; the kernel runs on" in g.err


def test_ctrl_c_in_gdb_interrupts_a_spinning_guest(guest, tmp_path):
    g = guest(str(DEMO), "spin")
    commands = ["continue", "bt 1", "print spins > 1000", "kill"]
    args = [GDB, "-batch", "-nx", str(DEMO), "-ex", f"target remote {g.host}:{g.port}"]
    for command in commands:
        args += ["-ex", command]
    with open(tmp_path / "gdb.out", "wb") as out:
        session = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, preexec_fn=default_signals)
        try:
            time.sleep(1)  # the guest spins
            session.send_signal(signal.SIGINT)  # what Ctrl-C at gdb's terminal does
            assert session.wait(timeout=60) == 0
        finally:
            session.kill()
            session.wait()
    text = (tmp_path / "gdb.out").read_text()
    assert "Program received signal SIGINT, Interrupt." in text
    # gdb writes "0x... in main (...)" mid-line and "main (...)" when the pc starts a line
    assert re.search(r"^(#0 +)?(0x[0-9a-f]+ in )?main \(argc=2", text, re.M), text
    assert "$1 = 1" in text
    assert g.wait() == 137
