"""Importing unicorn without the 5-8 ms of CPU its library search costs in imports alone.

unicorn's bindings (2.1.x) find ``libunicorn`` through ``importlib.resources.files("unicorn")``,
which imports importlib.resources and with it tempfile, random, zipfile and the resource
readers, modules kernkit uses nothing of. The first import of unicorn
in a process can instead see a stand-in for that module whose ``files("unicorn")`` is the
package's folder, which is what the real one returns for an installed (not zipped) package, so
the same library is loaded from the same place; the stand-in is gone once unicorn is imported.
When unicorn or importlib.resources is imported already, or unicorn's package is not a folder
on the path, this is a plain ``import unicorn``.
"""

from __future__ import annotations

import importlib
import sys
from importlib.machinery import PathFinder
from pathlib import Path
from types import ModuleType

RESOURCES = "importlib.resources"


def import_unicorn() -> None:
    """Import unicorn, the first time without importlib.resources (see above)."""
    if "unicorn" in sys.modules or RESOURCES in sys.modules:
        import unicorn  # noqa: F401 - the plain way: nothing to save

        return
    spec = PathFinder.find_spec("unicorn")
    folders = list(spec.submodule_search_locations or ()) if spec is not None else []
    if len(folders) != 1 or not Path(folders[0], "__init__.py").is_file():
        import unicorn  # noqa: F401

        return
    stand_in = ModuleType(RESOURCES)
    stand_in.files = _files_of(Path(folders[0]))
    sys.modules[RESOURCES] = stand_in
    try:
        import unicorn  # noqa: F401
    finally:
        if sys.modules.get(RESOURCES) is stand_in:
            del sys.modules[RESOURCES]
        if getattr(importlib, "resources", None) is stand_in:
            del importlib.resources


def _files_of(folder: Path):  # noqa: ANN202
    def files(package: object) -> Path:
        if package != "unicorn":
            raise ModuleNotFoundError(f"{RESOURCES} is not available while unicorn is imported")
        return folder

    return files
