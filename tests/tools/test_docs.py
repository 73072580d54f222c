"""The docs stay true: generated references match the code, README commands work as shown."""

from __future__ import annotations

import re
import shlex
import signal
import subprocess

import pytest
from support import ROOT, kernkit_cli, kernkit_process

from kernkit.tools import docgen

README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("page", sorted(docgen.PAGES))
def test_generated_reference_is_up_to_date(page):
    committed = (ROOT / "docs" / page).read_text()
    assert committed == docgen.PAGES[page](), f"docs/{page} is stale: run python -m kernkit.tools.docgen"


def _tour_commands() -> list[list[str]]:
    block = README.split("## A five-minute tour", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    commands = []
    for line in block.strip().splitlines():
        command = line.split("  #", 1)[0].strip()
        commands.append(shlex.split(command))
    return commands


EXPECTED_STATUS = {"--max-instructions": 124, "fault": 139}


@pytest.fixture(scope="module")
def tour_dir(tmp_path_factory):
    """One scratch directory for the whole tour: later commands read what earlier ones wrote."""
    return tmp_path_factory.mktemp("tour")


def _with_gdb(args: list[str], tour_dir) -> subprocess.CompletedProcess:
    """A ``--gdb`` command waits for a debugger: a client (on a free port) lets the program run."""
    from support.gdb import Guest

    at = args.index("--gdb")
    options, program = args[1 : args.index("--")], args[args.index("--") + 1 :]
    options = options[: at - 1] + options[at + 1 :]
    guest = Guest(tour_dir, *program, options=tuple(options))
    try:
        client = guest.client()
        client.request("?")
        client.send("vCont;c")
        assert client.reply() == b"W00"
        status = guest.wait()
    finally:
        guest.close()
    return subprocess.CompletedProcess(args, status, guest.out.encode(), guest.err.encode())


@pytest.mark.parametrize("command", _tour_commands(), ids=lambda c: " ".join(c[1:4]))
def test_tour_commands_work(command, tour_dir):
    assert command[0] == "kernkit"
    if "configs/export.toml" in command:  # serves until Ctrl-C: see that it serves, then press it
        _serve_then_interrupt(command)
        return
    if "configs/httpd.toml" in command or "configs/uhttpd.toml" in command:
        _get_then_interrupt(command)
        return
    args = [str(tour_dir / a) if a.endswith((".jsonl", ".json")) else a for a in command[1:]]
    if "--gdb" in args:
        result = _with_gdb(args, tour_dir)
    else:  # the monitor reads commands: go on into the run, as a user would
        stdin = b"continue\n" if "--monitor" in args else b""
        result = kernkit_cli(*args, stdin=stdin, env={"KERNKIT_RESULTS_DB": str(tour_dir / "results.db")})
    expected = next((status for word, status in EXPECTED_STATUS.items() if word in args), 0)
    assert result.returncode == expected, result.stderr.decode()
    assert b"Traceback" not in result.stderr


def _serve_then_interrupt(command: list[str]) -> None:
    from kernkit.plugins.ninep.client import Client

    args = [*command[1:], "--set", "export9p.listen=127.0.0.1:0"]  # any free port, not 5640
    with kernkit_process(*args) as proc:
        announced = proc.stderr.readline().decode()
        port = int(re.search(r"9P export on 127\.0\.0\.1:(\d+)", announced).group(1))
        client = Client.connect("127.0.0.1", port)
        client.attach("/proc")
        client.close()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err == b"kernkit: interrupted\n", err


def _get_then_interrupt(command: list[str]) -> None:
    """The web server tour line: fetch the page through the forward (on a free port), Ctrl-C."""
    import threading
    import urllib.error
    import urllib.request

    args = [*command[1:], "--set", 'net.forward=[{host = "127.0.0.1:0", guest = 80}]']
    with kernkit_process(*args) as proc:
        announced = proc.stderr.readline().decode()
        port = int(re.search(r"forwarding 127\.0\.0\.1:(\d+)", announced).group(1))
        for _ in range(100):  # the forward is up before the guest listens: until it answers
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=60).read()
                break
            except (ConnectionError, urllib.error.URLError):
                threading.Event().wait(0.1)
        assert b"Hello from kernkit!" in page
        # A Ctrl-C landing while a guest runs can be lost inside the emulator's callback: press again
        for _ in range(30):
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=2)
                break
            except subprocess.TimeoutExpired:
                continue
    assert proc.returncode == 130, err


def test_readme_error_example_is_what_kernkit_prints(tmp_path):
    shown = re.search(r"\$ kernkit check bad.toml\n(kernkit: error: .*)\n", README).group(1)
    (tmp_path / "bad.toml").write_text("[machine]\ncoers = 4\n")
    result = kernkit_cli("check", "bad.toml", cwd=tmp_path)
    assert result.stderr.decode().strip() == shown


def test_readme_fault_report_matches_the_real_one():
    shown = re.search(r"(kernkit: pid 1 \(fault\) killed by .*)\n(kernkit:   pc .*)\n", README)
    result = kernkit_cli("boot", "--", "fault", "null")
    lines = result.stderr.decode().splitlines()
    assert lines[0] == shown.group(1) and lines[1] == shown.group(2)


def test_readme_names_the_setup_run_and_test_commands():
    assert "pip install -e '.[test]'" in README
    assert "kernkit boot configs/minimal.toml" in README
    assert "python -m pytest -q" in README


def test_every_gdb_line_in_the_docs_finds_the_sources():
    """The guest programs are built with paths relative to user/ (-ffile-prefix-map): gdb shows
    source lines only when told where that is."""
    pages = {"README.md": README, **{p.name: p.read_text() for p in (ROOT / "docs").glob("*.md")}}
    lines = [(name, line) for name, text in pages.items() for line in text.splitlines()
             if re.search(r"\bgdb (-q )?(-batch )?user/bin/", line)]
    assert lines
    for name, line in lines:
        assert "-ex 'directory user'" in line, f"{name}: {line}"


def test_the_matrix_page_documents_every_option():
    import argparse

    from kernkit.tools.matrix import command

    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    page = (ROOT / "docs" / "matrix.md").read_text()
    for action in parser._actions:
        for flag in action.option_strings:
            if flag.startswith("--") and flag != "--help":
                assert f"`{flag}" in page or f" {flag} " in page, f"docs/matrix.md does not mention {flag}"


def test_the_package_builds_without_setuptools_warnings(tmp_path):
    """No deprecated license table, no data directory that "would be ignored": a build says
    nothing, and the wheel still carries the configs' web root, the programs and parlib."""
    import sys
    import zipfile

    pytest.importorskip("setuptools")
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "--no-build-isolation", "-w", str(tmp_path),
         str(ROOT)],
        capture_output=True, text=True, timeout=300,
    )
    assert build.returncode == 0, build.stderr
    output = build.stdout + build.stderr  # -v: what the build backend said
    warnings = [line for line in output.splitlines() if re.search(r"Setuptools\w*Warning|_Warning", line)]
    assert not warnings, warnings
    (wheel,) = tmp_path.glob("kernkit-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for expected in ("kernkit/configs/www/index.html", "kernkit/user/bin/hello", "kernkit/user/parlib/vcore.c",
                     "kernkit/configs/minimal.toml", "kernkit/user/Makefile"):
        assert expected in names, expected
