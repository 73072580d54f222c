"""``kernkit new-plugin`` writes packages that pass their own tests as generated."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support import kernkit_cli, pip_install_target

from kernkit.core.hookspecs import CONTRACT_VERSION
from kernkit.tools.scaffold import KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_generated_plugin_passes_its_own_tests(tmp_path, kind):
    result = kernkit_cli("new-plugin", f"my_{kind}", "--kind", kind, "--dir", str(tmp_path))
    assert result.returncode == 0, result.stderr
    root = tmp_path / f"kernkit-my-{kind}"
    assert {p.name for p in root.iterdir()} == {"pyproject.toml", "README.md", f"kernkit_my_{kind}", "tests"}
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        capture_output=True,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout.decode()[-2000:]
    assert b"1 passed" in tests.stdout


def test_installed_plugin_is_found_through_its_entry_point(tmp_path):
    kernkit_cli("new-plugin", "fifo_demo", "--dir", str(tmp_path))
    env = pip_install_target(tmp_path / "kernkit-fifo-demo", tmp_path / "site")
    listed = kernkit_cli("plugins", env=env)
    assert b"fifo_demo 0.1.0 [entry point]" in listed.stdout
    booted = kernkit_cli("boot", "--set", "sched.policy=fifo_demo", env=env)
    assert (booted.returncode, booted.stdout) == (0, b"Hello from kernkit!\n")


def test_bad_names_and_existing_directories_are_one_line_errors(tmp_path):
    bad = kernkit_cli("new-plugin", "Bad-Name", "--dir", str(tmp_path))
    assert bad.returncode == 2 and bad.stderr.startswith(b"kernkit: error: plugin name 'Bad-Name'")
    assert kernkit_cli("new-plugin", "twice", "--dir", str(tmp_path)).returncode == 0
    again = kernkit_cli("new-plugin", "twice", "--dir", str(tmp_path))
    assert again.returncode == 2 and b"already exists" in again.stderr


def test_contract_version_mismatch_is_a_clear_error(tmp_path):
    (tmp_path / "kk_future.py").write_text('KERNKIT_CONTRACT = ">=3.0"\n')
    config = tmp_path / "k.toml"
    config.write_text('[kernel]\nplugins = ["kk_future"]\n')
    result = kernkit_cli("check", str(config))
    assert result.returncode == 2
    assert result.stderr.decode() == (
        f"kernkit: error: plugin 'kk_future' supports hook contract >=3.0, but this kernkit provides {CONTRACT_VERSION}\n"
    )


def test_plugins_verbose_shows_hook_call_order():
    result = kernkit_cli("plugins", "--verbose")
    text = result.stdout.decode()
    assert f"hook contract {CONTRACT_VERSION}; hooks are called in this order:" in text
    # the pluggy way: the plugin registered last is called first (built-ins in reverse)
    assert (
        "  kernkit_config_sections: kernkit.plugins.costs, kernkit.plugins.gdb, kernkit.plugins.ether, kernkit.plugins.net, "
        "kernkit.plugins.vmm, kernkit.plugins.ninep, kernkit.plugins.mcp, kernkit.plugins.rr, "
        "kernkit.plugins.console, kernkit.plugins.linux_abi, kernkit.plugins.ns, kernkit.core.coreplugin"
    ) in text


def test_the_tutorial_shows_what_the_commands_print(tmp_path):
    from support import CONFIGS, ROOT

    tutorial = (ROOT / "docs" / "tutorial-plugin.md").read_text()
    kernkit_cli("new-plugin", "fair", "--dir", str(tmp_path))
    env = pip_install_target(tmp_path / "kernkit-fair", tmp_path / "site")
    listed = kernkit_cli("plugins", env=env).stdout.decode().splitlines()
    assert "fair 0.1.0 [entry point]" in listed and "fair 0.1.0 [entry point]" in tutorial
    assert "schedulers: rr (rr), mcp (mcp), fair (fair)" in listed and "schedulers: rr (rr), mcp (mcp), fair (fair)" in tutorial
    booted = kernkit_cli("boot", "--set", "sched.policy=fair", "--", "procs", "threads", "4", env=env)
    assert booted.stdout.decode() in tutorial
    matrix_text = tutorial.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "matrix.toml").write_text(matrix_text)
    (tmp_path / "minimal.toml").write_text((CONFIGS / "minimal.toml").read_text())
    ran = kernkit_cli(
        "matrix",
        str(tmp_path / "matrix.toml"),
        "--progress",
        "lines",
        "--db",
        str(tmp_path / "h.db"),
        env=env,
    )
    lines = ran.stdout.decode().splitlines()
    assert lines[-1] == "summary: 4 PASS of 4 cells" and lines[-1] in tutorial
    shown = {
        line.split("] ", 1)[1] for line in tutorial.splitlines() if line.startswith("[") and "/4] " in line
    }
    assert {line.split("] ", 1)[1] for line in lines[:-1]} == shown  # cells finish in any order
