"""The console on a terminal (a pty here): the kernel's line discipline and the Ctrl-A keys."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import termios
import time

import pytest
from support import ROOT, default_signals, kernkit_cli


class Pty:
    """``kernkit ARGS`` with a pty as its stdin, stdout and stderr, as in a terminal window."""

    def __init__(self, *args: str) -> None:
        self.master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kernkit.tools.cli", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=default_signals,
        )
        os.close(slave)
        self.seen = b""

    def expect(self, text: bytes, timeout: float = 60) -> bytes:
        """Read until ``text`` has appeared (AssertionError with what came, after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while text not in self.seen:
            left = deadline - time.monotonic()
            readable, _, _ = select.select([self.master], [], [], max(left, 0))
            if not readable:
                raise AssertionError(f"no {text!r} after {timeout} s; the terminal shows {self.seen!r}")
            try:
                self.seen += os.read(self.master, 4096)
            except OSError:  # the program ended and closed the terminal
                raise AssertionError(f"no {text!r}; the terminal shows {self.seen!r}") from None
        return self.seen

    def wait_raw(self, timeout: float = 60) -> None:
        """Wait until the console has put the terminal in its own (non-canonical) mode: the
        kernel is up and its guests run."""
        deadline = time.monotonic() + timeout
        while termios.tcgetattr(self.master)[3] & termios.ICANON:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the console never took the terminal; it shows {self.seen!r}")
            time.sleep(0.02)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def wait(self, timeout: float = 60) -> int:
        status = self.proc.wait(timeout=timeout)
        try:  # whatever is left on the screen
            while select.select([self.master], [], [], 0.2)[0]:
                self.seen += os.read(self.master, 4096)
        except OSError:
            pass
        return status

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        os.close(self.master)


@pytest.fixture
def terminal():
    started: list[Pty] = []

    def start(*args: str) -> Pty:
        started.append(Pty(*args))
        return started[-1]

    yield start
    for session in started:
        session.close()


def test_ctrl_a_c_opens_the_monitor_while_a_guest_computes(terminal):
    t = terminal("boot", "--", "spin", "100000000000")
    t.wait_raw()  # the guest is computing, not reading its input
    t.type(b"\x01c")
    t.expect(b"Entering the kernkit monitor. Type 'help' for a list of commands.")
    t.expect(b"kernkit> ")
    t.type(b"ps\n")  # the terminal's own line editing and echo while in the monitor
    screen = t.expect(b"RUNNING_S")
    assert b"ps\r\n" in screen and b"spin" in screen
    t.type(b"continue\n")
    t.wait_raw()  # back in the console's mode: what follows is the console's, not the monitor's
    t.type(b"\x01h")
    t.expect(b"console keys: Ctrl-A c  kernel monitor | Ctrl-A x  end the run")
    t.type(b"\x01x")
    assert t.wait() == 137  # the run ended: init was killed
    assert b"kernkit: console: Ctrl-A x: the run ends" in t.seen


def test_the_line_discipline_edits_echoes_and_ends_input(terminal):
    t = terminal("boot", "--", "readline")
    t.wait_raw()  # the kernel's line discipline edits and echoes, not the host's
    t.type(b"helo\x7flo wrld")  # DEL erases the last character
    t.type(b"\x17world\n")  # Ctrl-W erases a word
    t.expect(b"got: hello world\r\n")
    t.type(b"x\x15second \x01\x01line\n")  # Ctrl-U kills the line; Ctrl-A Ctrl-A is a Ctrl-A
    t.expect(b"second ^Aline\r\nsecond \x01line\r\n")
    t.type(b"\x04")  # Ctrl-D on an empty line: end of file
    assert t.wait() == 0
    assert b"hello world" in t.seen


def test_quit_in_the_monitor_ends_the_run_and_the_terminal_is_restored(terminal):
    t = terminal("boot", "--", "spin", "100000000000")
    t.wait_raw()
    running = termios.tcgetattr(t.master)
    assert not running[3] & termios.ICANON and not running[3] & termios.ECHO  # the console's mode
    assert running[3] & termios.ISIG  # Ctrl-C still interrupts kernkit
    t.type(b"\x01c")
    t.expect(b"kernkit> ")
    t.type(b"quit\n")
    assert t.wait() == 137
    assert b"kernkit: monitor: quit: the run ends" in t.seen
    after = termios.tcgetattr(t.master)
    assert after[3] & termios.ICANON and after[3] & termios.ECHO  # canonical again, echoing


def test_without_a_terminal_ctrl_a_is_just_input():
    result = kernkit_cli("boot", "--", "readline", stdin=b"a\x01cb\n")
    assert result.returncode == 0 and result.stdout == b"got: a\x01cb\n"


def test_escape_none_leaves_the_terminal_to_the_host(terminal):
    t = terminal("boot", "--set", "console.escape=none", "--", "readline")
    t.type(b"abc\x01c\n")
    t.expect(b"got: abc\x01c\r\n")  # the host's echo shows ^A; the guest got the byte
    t.type(b"\x04")
    assert t.wait() == 0
    assert b"Entering the kernkit monitor" not in t.seen


def test_an_interrupted_run_gives_the_terminal_back(terminal):
    t = terminal("boot", "--", "spin", "100000000000")
    t.wait_raw()
    t.proc.send_signal(signal.SIGINT)  # Ctrl-C
    assert t.wait() == 130
    assert b"kernkit: interrupted" in t.seen
    assert termios.tcgetattr(t.master)[3] & termios.ICANON
