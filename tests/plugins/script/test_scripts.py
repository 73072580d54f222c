"""``#!`` scripts, with Linux as the oracle: user/exectest.c makes scripts with every kind of
first line (arguments, blanks, NULs, lines longer than Linux reads, missing or unusable
interpreters, scripts run by scripts five and six deep, relative names, empty argv) and prints
what execve said or what the interpreter was given; natively and under kernkit the lines must be
the same."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import USER_BIN, run_kernel
from support.oracle import need_native

from kernkit.core.errors import ProgramError

HOST_ROOT = {"namespace__host": ["@userland"], "namespace__root": {"/kk": "@programs"}}


def native_scripts(program: str, directory: Path) -> str:
    need_native(root=True)
    done = subprocess.run(
        [str(USER_BIN / program), "scripts", str(directory), str(USER_BIN / program)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_scripts_run_as_on_linux(tmp_path):
    expected = native_scripts("exectest", tmp_path)
    assert "6 scripts deep:\n  execve: ELOOP\n" in expected
    assert "a DOS line end:\n  execve: ENOENT\n" in expected
    run = run_kernel(str(USER_BIN / "exectest"), "scripts", "/tmp", "/bin/exectest")
    assert run.status == 0, run.err
    assert run.out == expected


@pytest.mark.parametrize("program", ["exectest-dyn", "exectest-musl-dyn"])
def test_scripts_run_by_a_dynamic_interpreter_as_on_linux(program, tmp_path):
    if not Path(
        {"exectest-dyn": "/lib64/ld-linux-x86-64.so.2"}.get(program, "/lib/ld-musl-x86_64.so.1")
    ).exists():
        pytest.skip(f"{program}'s interpreter is not on this host")
    expected = native_scripts(program, tmp_path)
    run = run_kernel(str(USER_BIN / program), "scripts", "/tmp", f"/kk/{program}", **HOST_ROOT)
    assert run.status == 0, run.err
    assert run.out == expected


def test_a_script_as_init_runs_its_interpreter_with_linux_arguments(tmp_path):
    script = tmp_path / "greet"
    script.write_text("#!/bin/echo_args  -x  y \nnot read\n")
    run = run_kernel(str(script), "a b", "c")
    assert run.status == 0, run.err
    assert run.out.splitlines()[:5] == [
        "argc=5",
        "argv[0]=/bin/echo_args",
        "argv[1]=-x  y",
        "argv[2]=greet",  # the name it was started by: init's argv[0]
        "argv[3]=a b",
    ]


def test_a_missing_interpreter_at_boot_is_one_line_naming_it_and_the_key(tmp_path):
    script = tmp_path / "s"
    script.write_text("#!/usr/bin/env python3\n")
    with pytest.raises(ProgramError) as info:
        run_kernel(str(script))
    assert str(info.value) == (
        f"{script}: interpreter /usr/bin/env: not in the namespace; bind the host's programs and "
        "libraries with [namespace] host (kernkit boot --host-root)"
    )
    assert info.value.errno == "ENOENT"


first_line = st.one_of(
    st.binary(max_size=300).map(lambda b: b"#!" + b),
    st.builds(
        lambda blanks, name, rest: b"#!" + blanks + name + rest,
        st.sampled_from([b"", b" ", b"\t", b" \t "]),
        st.sampled_from(
            [
                b"/bin/echo_args",
                b"/bin",
                b"/proc/self/exe",
                b"/dev/null",
                b"#tmpfs/x",
                b"",
                b"/bin/../bin/hello",
                b"/fz/s0",
                b"/fz/s1",
                b"x" * 300,
                b"/proc/1/fd/0",
                b"/bin/echo_args\r",
                b"/fz",
            ]
        ),
        st.binary(max_size=40),
    ),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(first_line, min_size=1, max_size=4))
def test_random_first_lines_never_crash_the_kernel(lines):
    """Scripts with random #! lines (bad interpreter paths: directories, devices, /proc files,
    scripts naming each other or themselves) exec'd by a guest: each is an error or a run,
    never a panic or a traceback."""
    with tempfile.TemporaryDirectory() as directory:
        for i, line in enumerate(lines):
            path = Path(directory) / f"s{i}"
            path.write_bytes(line + b"\n")
            path.chmod(0o755)
        run = run_kernel(
            str(USER_BIN / "exectest"),
            "try",
            *[f"/fz/s{i}" for i in range(len(lines))],
            namespace__root={"/bin": "@programs", "/fz": directory},
            kernel__max_instructions=20_000_000,
        )
    assert "Traceback" not in run.err and "kernel panic" not in run.err, run.err
    assert run.out.count(":\n") == len(lines), run.out
