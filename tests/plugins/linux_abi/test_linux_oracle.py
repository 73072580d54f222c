"""Linux is the oracle: the guest programs that check Linux behaviour print the same natively on
this host (support/oracle.py) as under kernkit, but for the differences listed here with their
reasons (docs/testing.md lists them too)."""

from __future__ import annotations

import re
import shlex

import pytest
from support import ROOT, run_kernel
from support.oracle import Difference, sandboxed

#: Program and arguments, and what it reads on stdin. fstest's exit status is its count of
#: failed checks, so for it the (masked) output says everything.
CASES = {
    "hello": b"",
    "echo_args one two": b"",
    "tls": b"",
    "exitcode 77": b"",
    "readline": b"line one\nline two\n",
    "memtest": b"",
    "clock": b"",
    "vmcheck restore": b"",
    "vmcheck protnone": b"",
    "vmcheck jit": b"\xb8\x02\x00\x00\x00\xc3",
    "vmcheck random": b"",
    "fault null": b"",
    "fault write-ro": b"",
    "fault exec-stack": b"",
    "fault exec-data": b"",
    "fault kernel": b"",
    "fault noncanonical": b"",
    "fault top": b"",
    "fault write-after-read": b"",
    "fault jump": b"",
    "fault ud2": b"",
    "fault div0": b"",
    "fault hlt": b"",
    "fault efault": b"",
    "procs fork": b"",
    "procs kill": b"",
    "procs tree": b"",
    "procs orphan": b"",
    "procs condvar": b"",
    "procs threads 8": b"",
    "threads wake 5 2": b"",
    "threads futex": b"",
    "threads spin 4 1000": b"",
    "threads pingpong 100": b"",
    "nettest echo 7000 20": b"",
    "nettest many 50": b"",
    "nettest refused 9": b"",
    "nettest reset": b"",
    "nettest halfclose": b"",
    "nettest big 1048576": b"",
    "nettest udp": b"",
    "nettest select": b"",
    "nettest leak": b"",
    "fstest errors": b"",
    "fstest io": b"",
    "fstest dirs": b"",
    "fstest fds": b"",
    "fstest pipe": b"",
    "fstest fork": b"",
    "fstest exec": b"",
    "copyio splice copy sendfile": b"",
    "pidfd pidfd clocks": b"",
}

TIME = "a figure in time: kernkit's is virtual time (instructions retired), Linux's the host's"
PORT = "kernkit gives ephemeral ports from 49152 up, in order (deterministic); Linux picks them at random"
RANDOM = "kernkit's random bytes come from [kernel] seed (deterministic); Linux's are random"
NAMESPACE = "a Plan 9 namespace of kernkit's own: {} (the check is kernkit's, Linux has no such thing)"
KERNKIT_ROOT = (
    "kernkit's read-only root holds /bin with the packaged programs; the host's /bin has no /bin/{}"
)
FSTEST = r"(ok|FAIL) {}(:|$)"

DIFFERENCES = [
    Difference("clock", "elapsed_ns=", TIME),
    Difference("threads pingpong 100", "pingpong: ", TIME),
    Difference("threads futex", "wait", TIME, part=r"\(\d+ us\)"),
    Difference("nettest big 1048576", "big ok: ", TIME),
    Difference("nettest echo 7000 20", "local 127.0.0.1:", PORT),
    Difference("nettest leak", "local 127.0.0.1:", PORT),
    Difference("vmcheck random", "(AT_RANDOM|getrandom) ", RANDOM),
    Difference(
        "fstest errors",
        FSTEST.format("(write to read-only root|access W_OK on root): EROFS"),
        KERNKIT_ROOT.format("hello"),
    ),
    Difference(
        "fstest errors",
        FSTEST.format("(unlink a directory: EISDIR|rmdir a mount point: EBUSY)"),
        "unlink and rmdir of /tmp: kernkit looks at what the name is first (EISDIR, EBUSY), "
        "Linux at whether its directory's file system is writable (EROFS under a read-only /)",
    ),
    Difference(
        "fstest errors",
        FSTEST.format("create in a union without -c: EACCES"),
        NAMESPACE.format("a union directory on /dev"),
    ),
    Difference(
        "fstest io",
        FSTEST.format("(stat the console|the console is a character device)"),
        NAMESPACE.format("/dev/cons"),
    ),
    Difference("fstest io", FSTEST.format("read /dev/version") + r'|"$', NAMESPACE.format("/dev/version")),
    Difference("fstest io", FSTEST.format("access R_OK"), KERNKIT_ROOT.format("hello")),
    Difference(
        "fstest dirs",
        FSTEST.format(
            "(chdir into a device|getcwd in a device|its path|"
            "the device holds /tmp's files|.. stops at the device's root)"
        ),
        NAMESPACE.format("#tmpfs, a device named by path"),
    ),
    Difference("fstest dirs", FSTEST.format("/ lists the mount points"), NAMESPACE.format("its root")),
    Difference(
        "fstest fds",
        r"fd \d+ (open|closed)|" + FSTEST.format("exec'd child exited"),
        KERNKIT_ROOT.format("fstest"),
    ),
    Difference(
        "fstest exec", FSTEST.format("a program copied into #tmpfs runs"), KERNKIT_ROOT.format("exitcode")
    ),
]


def masked(case: str, text: str) -> str:
    for difference in DIFFERENCES:
        if difference.program == case:
            text = difference.mask(text)
    return text


@pytest.mark.parametrize("case", CASES)
def test_the_program_prints_under_kernkit_what_it_prints_on_linux(case):
    program, *args = shlex.split(case)
    linux = sandboxed(program, *args, stdin=CASES[case])
    kernkit = run_kernel(program, *args, stdin=CASES[case])
    assert masked(case, kernkit.out) == masked(case, linux.out), linux.err
    if program != "fstest":
        assert kernkit.status == linux.status


@pytest.mark.parametrize("difference", DIFFERENCES, ids=lambda d: f"{d.program}: {d.lines[:30]}")
def test_each_listed_difference_is_real_and_documented(difference):
    """A difference that no longer shows was fixed: take it off the list (and off docs/testing.md)."""
    program, *args = shlex.split(difference.program)
    linux = sandboxed(program, *args, stdin=CASES[difference.program])
    kernkit = run_kernel(program, *args, stdin=CASES[difference.program])
    pattern = re.compile(f"(?m)^(?:{difference.lines}).*$")
    assert [m[0] for m in pattern.finditer(kernkit.out)] != [m[0] for m in pattern.finditer(linux.out)]
    assert f"`{difference.program}`" in (ROOT / "docs" / "testing.md").read_text()
