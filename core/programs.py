"""Finding program files: host paths, or programs packaged with kernkit."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Protocol

from kernkit.core.config import shorten
from kernkit.core.errors import ProgramError


class ProgramFile(Protocol):
    """What a program is loaded from: a host Path, or a personality's file (execve of a file in
    a namespace): a name, its bytes, and ``str()`` for messages."""

    name: str

    def read_bytes(self) -> bytes: ...


def packaged_programs_dir() -> Path:
    return package_dir("kernkit.user") / "bin"


def package_dir(package: str) -> Path:
    """The folder of one of kernkit's data packages (``kernkit.user``, ``kernkit.configs``)."""
    module = importlib.import_module(package)
    return Path(next(iter(module.__path__)))


def packaged_programs() -> list[str]:
    directory = packaged_programs_dir()
    return sorted(p.name for p in directory.iterdir() if p.is_file()) if directory.is_dir() else []


def resolve_program(name: str, base_dir: Path | None) -> Path:
    """An existing file for ``name``: absolute, relative to ``base_dir``, or a packaged program."""
    try:
        return _resolve(name, base_dir)
    except OSError as exc:  # a name too long for the host, a loop of links, ...
        raise ProgramError(f"{shorten(name)}: cannot look it up: {exc.strerror}") from None


def _resolve(name: str, base_dir: Path | None) -> Path:
    candidate = Path(name).expanduser()
    if candidate.is_absolute():
        if candidate.is_file():
            return candidate
        raise ProgramError(f"{name}: no such program file")
    for base in (base_dir, Path.cwd()) if base_dir else (Path.cwd(),):
        path = base / candidate
        if path.is_file():
            return path
    packaged = packaged_programs_dir() / name
    if "/" not in name and packaged.is_file():
        return packaged
    known = ", ".join(packaged_programs()) or "none"
    raise ProgramError(f"{name}: no such program file (packaged programs: {known})")
