"""Configs written by an attacker or a careless user: every one is a one-line error with exit
status 2 (never "internal error", never a hang), and ``kernkit check`` rejects what ``kernkit
boot`` would."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support import kernkit_cli, one_line_error

from kernkit.core.config import MAX_DEPTH, MAX_EXTENDS
from kernkit.tools.cli import main


def check(*args: str) -> tuple[int, str]:
    """``kernkit check ARGS`` in-process: (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(["check", *args])
    return status, err.getvalue()


def assert_one_line_error(status: int, err: str) -> str:
    assert status == 2, (status, err)
    assert "internal error" not in err and "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kernkit: error: "), err
    assert len(lines[0]) < 1000, lines[0][:200]  # a huge value is not echoed whole
    return lines[0].removeprefix("kernkit: error: ")


def error_of(path: Path, *extra: str) -> str:
    return assert_one_line_error(*check(str(path), *extra))


# --- nesting and extends chains ----------------------------------------------------------

DEEP = 5000


@pytest.mark.parametrize(
    "text",
    [
        "[" + ".".join(["a"] * DEEP) + "]\nx = 1\n",
        "x = " + "[" * DEEP + "]" * DEEP + "\n",
        ".".join(["a"] * DEEP) + " = 1\n",
        "x = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n",
    ],
    ids=["tables", "arrays", "dotted-key", "inline-tables"],
)
def test_deep_nesting_is_an_error(tmp_path, text):
    path = tmp_path / "deep.toml"
    path.write_text(text)
    assert error_of(path) == f"{path}: tables or arrays nested too deeply (at most {MAX_DEPTH})"


def test_a_long_extends_chain_is_an_error(tmp_path):
    count = 3000
    for i in range(count):
        text = f'extends = "c{i + 1}.toml"\n' if i < count - 1 else "[machine]\ncores = 1\n"
        (tmp_path / f"c{i}.toml").write_text(text)
    message = error_of(tmp_path / "c0.toml")
    assert message == f"{tmp_path / 'c0.toml'}: extends: a chain of more than {MAX_EXTENDS} files"


# --- special files -----------------------------------------------------------------------


@pytest.mark.parametrize("target", ["/dev/zero", "/dev/null", "fifo", "directory"])
def test_extends_refuses_what_is_not_a_regular_file(tmp_path, target):
    if target == "fifo":
        os.mkfifo(tmp_path / "fifo")  # a reader would wait for ever for a writer
    if target == "directory":
        (tmp_path / "directory").mkdir()
    child = tmp_path / "child.toml"
    child.write_text(f'extends = "{target}"\n')
    proc = kernkit_cli("check", str(child), timeout=30)  # the real command: it must not hang
    message = one_line_error(proc)
    assert "a config is a TOML file" in message
    proc = kernkit_cli("boot", str(child), timeout=30)
    assert "a config is a TOML file" in one_line_error(proc)


def test_a_fifo_as_the_config_itself(tmp_path):
    os.mkfifo(tmp_path / "fifo.toml")
    message = one_line_error(kernkit_cli("check", str(tmp_path / "fifo.toml"), timeout=30))
    assert message == f"{tmp_path / 'fifo.toml'}: not a regular file; a config is a TOML file"


def test_a_huge_config_file_is_refused_unread(tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text("# " + "x" * (2 << 20) + "\n")
    assert error_of(path) == f"{path}: too large (more than 1M) for a config"


# --- names and values the host cannot take -------------------------------------------------


def test_an_extends_name_too_long_for_the_host(tmp_path):
    path = tmp_path / "long.toml"
    path.write_text('extends = "' + "x" * 5000 + '"\n')
    assert error_of(path).endswith("...': File name too long")


def test_an_init_program_name_too_long_for_the_host(tmp_path):
    message = error_of(Path(os.devnull).parent / "nonexistent", "--set", "init.program=" + "p" * 100_000)
    assert "no such config file" in message  # the file is named first
    status, err = check("--set", "init.program=" + "p" * 100_000)
    assert assert_one_line_error(status, err).endswith("...: cannot look it up: File name too long")
    proc = kernkit_cli("boot", "--", "p" * 5000)
    assert one_line_error(proc).endswith("...: cannot look it up: File name too long")


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_timeout_must_be_a_finite_number(tmp_path, value):
    path = tmp_path / "m.toml"
    path.write_text(f'[[mount9p]]\naddr = "127.0.0.1:1"\nat = "/n"\ntimeout = {value}\n')
    message = error_of(path)
    assert message == f"{path}: mount9p[0].timeout: expected a finite number, got {float(value)!r}"


def test_an_integer_of_thousands_of_digits(tmp_path):
    digits = "9" * 5000
    message = assert_one_line_error(*check("--set", f"kernel.seed={digits}"))
    assert message == "<command line>: kernel.seed: a value too large or nested too deeply"
    path = tmp_path / "big.toml"
    path.write_text(f"[kernel]\nseed = {digits}\n")
    assert error_of(path) == f"{path}: malformed TOML: a number with too many digits"
    path.write_text(f"[kernel]\nseed = {'9' * 4000}\n")  # Python converts it; the kernel cannot
    assert "kernel.seed: expected an integer of at most 64 bits" in error_of(path)


@pytest.mark.parametrize("size", ["１６M", "١٦M", "16\u0966M"])
def test_only_ascii_digits_make_a_size(size):
    message = assert_one_line_error(*check("--set", f'machine.memory="{size}"'))
    assert message == f"<command line>: machine.memory: expected a size such as 64M or 1G, got {size!r}"


def test_size_limits_are_printed_as_sizes():
    message = assert_one_line_error(*check("--set", "machine.memory=32G"))
    assert message == "<command line>: machine.memory: must be at most 16G, got 32G"
    message = assert_one_line_error(*check("--set", "namespace.tmpfs_size=2T"))
    assert message == "<command line>: namespace.tmpfs_size: must be at most 1T, got 2T"


def test_init_env_entries_need_an_equals_sign():
    message = assert_one_line_error(*check("--set", 'init.env=["HOME=/", "JUNK"]'))
    assert message == "<command line>: init.env: item 1: expected NAME=VALUE, got 'JUNK'"


def test_an_empty_part_of_a_set_key_blames_the_command_line():
    message = assert_one_line_error(*check("--set", "machine..cores=1"))
    assert message == "<command line>: machine..cores: expected a dotted key such as machine.cores"


# --- check rejects what boot rejects ---------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("machine.memory=65537", "machine.memory: must be a multiple of the 4K page size, got 65537"),
        ("machine.memory=1M", "machine.memory: the x86_64 machine needs at least 2M"),
        ("linux.stack_size=1", "linux.stack_size: must be at least 64K, got 1"),
        ("linux.stack_size=65537", "linux.stack_size: must be a multiple of the 4K page size"),
        ("init.program=nosuch", "nosuch: no such program file"),
        ('namespace.binds=["bind #nosuch /x"]', "namespace.binds: item 0"),
    ],
)
def test_check_rejects_what_boot_rejects(setting, expected):
    check_message = assert_one_line_error(*check("--set", setting))
    assert expected in check_message
    boot = kernkit_cli("boot", "--set", setting)
    assert one_line_error(boot) == check_message


def test_check_neither_listens_nor_takes_the_terminal(tmp_path):
    """What reaches outside the kernel is left to boot: a check of the export config does not
    bind its port (a kernel already serving it is no error)."""
    status, err = check(str(Path(__file__).parents[2] / "configs" / "export.toml"))
    assert status == 0, err


# --- plugins that misbehave at import ------------------------------------------------------


@pytest.mark.parametrize("optional", [False, True])
def test_a_plugin_that_exits_at_import(tmp_path, optional):
    (tmp_path / "kk_exits_at_import.py").write_text("import sys\nsys.exit(3)\n")
    key = "optional_plugins" if optional else "plugins"
    path = tmp_path / "c.toml"
    path.write_text(f'[kernel]\n{key} = ["kk_exits_at_import"]\n')
    proc = kernkit_cli("check", str(path))
    err = proc.stderr.decode()
    if optional:
        assert proc.returncode == 0, err
        assert "failed to import: it called sys.exit(3); continuing without it" in err
    else:
        assert one_line_error(proc) == "plugin 'kk_exits_at_import' failed to import: it called sys.exit(3)"


@pytest.mark.parametrize("module", ["os", "json"])
def test_a_module_without_hooks_is_not_a_plugin(module):
    message = assert_one_line_error(*check("--set", f'kernel.plugins=["{module}"]'))
    assert message == (
        f"plugin module {module!r} implements no kernkit hook (a plugin marks its functions with @hookimpl)"
    )


# --- the fuzz: random TOML, random values in real sections ---------------------------------

SECTIONS = {
    "kernel": ["personalities", "plugins", "max_instructions", "seed"],
    "machine": ["cores", "memory", "mode", "quantum", "ips", "slice_us"],
    "sched": ["policy"],
    "init": ["program", "args", "env", "name"],
    "linux": ["stack_size", "epoch", "exec_path"],
    "namespace": ["tmpfs_size", "binds", "root"],
    "export9p": ["listen", "paths", "msize", "writable", "allow_remote"],
    "net": ["host_access"],
    "console": ["stdin"],
}
scalar = st.one_of(
    st.integers(min_value=-(1 << 70), max_value=1 << 70),
    st.sampled_from([0, 1, -1, 4095, 4096, 65536, 1 << 63, (1 << 64) - 1, 1 << 64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.text(max_size=40),
    st.sampled_from(["64M", "1G", "16G", "0", "-1M", "１M", "4097", "1T", "/dev/zero", "", "#nosuch"]),
)
value = st.recursive(
    scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _toml(value: object) -> str:
    from kernkit.core.config import _toml_value

    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    return _toml_value(value)


SPECIAL = ["/dev/zero", "/dev/null", "/dev/urandom", "/proc/self/status", "/", "fifo", "x" * 5000, "", "."]


@st.composite
def configs(draw: st.DrawFn) -> str:
    lines = []
    if draw(st.booleans()):  # extends: special files, odd names, deep nesting underneath
        lines.append(f"extends = {_toml(draw(st.sampled_from(SPECIAL)))}")
    depth = draw(st.sampled_from([0, 0, 0, MAX_DEPTH, MAX_DEPTH + 1, 1000]))
    if depth:
        lines.append("deep = " + "[" * depth + "]" * depth)
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)), max_size=3, unique=True)):
        lines.append(f"[{section}]")
        for key in draw(st.lists(st.sampled_from(SECTIONS[section]), min_size=1, max_size=3, unique=True)):
            lines.append(f"{key} = {_toml(draw(value))}")
    return "\n".join(lines) + "\n"


def _assert_check_answers(text: str, directory: Path) -> None:
    if not (directory / "fifo").exists():
        os.mkfifo(directory / "fifo")  # an extends naming it must not wait for a writer
    path = directory / "fuzz.toml"
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    status, err = check(str(path))
    if status != 0:
        assert_one_line_error(status, err)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(configs())
def test_fuzz_random_values_in_real_sections(tmp_path, text):
    _assert_check_answers(text, tmp_path)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.text(alphabet=st.sampled_from(list("[]{}=.,\"'#\n abc123-+_:eE\\")), max_size=200))
def test_fuzz_random_toml_text(tmp_path, text):
    _assert_check_answers(text, tmp_path)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60), st.text(max_size=60))
@example(key="-", raw="")  # --set's value taken for an option: argparse's exit, once a traceback
def test_fuzz_random_set_overrides(key, raw):
    status, err = check("--set", f"{key}={raw}")
    if status != 0:
        assert_one_line_error(status, err)


def test_fuzz_runs_in_this_process():
    assert "kernkit.tools.cli" in sys.modules  # the fuzz calls main(), not a subprocess per input
