"""The kernkit command as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from support import CONFIGS, USER_BIN, kernkit_cli, kernkit_process, read_until


def test_boot_with_no_config_runs_the_packaged_kernel():
    result = kernkit_cli("boot")
    assert (result.returncode, result.stdout, result.stderr) == (0, b"Hello from kernkit!\n", b"")


def test_boot_an_example_config():
    result = kernkit_cli("boot", str(CONFIGS / "minimal.toml"))
    assert result.returncode == 0 and result.stdout == b"Hello from kernkit!\n"


def test_boot_the_quad_variant():
    result = kernkit_cli("boot", str(CONFIGS / "quad.toml"))
    assert result.returncode == 0 and result.stdout == b"Hello from kernkit!\n"


def test_host_program_after_double_dash_with_arguments_and_env():
    result = kernkit_cli("boot", "--env", "X=1", "--", str(USER_BIN / "echo_args"), "a", "b")
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert lines[:4] == ["argc=3", f"argv[0]={USER_BIN / 'echo_args'}", "argv[1]=a", "argv[2]=b"]
    assert "env=X=1" in lines


def test_exit_status_and_fault_status():
    assert kernkit_cli("boot", "--", "exitcode", "5").returncode == 5
    result = kernkit_cli("boot", "--", "fault", "null")
    assert result.returncode == 139
    assert b"killed by SIGSEGV" in result.stderr and b"Traceback" not in result.stderr


def test_stdin_passes_through():
    result = kernkit_cli("boot", "--", "readline", stdin=b"hello there")
    assert result.stdout == b"got: hello there"


def test_set_overrides_a_config_option():
    result = kernkit_cli("boot", "--set", "machine.cores=3", "--set", "init.program=minimal")
    assert result.returncode == 0 and result.stdout == b"minimal: ok\n"


def test_bad_override_is_a_one_line_error():
    result = kernkit_cli("boot", "--set", "machine.cores=zero")
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "kernkit: error: <command line>: machine.cores: expected an integer, got a string ('zero')\n"
    )


def test_trace_is_json_lines(tmp_path):
    trace = tmp_path / "t.jsonl"
    assert kernkit_cli("boot", "--trace", str(trace)).returncode == 0
    events = [json.loads(line) for line in trace.read_text().splitlines()]
    assert any(e["ev"] == "syscall" and e["name"] == "exit_group" for e in events)


def test_check_prints_the_resolved_config():
    result = kernkit_cli("check", str(CONFIGS / "quad.toml"))
    assert result.returncode == 0
    text = result.stdout.decode()
    assert "[machine]" in text and "cores = 4" in text and "memory = 268435456" in text
    assert 'policy = "rr"' in text


def test_plugins_lists_builtins():
    result = kernkit_cli("plugins")
    assert result.returncode == 0
    text = result.stdout.decode()
    for name in ("kernkit.arch.x86_64", "kernkit.plugins.linux_abi", "kernkit.plugins.rr"):
        assert f"{name} " in text
    assert "architectures: x86_64" in text


def test_usage_error():
    result = kernkit_cli("frobnicate")
    assert result.returncode == 2 and b"invalid choice" in result.stderr


def test_env_replaces_a_default_variable():
    result = kernkit_cli("boot", "--env", "HOME=/root", "--", "echo_args")
    lines = result.stdout.decode().splitlines()
    assert "env=HOME=/root" in lines and "env=HOME=/" not in lines


def test_unwritable_trace_file_is_a_one_line_error(tmp_path):
    result = kernkit_cli("boot", "--trace", str(tmp_path / "missing" / "t.jsonl"))
    assert result.returncode == 2
    assert result.stderr.decode() == (
        f"kernkit: error: --trace {tmp_path / 'missing' / 't.jsonl'}: cannot write: No such file or directory\n"
    )


def test_budget_needs_deterministic_mode():
    result = kernkit_cli("boot", "--set", "machine.mode=fast", "--max-instructions", "1000")
    assert result.returncode == 2
    assert b"kernel.max_instructions: an instruction budget needs machine.mode" in result.stderr


def test_memory_must_be_whole_pages():
    result = kernkit_cli("boot", "--set", "machine.memory=2097153")
    assert result.returncode == 2
    assert b"machine.memory: must be a multiple of the 4K page size, got 2097153" in result.stderr


def test_argument_list_too_long():
    result = kernkit_cli("boot", "--set", "linux.stack_size=64K", "--", "echo_args", "a" * 20000)
    assert result.returncode == 2
    assert b"argument list too long" in result.stderr and result.stderr.count(b"\n") == 1


def test_arguments_need_not_be_utf8():
    result = kernkit_cli("boot", "--", "echo_args", "caf\udce9")  # surrogate-escaped byte 0xe9
    assert result.returncode == 0
    assert b"argv[1]=caf\xe9" in result.stdout


def test_a_closed_stdout_kills_the_guest_with_sigpipe():
    with kernkit_process("boot", "--", "spin", "5000000") as process:
        process.stdout.close()
        err = process.stderr.read()
        assert process.wait(timeout=60) == 141
    assert b"killed by SIGPIPE" in err and b"Traceback" not in err


@pytest.mark.parametrize(
    ("signum", "word"),
    [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated"), (signal.SIGHUP, "hung up")],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
@pytest.mark.parametrize("program", ["spin 100000000000", "syscall_loop 100000000000"])
def test_one_stop_signal_ends_a_running_guest(program, signum, word):
    """Ctrl-C, SIGTERM and SIGHUP end a run the same way: the kernel shuts down (processes
    killed, listeners closed), one line says why, the status is 128 + the signal."""
    with kernkit_process("boot", "--", "run", "echo started", program) as proc:
        read_until(proc.stdout, b"started\n")  # the kernel runs guests: now the program's turn
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    assert err.decode().strip().splitlines()[-1] == f"kernkit: {word}"


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_signal_closes_a_forward_listener(signum):
    import socket

    from support.ninep import free_port

    port = free_port()
    forward = f'net.forward=[{{host="127.0.0.1:{port}", guest=80}}]'
    with kernkit_process("boot", str(CONFIGS / "httpd.toml"), "--set", forward) as proc:
        assert f"forwarding 127.0.0.1:{port}" in proc.stderr.readline().decode()
        for _ in range(600):  # the forward refuses calls until the guest httpd listens
            try:
                held = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except ConnectionRefusedError:
                time.sleep(0.05)
        time.sleep(0.5)  # not a condition of the test: a connection accepted or still pending closes alike
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signum, err
    assert b"Traceback" not in err
    held.settimeout(10)
    assert held.recv(1) == b""  # the kernel closed the forwarded connection
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_a_boot_loads_no_tool_code_beyond_the_command_line(tmp_path):
    script = (
        "import sys\n"
        "from kernkit.tools.cli import main\n"
        "status = main(sys.argv[1:])\n"
        "tools = sorted(m for m in sys.modules if m.startswith('kernkit.tools.'))\n"
        "print(status, ' '.join(tools), 'importlib.metadata' in sys.modules, file=sys.stderr)\n"
    )
    env = {**os.environ, "KERNKIT_CACHE_DIR": str(tmp_path)}
    for _run in ("first", "second"):  # the second finds the entry points cached by the first
        boot = subprocess.run(
            [sys.executable, "-c", script, "boot"], capture_output=True, text=True, timeout=120, env=env
        )
        assert boot.stdout == "Hello from kernkit!\n"
    # no matrix, trace or kernel-internal tool modules (the attrs method cache is the command
    # line's own start-up), and no metadata scan of every package
    assert (
        boot.stderr.splitlines()[-1]
        == "0 kernkit.tools.cli kernkit.tools.methodcache kernkit.tools.scaffold kernkit.tools.stopsignals False"
    )


@pytest.mark.parametrize("args", [["check", "--set", "-="], ["boot", "--nosuch"], []])
def test_bad_arguments_are_one_line(args):
    from support import one_line_error

    message = one_line_error(kernkit_cli(*args))
    assert message.startswith("kernkit") and message.endswith("--help)")
