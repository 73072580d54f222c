"""The #kv example device installs with pip, its C program uses it, the matrix runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from support import ROOT, kernkit_cli, pip_install_target

KV = ROOT / "examples" / "kernkit-kv"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    target = tmp_path_factory.mktemp("site")
    return target, pip_install_target(KV, target)


@pytest.fixture(scope="module")
def kvtool(site):
    path = site[0] / "kernkit_kv" / "bin" / "kvtool"
    assert path.is_file(), "pip did not install kvtool with the package"
    return str(path)


def boot(site, *args: str) -> subprocess.CompletedProcess:
    return kernkit_cli("boot", *args, env=site[1])


def test_the_device_is_found_through_its_entry_point(site):
    listed = kernkit_cli("plugins", env=site[1]).stdout.decode()
    assert "kv 0.1.0 [entry point]" in listed
    assert "kv (kv)" in listed.split("devices: ")[1].splitlines()[0]


def test_python_m_kernkit_kv_says_where_kvtool_is(site, kvtool):
    found = subprocess.run(
        [sys.executable, "-m", "kernkit_kv"], env=site[1] | {"PATH": ""}, capture_output=True
    )
    assert found.stdout.decode().strip() == kvtool


def test_kvtool_sets_gets_lists_and_deletes(site, kvtool):
    result = boot(
        site,
        "--",
        kvtool,
        "set",
        "color",
        "blue",
        "set",
        "shape",
        "round",
        "get",
        "color",
        "list",
        "del",
        "color",
        "list",
        "stat",
    )
    assert result.stderr == b""
    assert result.stdout.decode() == "blue\ncolor\t4\nshape\t5\nshape\t5\nkeys 1\nbytes 5\nmax_bytes 65536\n"
    assert result.returncode == 0


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["get", "nope"], "kvtool: get nope: No such file or directory"),
        (["del", "nope"], "kvtool: del nope: No such file or directory"),
        (["new", "a", "1", "new", "a", "2"], "kvtool: new a: File exists"),
        (["set", "a", "12345", "set", "b", "1234"], "kvtool: set b: No space left on device"),
    ],
)
def test_errors_are_clear(site, kvtool, args, error):
    result = boot(site, "--set", "kv.max_bytes=8", "--", kvtool, *args)
    assert (result.returncode, result.stderr.decode()) == (1, error + "\n")


def test_a_bad_max_bytes_is_a_one_line_error(site, kvtool):
    result = boot(site, "--set", "kv.max_bytes=lots", "--", kvtool, "list")
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "kernkit: error: <command line>: kv.max_bytes: expected a size such as 64M or 1G, got 'lots'\n"
    )


def test_the_example_config_binds_kv_for_every_program(site):
    result = boot(
        site,
        str(KV / "kv.toml"),
        "--",
        "run",
        "echo hi > /kv/x",
        "ls -l /kv",
        "cat /kv/x",
        "echo bogus > /kv/ctl",
    )
    assert result.stdout.decode() == "-rw-rw-rw-        0 ctl\n-rw-rw-rw-        3 x\nhi\n"
    assert result.stderr.decode() == "echo: write: Invalid argument\n"
    assert boot(site, str(KV / "kv.toml")).stdout == b"hello\nkeys 1\nbytes 5\nmax_bytes 4096\n"


def test_the_readme_shows_the_matrix_file():
    assert (KV / "matrix.toml").read_text().rstrip() in (KV / "README.md").read_text()


def test_matrix_runs_kv_next_to_the_built_ins(site, tmp_path):
    result = kernkit_cli(
        "matrix",
        str(KV / "matrix.toml"),
        "--json",
        str(tmp_path / "r.json"),
        "--db",
        str(tmp_path / "h.db"),
        env=site[1],
    )
    assert result.returncode == 0, result.stdout.decode()
    cells = {c["id"]: c["status"] for c in json.loads((tmp_path / "r.json").read_text())["cells"]}
    variants = ["cores=1,policy=rr", "cores=4,policy=rr", "cores=4,policy=mcp"]
    assert cells == {f"{w}[{v}]": "PASS" for w in ("hello", "kv", "kv-rewrite") for v in variants}


def test_kv_passes_its_own_tests():
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=KV,
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout.decode()[-2000:]
    assert b"6 passed" in result.stdout


@pytest.mark.skipif(
    shutil.which("musl-gcc") is None, reason="musl-gcc (apt-get install musl-tools) rebuilds kvtool"
)
def test_kvtool_rebuilds_from_its_source_and_runs(site, tmp_path):
    subprocess.run(["make", "-s", "-C", str(KV), f"OUT={tmp_path}"], check=True, capture_output=True)
    result = boot(site, "--", str(tmp_path / "kvtool"), "set", "k", "v", "get", "k")
    assert result.stdout == b"v\n"


def test_the_tutorial_shows_what_kvtool_prints(site, kvtool):
    tutorial = (ROOT / "docs" / "tutorial-plugin.md").read_text()
    shown = boot(site, "--", kvtool, "set", "color", "blue", "set", "shape", "round", "get", "color", "list")
    assert (
        "$(python -m kernkit_kv) set color blue set shape round get color list\n" + shown.stdout.decode()
        in tutorial
    )
    full = boot(site, "--set", "kv.max_bytes=8", "--", kvtool, "set", "a", "12345", "set", "b", "1234")
    assert "set a 12345 set b 1234\n" + full.stderr.decode() in tutorial
