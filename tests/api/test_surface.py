"""kernkit.api is the whole surface a plugin needs: everything a built-in plugin (or the
architecture) takes from the core is there, as the same object."""

from __future__ import annotations

import ast
import importlib

import pytest
from support import ROOT

import kernkit.api


def core_imports() -> set[tuple[str, str]]:
    """(module, name) for every ``from kernkit.core.X import name`` in plugins/ and arch/."""
    found = set()
    for folder in ("plugins", "arch"):
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kernkit.core."):
                    found |= {(node.module, alias.name) for alias in node.names}
    return found


@pytest.mark.parametrize(("module", "name"), sorted(core_imports()))
def test_what_built_in_plugins_use_is_in_the_api(module, name):
    assert getattr(kernkit.api, name, None) is getattr(importlib.import_module(module), name), (
        f"{module}.{name} is used by a built-in plugin but kernkit.api does not offer it"
    )


def test_the_api_offers_the_hook_marker_records_errors_and_devices():
    for name in ("hookimpl", "Scheduler", "Device", "DeviceDriver", "Chan", "PluginError", "ENOENT", "Slot"):
        assert name in kernkit.api.__all__
