"""File mappings, copy-on-write fork and vfork as programs see them, with Linux as the oracle.

user/mmaptest.c prints what it observes (a private mapping following the file until written, a
shared one agreeing with read() and with another process, SIGBUS past the end of a truncated
file, mremap, madvise, mincore, memfd, copy-on-write, vfork); the same binary runs on this host
and under kernkit, and the outputs must be the same line for line. It is built with musl (the
packaged binary) and with glibc (built here), and runs against #tmpfs, #root and a 9P mount.
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from support import USER_BIN, run_kernel
from support.ninep import diod_server

MMAPTEST = USER_BIN / "mmaptest"
#: A read-only file for the tests that need one: a host file (#root's /bin/hello in kernkit).
ROFILE = USER_BIN / "hello"
#: What a 9P mount serves the same way Linux's local files do (no owners, no memfd).
NINEP_TESTS = ["private", "shared", "twoproc", "futex", "truncate", "pastend", "mremap", "madvise", "mincore"]


def native(program, directory, *tests: str) -> str:
    """The program's output on this host (Linux, the oracle)."""
    done = subprocess.run(
        [str(program), str(directory), str(ROFILE), *tests], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def under_kernkit(program, directory: str, *tests: str, config=None, **settings) -> tuple[str, str]:
    run = run_kernel(str(program), directory, "/bin/hello", *tests, config=config, **settings)
    assert run.status == 0, run.err
    return run.out, run.err


@pytest.fixture(scope="module")
def glibc_mmaptest(tmp_path_factory):
    """user/mmaptest.c linked statically with glibc (not committed: it embeds glibc)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (apt-get install gcc)")
    binary = tmp_path_factory.mktemp("glibc") / "mmaptest"
    source = USER_BIN.parent / "mmaptest.c"
    built = subprocess.run(
        ["gcc", "-O2", "-static", "-o", str(binary), str(source)], capture_output=True, text=True
    )
    if built.returncode != 0:
        pytest.skip(f"gcc -static cannot link with glibc here: {built.stderr.strip()[-200:]}")
    return binary


def test_musl_program_sees_what_it_sees_on_linux(tmp_path):
    expected = native(MMAPTEST, tmp_path)
    out, err = under_kernkit(MMAPTEST, "/tmp")
    assert out == expected
    # faults are reported with the exact address: the write 5 bytes into a page past the end
    assert "killed by SIGBUS: page fault, beyond the end of the mapped file at 0x" in err
    assert "005 (write)" in err


def test_glibc_program_sees_what_it_sees_on_linux(tmp_path, glibc_mmaptest):
    expected = native(glibc_mmaptest, tmp_path)
    out, _ = under_kernkit(glibc_mmaptest, "/tmp")
    assert out == expected


def test_files_on_a_9p_mount_map_as_local_files_do_on_linux(tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    local = tmp_path / "local"
    local.mkdir()
    expected = native(MMAPTEST, local, *NINEP_TESTS)
    with diod_server(served) as port:
        config = tmp_path / "mount.toml"
        config.write_text(
            textwrap.dedent(
                f"""
                [[mount9p]]
                addr = "127.0.0.1:{port}"
                at = "/n/host"
                version = "9P2000.L"
                aname = "{served}"
                """
            )
        )
        out, _ = under_kernkit(MMAPTEST, "/n/host", *NINEP_TESTS, config=config)
    assert out == expected
    assert list(served.iterdir()) == []  # every test removed its file through the mount


def test_fork_shares_memory_until_it_is_written():
    # three processes each see 24 MiB of their own on a 64 MiB machine: copying at fork could
    # not hold them, sharing the pages until written does
    out, _ = under_kernkit(MMAPTEST, "/tmp", "cowbig", machine__memory="64M")
    assert out == "cowbig: three processes, 24 MiB each, one page written by each child: 3 3\n"


def test_many_small_mappings_with_alternating_protections():
    out, _ = under_kernkit(MMAPTEST, "/tmp", "maps=20000")
    assert out == "maps: 20000 one-page mappings, 0 failed\n"


def test_a_program_reuses_the_frames_of_one_that_exited():
    # frames freed by an exit are handed out again at once; code translated from them before
    # must be gone, or the next program (its code at the same addresses) runs the old one
    commands = [c for i in range(10) for c in ("hello", f"echo_args a{i}")]
    run = run_kernel("run", *commands)
    assert run.status == 0, run.err
    assert run.out.count("Hello from kernkit!\n") == 10
    assert all(f"a{i}" in run.out for i in range(10))


@pytest.fixture(scope="module")
def sqlite_wal(tmp_path_factory):
    """user/sqlite_wal.c linked with Debian's libsqlite3.a and glibc (built here: it embeds
    SQLite, so it is never committed)."""
    library = [
        p for p in ("/usr/lib/x86_64-linux-gnu/libsqlite3.a", "/usr/lib/libsqlite3.a") if Path(p).exists()
    ]
    if not library or shutil.which("gcc") is None:
        pytest.skip("libsqlite3.a and gcc are needed (apt-get install libsqlite3-dev gcc)")
    binary = tmp_path_factory.mktemp("sqlite") / "sqlite_wal"
    source = USER_BIN.parent / "sqlite_wal.c"
    built = subprocess.run(
        ["gcc", "-O2", "-static", "-o", str(binary), str(source), "-lsqlite3", "-lm"],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        pytest.skip(f"cannot link SQLite statically here: {built.stderr.strip()[-300:]}")
    return binary


def test_sqlite_in_wal_mode_with_two_writing_processes(tmp_path, sqlite_wal):
    # WAL mode maps DB-shm shared in both writers; 10,000 inserts in transactions of 100
    done = subprocess.run([str(sqlite_wal), str(tmp_path / "native.db")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run = run_kernel(str(sqlite_wal), "/tmp/test.db", machine__memory="256M")
    if run.status == 3 and run.out == "record locks: not enforced\n":
        pytest.skip("fcntl record locks are not enforced in this kernel: two SQLite writers would corrupt")
    assert run.status == 0, run.err
    assert run.out == done.stdout
    assert run.out.endswith("integrity_check: ok\n")
