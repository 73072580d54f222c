"""``kernkit trace html``: a self-contained timeline page, and the screenshot in docs/debugging.md."""

from __future__ import annotations

import json
import re
import shlex
import shutil
import struct
import subprocess

import pytest
from support import CONFIGS, ROOT, kernkit_cli

#: The commands docs/debugging.md shows for its screenshot (a test below checks they are there).
DOC_COMMANDS = [
    "kernkit boot --trace mcp.jsonl configs/akaros.toml -- provision_demo",
    "kernkit trace html mcp.jsonl -o mcp.html",
    "chromium --headless --no-sandbox --hide-scrollbars --window-size=1400,680 "
    "--screenshot=docs/trace-mcp.png mcp.html",
]


@pytest.fixture(scope="module")
def mcp_trace(tmp_path_factory):
    path = tmp_path_factory.mktemp("trace") / "mcp.jsonl"
    result = kernkit_cli("boot", "--trace", str(path), str(CONFIGS / "akaros.toml"), "--", "provision_demo")
    assert result.returncode == 0, result.stderr.decode()
    return path


def test_the_page_draws_every_run_and_the_mcp_instants_on_their_cores(mcp_trace, tmp_path):
    page = tmp_path / "t.html"
    assert kernkit_cli("trace", "html", str(mcp_trace), "-o", str(page)).returncode == 0
    text = page.read_text()
    events = [json.loads(line) for line in mcp_trace.read_text().splitlines()]
    runs = [e for e in events if e["ev"] == "run"]
    assert text.count(" on core ") == len(runs)  # one bar (with its tooltip) per run
    for core, who in [(1, "provision_demo 2 vc0"), (2, "provision_demo 3 vc0"), (3, "provision_demo 3 vc1")]:
        label = re.search(rf'class="core">(core {core}: [^<]*)<', text).group(1)
        assert who in label
    assert text.count("preempted (provision_demo 2): ") == 2
    assert "preempt warning to provision_demo 2 (pid 3 is owed it)" in text
    assert "kmsg __preempt from core 0" in text and "grant to provision_demo 3" in text
    assert "vcore preempted (2)" in text and "core provisioned (2)" in text  # the legend counts them
    # self-contained: no scripts, nothing loaded from anywhere
    assert "<script" not in text and "src=" not in text and "href=" not in text and "@import" not in text


def test_the_page_goes_to_stdout_without_o(mcp_trace):
    result = kernkit_cli("trace", "html", str(mcp_trace))
    assert result.returncode == 0 and result.stdout.startswith(b"<!DOCTYPE html>")


def test_unwritable_output_is_a_one_line_error(mcp_trace, tmp_path):
    result = kernkit_cli("trace", "html", str(mcp_trace), "-o", str(tmp_path / "no" / "t.html"))
    assert result.returncode == 2
    assert result.stderr.decode().startswith(f"kernkit: error: -o {tmp_path / 'no' / 't.html'}: cannot write")
    assert len(result.stderr.splitlines()) == 1


def test_debugging_md_shows_the_commands_and_the_picture():
    doc = (ROOT / "docs" / "debugging.md").read_text()
    for command in DOC_COMMANDS:
        assert command in doc
    assert "![a timeline of provision_demo on four cores](trace-mcp.png)" in doc
    png = (ROOT / "docs" / "trace-mcp.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (1400, 680)


def test_the_screenshot_commands_work(tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    (tmp_path / "docs").mkdir()
    boot, html, shoot = (shlex.split(command) for command in DOC_COMMANDS)
    boot[boot.index("configs/akaros.toml")] = str(CONFIGS / "akaros.toml")
    assert kernkit_cli(*boot[1:], cwd=tmp_path).returncode == 0
    assert kernkit_cli(*html[1:], cwd=tmp_path).returncode == 0
    height = int(re.search(r'<svg [^>]*height="(\d+)"', (tmp_path / "mcp.html").read_text()).group(1))
    assert height <= 680, "the page grew: make the screenshot's window taller in docs/debugging.md"
    profile = f"--user-data-dir={tmp_path / 'profile'}"
    subprocess.run([browser, profile, *shoot[1:]], cwd=tmp_path, capture_output=True, timeout=120, check=True)
    png = (tmp_path / "docs" / "trace-mcp.png").read_bytes()
    assert struct.unpack(">II", png[16:24]) == (1400, 680) and len(png) > 20_000
