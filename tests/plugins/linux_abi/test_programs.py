"""Real static ELF programs run unmodified on the emulated machine."""

from __future__ import annotations

import re

from support import USER_BIN, run_kernel


def test_default_kernel_runs_hello():
    run = run_kernel()
    assert run.status == 0
    assert run.out == "Hello from kernkit!\n"
    assert run.err == ""


def test_argv_and_environment_reach_the_program():
    run = run_kernel("echo_args", "one", "two words", init__env=["A=1", "B=two"])
    assert run.status == 0
    assert run.out.splitlines() == [
        "argc=3",
        "argv[0]=echo_args",
        "argv[1]=one",
        "argv[2]=two words",
        "env=A=1",
        "env=B=two",
    ]


def test_program_without_libc_runs():
    run = run_kernel("minimal")
    assert (run.status, run.out) == (0, "minimal: ok\n")


def test_initialised_thread_local_storage():
    run = run_kernel("tls")
    assert run.out.splitlines() == ["tls counter=42", "tls counter=43"]


def test_heap_mmap_munmap_mprotect():
    run = run_kernel("memtest")
    assert run.status == 0, run.err
    assert run.out.startswith("memtest ok ")


def test_exit_status_is_inits():
    assert run_kernel("exitcode").status == 3
    assert run_kernel("exitcode", "77").status == 77


def test_stdin_comes_from_the_host():
    run = run_kernel("readline", stdin=b"line one\nline two\n")
    assert run.out == "got: line one\nline two\n"


def test_stdin_can_be_disconnected():
    run = run_kernel("readline", stdin=b"ignored", console__stdin="null")
    assert run.out == ""


def test_clock_uname_and_nanosleep_in_virtual_time():
    run = run_kernel("clock")
    lines = run.out.splitlines()
    assert lines[:3] == [
        "clock monotonic advanced: yes",
        "uname sysname=Linux machine=x86_64",
        "nanosleep ok",
    ]
    elapsed = int(re.fullmatch(r"elapsed_ns=(\d+)", lines[3]).group(1))
    # 10 million loop iterations at 1 instruction per virtual ns: tens of milliseconds
    assert 10_000_000 < elapsed < 200_000_000


def test_virtual_time_follows_instructions_per_second():
    slow = run_kernel("clock", machine__ips=500_000_000)
    fast = run_kernel("clock")
    elapsed = [int(r.out.split("elapsed_ns=")[1]) for r in (slow, fast)]
    assert elapsed[0] == 2 * elapsed[1]


def test_nanosleep_advances_virtual_time_not_host_time():
    run = run_kernel("clock", trace=True)
    assert run.status == 0
    assert run.kernel.now() >= 1_000_000  # slept 1 ms of virtual time


def test_host_program_by_path(tmp_path):
    copy = tmp_path / "hello-copy"
    copy.write_bytes((USER_BIN / "hello").read_bytes())
    run = run_kernel(str(copy))
    assert run.out == "Hello from kernkit!\n"


def test_four_cores(tmp_path):
    run = run_kernel("hello", machine__cores=4, machine__memory="256M")
    assert (run.status, run.out) == (0, "Hello from kernkit!\n")


def test_fast_mode_runs_the_same_program():
    run = run_kernel("spin", "1000000", machine__mode="fast")
    assert run.status == 0
    assert run.out == run_kernel("spin", "1000000").out
