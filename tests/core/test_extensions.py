"""An optional C extension is used only when it was built from the source beside it
(core/extensions.py): a stale one in an editable install falls back to Python with a line saying
how to rebuild, instead of C that no longer matches its callers."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from kernkit.core import extensions

MODULE = "kernkit.core._tracelines"


@pytest.fixture
def built() -> Path:
    spec = importlib.util.find_spec(MODULE)
    if spec is None or not spec.origin:
        pytest.skip("the C trace encoder was not built here (no C compiler)")
    return Path(spec.origin)


def source_at(tmp_path: Path, mtime: float) -> Path:
    source = tmp_path / "_tracelines.c"
    source.write_text("/* the source */\n")
    os.utime(source, (mtime, mtime))
    return source


def test_an_extension_built_after_its_source_is_used(built, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("KERNKIT_PURE_PYTHON", raising=False)
    source = source_at(tmp_path, built.stat().st_mtime - 60)
    assert extensions.extension_path(MODULE, source) == str(built)
    assert capsys.readouterr().err == ""


def test_a_source_changed_since_the_build_means_python_and_one_line_on_how_to_rebuild(
    built, tmp_path, monkeypatch, capsys
):
    monkeypatch.delenv("KERNKIT_PURE_PYTHON", raising=False)
    monkeypatch.setattr(extensions, "_warned", set())
    monkeypatch.setattr(extensions, "_INSTALLED", frozenset())  # wherever the tests run from: a checkout
    source = source_at(tmp_path, built.stat().st_mtime + 60)
    assert extensions.extension_path(MODULE, source) is None
    assert extensions.extension_path(MODULE, source) is None
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{built.name} was built before _tracelines.c changed" in err
    assert "pip install -e ." in err


def test_an_installed_extension_is_not_compared_with_its_source(built, tmp_path, monkeypatch, capsys):
    """pip writes an installed package's files in any order: their times say nothing."""
    monkeypatch.delenv("KERNKIT_PURE_PYTHON", raising=False)
    monkeypatch.setattr(extensions, "_INSTALLED", frozenset({built.parent.parent.name}))
    source = source_at(tmp_path, built.stat().st_mtime + 60)
    assert extensions.extension_path(MODULE, source) == str(built)
    assert capsys.readouterr().err == ""


def test_pure_python_when_asked(built, tmp_path, monkeypatch):
    monkeypatch.setenv("KERNKIT_PURE_PYTHON", "1")
    assert extensions.extension_path(MODULE, source_at(tmp_path, 0)) is None
