"""The installed package holds every module of the tree, not only what an editable install sees."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_python_package_of_the_tree_is_listed_for_the_wheel() -> None:
    settings = _setuptools()
    listed = set(settings["packages"])
    missing = []
    for name, folder in settings["package-dir"].items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            relative = init.parent.relative_to(ROOT / folder)
            dotted = ".".join((name, *relative.parts))
            if dotted not in listed:
                missing.append(dotted)
    assert missing == [], f"add to [tool.setuptools] packages in pyproject.toml: {missing}"
