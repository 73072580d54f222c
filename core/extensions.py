"""The package's optional C extensions, and when one must not be used."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

_warned: set[str] = set()
#: Where installers put packages; their files' times are the installation's, not the build's.
_INSTALLED = frozenset({"site-packages", "dist-packages"})


def extension_path(module: str, source: Path) -> str | None:
    """The file of the compiled ``module`` built from ``source``, or None: pure Python asked for
    (``KERNKIT_PURE_PYTHON``), not built (no C compiler), or built before ``source`` last changed.
    The last happens in an editable install (built in the checkout) after a pull: C that no
    longer matches the Python calling it could crash the process, so the pure-Python path runs,
    and a line on stderr says how to rebuild."""
    if os.environ.get("KERNKIT_PURE_PYTHON"):
        return None
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        return None
    built = Path(spec.origin)
    installed = _INSTALLED.intersection(built.parts)  # built once with its source: nothing to compare
    if not installed and source.exists() and source.stat().st_mtime > built.stat().st_mtime:
        if module not in _warned:
            _warned.add(module)
            print(
                f"kernkit: {built.name} was built before {source.name} changed; running the slower "
                "pure-Python path (rebuild it: pip install -e .)",
                file=sys.stderr,
            )
        return None
    return spec.origin
