"""The house's layers hold: import-linter's contracts (pyproject.toml) pass, and the imports they
allow between plugins are exactly what the plugins declare they require."""

from __future__ import annotations

import shutil
import subprocess
import tomllib

import pytest
from support import ROOT

from kernkit.core.builtin_plugins import BUILTIN_PLUGINS
from kernkit.core.plugins import PluginManager


def contracts() -> list[dict]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]


def test_the_allowed_imports_between_plugins_are_what_they_declare():
    manager = PluginManager(autoload=False)
    allowed = set()
    for short, requires in manager.requirements().items():
        for needed in requires:
            source, target = BUILTIN_PLUGINS[short], BUILTIN_PLUGINS[needed] + ".api"
            allowed |= {f"{source} -> {target}", f"{source}.** -> {target}"}
    independence = next(c for c in contracts() if c["type"] == "independence")
    assert set(independence["ignore_imports"]) == allowed
    plugins = {module for short, module in BUILTIN_PLUGINS.items() if short != "core"}
    assert set(independence["modules"]) == plugins


def test_core_is_the_bottom_layer_and_tools_the_top():
    layers = next(c for c in contracts() if c["type"] == "layers")
    assert layers["layers"] == ["kernkit.tools", "kernkit.plugins", "kernkit.arch", "kernkit.api", "kernkit.core"]


@pytest.mark.skipif(shutil.which("lint-imports") is None, reason="import-linter is not installed (pip install -e '.[test]')")
def test_import_linter_contracts_are_kept():
    run = subprocess.run(["lint-imports", "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "0 broken" in run.stdout
