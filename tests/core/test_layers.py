"""The house's layers hold: import-linter's contracts (pyproject.toml) pass, and the imports they
allow between plugins are exactly what the plugins declare they require."""

from __future__ import annotations

import ast
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


def _code_lines(source: str) -> int:
    """Lines holding code: not blank, not only a comment, not part of a docstring."""
    tree = ast.parse(source)
    docstrings: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0] if node.body else None
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstrings.update(range(first.lineno, first.end_lineno + 1))
    return sum(
        1
        for number, line in enumerate(source.splitlines(), 1)
        if line.strip() and not line.strip().startswith("#") and number not in docstrings
    )


def test_core_stays_a_microkernel_of_under_5000_lines_of_code():
    # the contract's documentation (hook examples, record fields) is not counted: it is the
    # part of core a plugin author reads, and it may grow
    counts = {path.name: _code_lines(path.read_text()) for path in (ROOT / "core").glob("*.py")}
    total = sum(counts.values())
    largest = sorted(counts.items(), key=lambda item: -item[1])[:5]
    assert total < 5000, f"core/ has {total} lines of code; largest: {largest}"
