"""``[namespace] host`` and ``kernkit boot --host-root``: the host's userland in the namespace,
read only and as it is on the host, with one-line errors for what cannot be put there."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from support import ROOT, config_error, kernkit_cli, one_line_error, run_kernel

USERLAND = [
    p for p in ("/bin", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/sbin", "/usr") if os.path.lexists(p)
]


def test_host_root_shows_the_host_userland_at_the_same_paths_links_kept():
    run = run_kernel("ls", "-l", "/", namespace__host=["@userland"])
    assert run.status == 0, run.err
    listed = {
        line.split()[-1] if "->" not in line else line.split()[-3]: line for line in run.out.splitlines()
    }
    for path in USERLAND:
        line = listed[path[1:]]
        if os.path.islink(path):
            assert line.endswith(f"{path[1:]} -> {os.readlink(path)}"), line
        else:
            assert line.startswith("d"), line
    assert "tmp" in listed and "proc" in listed  # kernkit's own devices stay


def test_host_files_read_as_on_the_host():
    release = Path("/etc/os-release")
    if not release.exists():
        pytest.skip("no /etc/os-release on this host")
    run = run_kernel("cat", "/etc/os-release", namespace__host=["@userland"])
    assert run.status == 0, run.err
    assert run.out == release.read_text()


def test_root_entries_stay_beside_the_host_ones():
    run = run_kernel("ls", "/kk/hello", namespace__host=["@userland"], namespace__root={"/kk": "@programs"})
    assert (run.status, run.out) == (0, "/kk/hello\n"), run.err


@pytest.fixture
def outside_tmp():
    """A host directory outside /tmp (which #tmpfs covers in the namespace), wherever the
    checkout and pytest's own temporary directories are."""
    directory = Path(tempfile.mkdtemp(prefix="kernkit-host-", dir="/var/tmp"))
    yield directory
    shutil.rmtree(directory)


def test_the_flag_adds_the_userland_to_the_configs_own_list(tmp_path, outside_tmp):
    (outside_tmp / "hello.c").write_text((ROOT / "user" / "hello.c").read_text())
    config = tmp_path / "k.toml"
    config.write_text(f'[namespace]\nhost = ["{outside_tmp}"]\n')
    done = kernkit_cli("boot", str(config), "--host-root", "--", "cat", f"{outside_tmp}/hello.c", "/etc/hostname")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode() == (outside_tmp / "hello.c").read_text() + Path("/etc/hostname").read_text()


def test_runs_with_the_host_root_are_deterministic():
    """The same host files give the same output and the same trace, run after run."""
    if not Path("/bin/ls").exists():
        pytest.skip("no /bin/ls on this host")
    runs = [
        run_kernel("/bin/ls", "-l", "/usr/lib", trace=True, namespace__host=["@userland"]) for _ in range(2)
    ]
    assert runs[0].status == 0, runs[0].err
    assert runs[0].out == runs[1].out and runs[0].trace == runs[1].trace
    assert "x86_64-linux-gnu" in runs[0].out


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ('["usr"]', "namespace.host: item 0: usr: expected an absolute path such as /tmp (or '@userland')"),
        ('["/usr/../etc"]', "namespace.host: item 0: /usr/../etc: expected a clean path"),
        ('["/"]', "namespace.host: item 0: '/' would bring the whole host; name directories such as /usr"),
    ],
)
def test_bad_host_entries_are_one_line_errors(tmp_path, value, message):
    config = tmp_path / "k.toml"
    config.write_text(f"[namespace]\nhost = {value}\n")
    assert message in config_error(config)


def test_a_missing_host_path_is_a_one_line_error_at_boot():
    message = one_line_error(kernkit_cli("boot", "--set", 'namespace.host=["/no/such/dir"]'))
    assert message == "<command line>: namespace.host: item 0: /no/such/dir: no such host file or directory"
