"""Config files: every bad input is one clear line naming file, key, problem and what is allowed."""

from __future__ import annotations

import os
import sys
import textwrap
import tomllib
import uuid
from pathlib import Path

import pytest
from support import CONFIGS, ROOT, config_error, kernkit_cli, one_line_error

from kernkit.core.assemble import check_choices, collect_registries, resolve_config
from kernkit.core.options import parse_size


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def resolve(path: Path, overrides: dict | None = None):  # noqa: ANN201
    """Validate ``path`` in-process the way ``kernkit check`` does; return the Config."""
    config, plugins = resolve_config(path, overrides)
    check_choices(config, collect_registries(plugins))
    return config


# --- malformed TOML ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ('[machine]\ncores = 2\nmemory = "64M\n', "3:14"),  # the newline ends an unclosed string
        ("[machine]\ncores = = 2\n", "2:9"),  # the second '='
        ('# c\n[kernel]\npersonalities = ["linux" "x"]\n', "3:26"),  # the '"' where ',' belongs
    ],
)
def test_malformed_toml_reports_file_line_and_column(tmp_path, text, position):
    path = tmp_path / "broken.toml"
    path.write_text(text)
    message = one_line_error(kernkit_cli("check", str(path)))
    assert message.startswith(f"{path}:{position}: malformed TOML: ")


# --- bad files through the real command ---------------------------------------------------

#: id -> (file text, substrings the one-line error must contain, in addition to the file name)
BAD_FILES = {
    "unknown-section": (
        "[machin]\ncores = 2\n",
        ["[machin]: unknown section", "did you mean 'machine'?", "known sections: ", "sched.rr"],
    ),
    "unknown-option": (
        "[machine]\ncoers = 2\n",
        [
            "machine.coers: unknown option",
            "did you mean 'cores'?",
            "[machine] has: arch, cores, memory, mode, quantum, ips, slice_us",
        ],
    ),
    "wrong-type": (
        '[machine]\ncores = "two"\n',
        ["machine.cores: expected an integer, got a string ('two')"],
    ),
    "bool-for-int": ("[machine]\ncores = true\n", ["machine.cores: expected an integer, got a boolean"]),
    "float-for-int": ("[machine]\ncores = 2.5\n", ["machine.cores: expected an integer, got a number (2.5)"]),
    "zero-cores": ("[machine]\ncores = 0\n", ["machine.cores: must be positive, got 0"]),
    "too-many-cores": ("[machine]\ncores = 1000\n", ["machine.cores: must be at most 64, got 1000"]),
    "bad-mode": (
        '[machine]\nmode = "turbo"\n',
        ["machine.mode: expected one of 'deterministic', 'fast', got 'turbo'"],
    ),
    "bad-memory": (
        '[machine]\nmemory = "lots"\n',
        ["machine.memory: expected a size such as 64M or 1G, got 'lots'"],
    ),
    "too-much-memory": ('[machine]\nmemory = "32G"\n', ["machine.memory: must be at most 16G, got 32G"]),
    "list-item-type": ("[init]\nargs = [1]\n", ["init.args: item 0: expected a string, got an integer (1)"]),
    "unknown-scheduler": (
        '[sched]\npolicy = "lotery"\n',
        ["sched.policy: unknown scheduler 'lotery'; known: mcp, rr"],
    ),
    "unknown-arch": (
        '[machine]\narch = "arm64"\n',
        ["machine.arch: unknown architecture 'arm64'; known: x86_64"],
    ),
    "unknown-personality": (
        '[kernel]\npersonalities = ["linux", "plan9"]\n',
        ["kernel.personalities: unknown syscall table 'plan9'; known: akaros, linux"],
    ),
    "no-personality": (
        '[kernel]\nbuiltins = ["x86_64", "elf", "ns", "rr"]\n',
        ["kernel.personalities: expected at least one syscall table"],
    ),
    "top-level-key": ("cores = 2\n", ["cores: unexpected key at the top level", "[machine]"]),
    "plugins-not-a-list": (
        '[kernel]\nplugins = "mine"\n',
        ["kernel.plugins: expected a list of module names"],
    ),
    "extends-not-a-string": ("extends = 3\n", ["extends: expected a file name (string), got 3"]),
    "negative-subsection-value": (
        "[sched.rr]\ntimeslice_us = -1\n",
        ["sched.rr.timeslice_us: must be positive"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_check_rejects_bad_file_with_one_line(tmp_path, case):
    text, expected = BAD_FILES[case]
    path = tmp_path / f"{case}.toml"
    path.write_text(text)
    message = one_line_error(kernkit_cli("check", str(path)))
    assert message.startswith(f"{path}: ")
    for part in expected:
        assert part in message


def test_boolean_memory_says_what_was_given(tmp_path):
    path = write(tmp_path / "c.toml", "[machine]\nmemory = true\n")
    message = one_line_error(kernkit_cli("check", str(path)))
    assert "machine.memory: expected a size such as 64M or 1G" in message
    assert "got" in message and ("true" in message.lower() or "boolean" in message)


def test_missing_config_file(tmp_path):
    path = tmp_path / "nope.toml"
    assert one_line_error(kernkit_cli("check", str(path))) == f"{path}: no such config file"


def test_config_that_is_not_utf8_is_a_config_error(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b"[machine]\n# caf\xe9\ncores = 2\n")
    message = one_line_error(kernkit_cli("check", str(path)))
    assert message.startswith(f"{path}")


# --- extends --------------------------------------------------------------------------------


def test_extends_is_relative_to_the_file_and_child_overrides_parent(tmp_path):
    write(
        tmp_path / "shared" / "base.toml",
        """
        [machine]
        cores = 2
        memory = "128M"
        mode = "fast"

        [init]
        program = "exitcode"
        args = ["1", "2"]
        """,
    )
    child = write(
        tmp_path / "conf" / "child.toml",
        """
        extends = "../shared/base.toml"

        [machine]
        cores = 4

        [init]
        args = ["9"]
        """,
    )
    # Run from a directory where "../shared/base.toml" does not exist.
    proc = kernkit_cli("check", str(child), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr.decode()
    resolved = tomllib.loads(proc.stdout.decode())
    assert resolved["machine"]["cores"] == 4  # child wins
    assert resolved["machine"]["memory"] == 128 << 20  # deep merge keeps the parent's other keys
    assert resolved["machine"]["mode"] == "fast"
    assert resolved["machine"]["quantum"] == 100_000  # defaults still fill the rest
    assert resolved["init"]["program"] == "exitcode"
    assert resolved["init"]["args"] == ["9"]  # lists are replaced, not concatenated


def test_extends_chain_of_three_files(tmp_path):
    write(tmp_path / "a.toml", '[machine]\ncores = 2\nmemory = "32M"\n[sched]\npolicy = "rr"\n')
    write(tmp_path / "b.toml", 'extends = "a.toml"\n[machine]\ncores = 3\n[sched.rr]\ntimeslice_us = 7\n')
    c = write(tmp_path / "c.toml", 'extends = "b.toml"\n[machine]\nmode = "fast"\n')
    config = resolve(c)
    assert (config["machine"].cores, config["machine"].memory, config["machine"].mode) == (
        3,
        32 << 20,
        "fast",
    )
    assert config["sched.rr"].timeslice_us == 7
    assert config.path == c


def test_packaged_quad_extends_minimal():
    config = resolve(CONFIGS / "quad.toml")
    assert config["machine"].cores == 4
    assert config["machine"].memory == 256 << 20
    assert config["init"].program == "hello"  # from minimal.toml


def test_extends_missing_parent(tmp_path):
    child = write(tmp_path / "child.toml", 'extends = "missing-base.toml"\n')
    message = one_line_error(kernkit_cli("check", str(child)))
    assert message == f"{child}: extends: no such file {tmp_path / 'missing-base.toml'}"


def test_extends_cycle_is_reported(tmp_path):
    a = write(tmp_path / "a.toml", 'extends = "b.toml"\n')
    b = write(tmp_path / "b.toml", 'extends = "a.toml"\n')
    message = one_line_error(kernkit_cli("check", str(a)))
    assert "extends: cycle: " in message
    assert f"{a} -> {b} -> {a}" in message


def test_extends_itself_is_a_cycle(tmp_path):
    a = write(tmp_path / "a.toml", 'extends = "a.toml"\n')
    assert "extends: cycle" in config_error(a)


def test_error_names_the_parent_file_the_bad_key_came_from(tmp_path):
    parent = write(tmp_path / "base" / "parent.toml", "[machine]\ncoers = 2\ncores = 2\n")
    child = write(tmp_path / "child.toml", 'extends = "base/parent.toml"\n[machine]\nmemory = "128M"\n')
    message = one_line_error(kernkit_cli("check", str(child)))
    assert message.startswith(f"{parent}: machine.coers: unknown option")


def test_error_names_parent_for_bad_choice_and_bad_value(tmp_path):
    parent = write(tmp_path / "parent.toml", '[sched]\npolicy = "lotery"\n[machine]\ncores = 0\n')
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\n[machine]\nmemory = "128M"\n')
    assert config_error(child).startswith(f"{parent}: machine.cores: must be positive")
    write(tmp_path / "parent.toml", '[sched]\npolicy = "lotery"\n')
    assert config_error(child).startswith(f"{parent}: sched.policy: unknown scheduler 'lotery'")


def test_malformed_parent_names_the_parent(tmp_path):
    parent = write(tmp_path / "parent.toml", "[machine\n")
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\n')
    assert config_error(child).startswith(f"{parent}:1:")


def test_child_value_errors_name_the_child(tmp_path):
    write(tmp_path / "parent.toml", "[machine]\ncores = 2\n")
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\n[machine]\ncores = "two"\n')
    assert config_error(child).startswith(f"{child}: machine.cores: expected an integer")


# --- kernkit check output and --set --------------------------------------------------------


def test_check_minimal_prints_resolved_config_with_defaults():
    proc = kernkit_cli("check", "configs/minimal.toml")
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stderr == b""
    out = proc.stdout.decode()
    assert out.splitlines()[0] == "# configs/minimal.toml: ok"
    for line in [
        "quantum = 100000",
        "memory = 67108864",
        'mode = "deterministic"',
        'policy = "rr"',
        "[sched.rr]",
        "timeslice_us = 10000",
        'personalities = ["linux"]',
        'program = "hello"',
        'stdin = "host"',
    ]:
        assert line in out.splitlines()
    resolved = tomllib.loads(out)  # it is TOML
    assert sorted(resolved) == [
        "console", "costs", "ether", "export9p", "gdb", "init", "kernel", "linux", "machine", "namespace", "net", "sched", "vmm"
    ]


def test_check_output_is_a_config_that_checks_to_the_same(tmp_path):
    first = kernkit_cli("check", "configs/quad.toml")
    assert first.returncode == 0
    saved = tmp_path / "resolved.toml"
    saved.write_bytes(first.stdout)
    second = kernkit_cli("check", str(saved))
    assert second.returncode == 0, second.stderr.decode()
    assert second.stdout.decode().split("\n", 1)[1] == first.stdout.decode().split("\n", 1)[1]


def test_check_output_escapes_control_characters(tmp_path):
    path = write(tmp_path / "c.toml", '[linux]\nversion = "#1\\nSMP"\n')
    proc = kernkit_cli("check", str(path))
    assert proc.returncode == 0
    assert tomllib.loads(proc.stdout.decode())["linux"]["version"] == "#1\nSMP"


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """Write a plugin module into tmp_path (on sys.path); return its unique name."""
    created: list[str] = []

    def make(source: str) -> str:
        name = f"kk_cfg_{uuid.uuid4().hex[:10]}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        created.append(name)
        return name

    monkeypatch.syspath_prepend(str(tmp_path))
    yield make
    for name in created:
        sys.modules.pop(name, None)


DICT_OPTION_PLUGIN = """
import attrs
from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import option
from kernkit.core.records import ConfigSection

@attrs.frozen
class DemoOptions:
    level: int = option(1, "a number")
    limits: dict[str, int] = option({"files": 16}, "per-resource limits")

@hookimpl
def kernkit_config_sections():
    return [ConfigSection("demo", DemoOptions, "demo")]
"""


def test_check_output_shows_table_valued_options(tmp_path, plugin_module):
    name = plugin_module(DICT_OPTION_PLUGIN)
    path = write(tmp_path / "c.toml", f'[kernel]\nplugins = ["{name}"]\n[demo]\nlimits = {{ files = 4 }}\n')
    proc = kernkit_cli("check", str(path), env={"PYTHONPATH": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr.decode()
    assert tomllib.loads(proc.stdout.decode())["demo"]["limits"] == {"files": 4}


def test_set_overrides_show_in_resolved_output():
    proc = kernkit_cli(
        "check",
        "configs/minimal.toml",
        "--set",
        "machine.cores=3",
        "--set",
        "machine.memory=128M",
        "--set",
        'init.args=["a", "b"]',
        "--set",
        "sched.rr.timeslice_us=500",
    )
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert "cores = 3" in lines
    assert "memory = 134217728" in lines
    assert 'args = ["a", "b"]' in lines
    assert "timeslice_us = 500" in lines
    assert "cores = 1" not in lines


def test_set_wins_over_the_file_and_its_parent(tmp_path):
    write(tmp_path / "parent.toml", "[machine]\ncores = 2\n")
    child = write(tmp_path / "child.toml", 'extends = "parent.toml"\n[machine]\ncores = 3\n')
    assert resolve(child, {"machine.cores": 5})["machine"].cores == 5


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("machine.cores=0", "<command line>: machine.cores: must be positive, got 0"),
        ("machine.coers=2", "<command line>: machine.coers: unknown option (did you mean 'cores'?)"),
        ("cores=2", "<command line>: cores: expected a dotted key such as machine.cores"),
        ("machine.cores", "<command line>: 'machine.cores': expected KEY=VALUE such as machine.cores=2"),
        ("sched.policy=lotery", "<command line>: sched.policy: unknown scheduler 'lotery'; known: mcp, rr"),
        ("init.program.x=1", "<command line>: init.program.x: program is not a table"),
    ],
)
def test_bad_set_is_blamed_on_the_command_line(setting, expected):
    message = one_line_error(kernkit_cli("check", "configs/minimal.toml", "--set", setting))
    assert message.startswith(expected)


def test_check_without_a_config_uses_packaged_minimal():
    proc = kernkit_cli("check")
    assert proc.returncode == 0
    first = proc.stdout.decode().splitlines()[0]
    assert first.startswith("# ") and first.endswith(f"{os.sep}minimal.toml: ok")


# --- parse_size -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("64M", 64 << 20),
        ("1G", 1 << 30),
        ("512KiB", 512 << 10),
        ("2MiB", 2 << 20),
        ("16k", 16 << 10),
        (" 3 G ", 3 << 30),
        ("1T", 1 << 40),
        ("100", 100),
        (4096, 4096),
    ],
)
def test_parse_size_accepts(value, size):
    assert parse_size(value) == size


@pytest.mark.parametrize("value", ["12X", "1.5G", "-1M", "", "M", "64 MB extra", 1.5, None, [64]])
def test_parse_size_rejects(value):
    with pytest.raises(ValueError, match=r"expected a size such as 64M or 1G, got "):
        parse_size(value)


def test_parse_size_rejects_booleans():
    with pytest.raises(TypeError, match="expected a size such as 64M or 1G"):
        parse_size(True)
