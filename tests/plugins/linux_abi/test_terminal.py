"""The console as the controlling terminal: on a host terminal (here a pseudo-terminal), init's
session has it, and the terminal ioctls answer (TIOCGPGRP/TIOCSPGRP, TIOCGWINSZ with the host
terminal's size, TCGETS/TCSETS, TIOCGSID). Off a terminal they say ENOTTY (sigtest's groups)."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

from support import ROOT


def test_the_console_is_init_s_controlling_terminal_on_a_host_terminal():
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("<HHHH", 33, 77, 0, 0))
    command = [sys.executable, "-m", "kernkit.tools.cli", "boot", "--", "sigtest", "tty"]
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, cwd=ROOT)
    os.close(slave)
    out = b""
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # the other end closed
            break
        if not data:
            break
        out += data
    os.close(master)
    assert process.wait(timeout=60) == 0
    assert out.decode().replace("\r\n", "\n").splitlines() == [
        "tcgetpgrp is our group: 1",
        "TIOCGWINSZ: 0",
        "rows 33 cols 77",
        "tcgetattr: 0",
        "ICANON 1 ECHO 1",
        "tcsetattr: 0",
        "ECHO after tcsetattr 0",
        "tcsetpgrp to a group of no process (EPERM): -1 errno 1",
        "tcsetpgrp to the child's group: 0",
        "foreground is now the child's group 1",
        "tcgetsid is our session: 1",
        "tty done",
    ]
