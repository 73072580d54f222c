"""The kernel monitor: on demand with --monitor, and after a panic (with ps and a backtrace)."""

from __future__ import annotations

import pytest
from support import broken_kernel, kernkit_cli


def test_monitor_commands_on_demand(tmp_path):
    commands = b"ps\ncores\nregs\nbt 1\nmem 0x400000 16\ntrace 2\nnonsense\ncontinue\n"
    result = kernkit_cli(
        "boot", "--monitor", "--trace", str(tmp_path / "t.jsonl"), "--", "hello", stdin=commands
    )
    assert result.returncode == 0 and result.stdout == b"Hello from kernkit!\n"
    err = result.stderr.decode()
    assert err.startswith("Entering the kernkit monitor. Type 'help' for a list of commands.\n")
    assert "    1  hello                RUNNABLE_S   0" in err
    assert "core 0: idle" in err and "thread 1.1: pc=0x" in err
    assert "0x000000400000  7f 45 4c 46 02 01 01 00 00 00 00 00 00 00 00 00  .ELF............" in err
    assert '"ev":"thread"' in err and "unknown command 'nonsense'" in err


@pytest.mark.parametrize("stdin", [b"quit\n", b""], ids=["quit", "eof"])
def test_quit_in_the_monitor_ends_the_run_before_it_starts(stdin):
    """Ending the run before init ran is no success: 137, as a quit later in the run."""
    result = kernkit_cli("boot", "--monitor", stdin=stdin)
    assert result.returncode == 137 and result.stdout == b""
    assert b"monitor: quit: the run ends" in result.stderr


def test_panic_report_has_ps_and_a_symbolised_backtrace(tmp_path):
    result = kernkit_cli("boot", str(broken_kernel(tmp_path)), "--", "syscall_loop", "3")
    assert result.returncode == 70
    err = result.stderr.decode()
    assert "kernkit: kernel panic: RuntimeError: getpid is broken" in err
    assert "kernkit:   PID  Name                 State        Parent" in err
    assert "kernkit: thread 1.1 (syscall_loop):" in err
    assert "<syscall+" in err or "<main+" in err  # frames named from the ELF's symbols


def test_after_a_panic_the_monitor_cannot_continue(tmp_path):
    result = kernkit_cli(
        "boot",
        str(broken_kernel(tmp_path)),
        "--monitor",
        "--",
        "syscall_loop",
        "3",
        stdin=b"continue\ncontinue\nbt\nquit\n",
    )
    assert result.returncode == 70
    err = result.stderr.decode()
    assert err.count("Entering the kernkit monitor.") == 2
    assert "the kernel panicked: it cannot continue (quit ends the run)" in err
