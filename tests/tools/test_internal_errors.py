"""An "internal error" exit from any input is a bug. Every place in kernkit that can print one is
found here by grepping the code; each must either have a test here that reaches it on purpose
(a simulated kernkit bug, never an input) or say, in a comment just above, why input cannot
reach it."""

from __future__ import annotations

import ast
import contextlib
import io

import pytest
from support import ROOT

PACKAGES = ("core", "arch", "plugins", "tools")
MARK = "internal error"
#: A comment within this many lines above a producer saying why no input reaches it.
COMMENT_REACH = 8


def producers() -> list[tuple[str, str, int]]:
    """(file, enclosing function, line) of every string that prints "internal error"."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            source = path.read_text()
            if MARK not in source:
                continue
            tree = ast.parse(source)
            for function in ast.walk(tree):
                if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                for node in ast.walk(function):
                    if isinstance(node, ast.Constant) and isinstance(node.value, str) and MARK in node.value:
                        found.append((str(path.relative_to(ROOT)), function.name, node.lineno))
    return found


def _explained(path: str, line: int) -> bool:
    lines = (ROOT / path).read_text().splitlines()
    above = lines[max(0, line - 1 - COMMENT_REACH) : line - 1]
    return any("unreachable from input:" in text for text in above)


def test_cli_bug_is_reached_on_purpose(monkeypatch, capsys):
    """The CLI's catch-all, reached by a simulated kernkit bug: one line, status 70, the
    traceback with KERNKIT_DEBUG=1."""
    from kernkit.tools import cli

    def broken(args):  # noqa: ANN001, ANN202
        raise RuntimeError("a simulated kernkit bug")

    monkeypatch.setattr(cli, "_check", broken)
    monkeypatch.delenv("KERNKIT_DEBUG", raising=False)
    assert cli.main(["check"]) == 70
    assert capsys.readouterr().err == (
        "kernkit: internal error: RuntimeError: a simulated kernkit bug (set KERNKIT_DEBUG=1 for the traceback)\n"
    )
    monkeypatch.setenv("KERNKIT_DEBUG", "1")
    with pytest.raises(RuntimeError), contextlib.redirect_stderr(io.StringIO()):
        cli.main(["check"])


#: producer (file, function) -> the test here that reaches it on purpose.
REACHED = {("tools/cli.py", "main"): test_cli_bug_is_reached_on_purpose}


def test_every_internal_error_is_reached_on_purpose_or_explained():
    places = producers()
    assert places, "the grep found nothing: has the message changed?"
    for path, function, line in places:
        assert (path, function) in REACHED or _explained(path, line), (
            f"{path}:{line} ({function}) prints an internal error: add a test that reaches it on purpose "
            "to REACHED, or a comment 'unreachable from input: why' just above it"
        )
        if (path, function) in REACHED:
            assert _explained(path, line), f"{path}:{line}: say why no input reaches it"


def test_the_grep_finds_a_new_producer(tmp_path, monkeypatch):
    """The check is real: a new place printing an internal error is found, and fails it."""
    package = tmp_path / "tools"
    package.mkdir()
    (package / "x.py").write_text('def f():\n    print("kernkit: internal error: oops")\n')
    for name in ("core", "arch", "plugins"):
        (tmp_path / name).mkdir()
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    assert producers() == [("tools/x.py", "f", 2)]
    with pytest.raises(AssertionError, match=r"tools/x.py:2 \(f\) prints an internal error"):
        test_every_internal_error_is_reached_on_purpose_or_explained()
