"""Programs the suite builds from Debian's libraries and compilers (never committed): a C host
linked ``-static`` with glibc and a library archive, or a Go program built with CGO_ENABLED=0.

Builds go to ``KERNKIT_CACHE_DIR/compat`` (default ``~/.cache/kernkit/compat``), named by a hash of
the sources, the link arguments and the compiler, so a change rebuilds and nothing else does.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from kernkit.core.entrypoints import cache_dir

BUILD_TIMEOUT_S = 600


def build_folder() -> Path:
    root = cache_dir()
    return (root if root is not None else Path(tempfile.gettempdir()) / "kernkit-cache") / "compat"


def build_program(name: str, kind: str, sources: Sequence[Path], libs: Sequence[str]) -> tuple[str, str]:
    """(host path of the built program, "") or ("", why it could not be built)."""
    compiler = "go" if kind == "go" else "gcc"
    digest = hashlib.sha256("\0".join([kind, _version(compiler), *libs]).encode())
    for source in sources:
        digest.update(source.read_bytes())
    for lib in libs:
        if lib.startswith("/") and Path(lib).exists():
            stat = Path(lib).stat()
            digest.update(f"{lib}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    target = build_folder() / f"{name}-{digest.hexdigest()[:16]}"
    if target.is_file():
        return str(target), ""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    if kind == "go":
        command = ["go", "build", "-trimpath", "-o", str(partial), *map(str, sources)]
        env = {**os.environ, "CGO_ENABLED": "0", "GO111MODULE": "off"}
        env.setdefault("GOCACHE", str(build_folder() / "go-cache"))
    else:
        command = ["gcc", "-static", "-O2", "-o", str(partial), *map(str, sources), *libs]
        env = dict(os.environ)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, env=env, timeout=BUILD_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "", f"could not be built: {exc}"
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no message"])[0]
        partial.unlink(missing_ok=True)
        return "", f"could not be built ({' '.join(command[:2])}...): {first}"
    partial.replace(target)
    return str(target), ""


def _version(compiler: str) -> str:
    path = shutil.which(compiler)
    if path is None:
        return ""
    flag = "version" if compiler == "go" else "--version"
    done = subprocess.run([path, flag], capture_output=True, text=True, check=False)
    return done.stdout.splitlines()[0] if done.stdout else ""
