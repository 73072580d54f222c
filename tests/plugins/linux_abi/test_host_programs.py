"""Debian's own dynamically linked programs, run from the host's userland put in the namespace
(``[namespace] host = ["@userland"]``, what ``kernkit boot --host-root`` does): ls, python3,
perl and dash print what they print on this host and under qemu-user, which see the same files.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from support import kernkit_cli, run_kernel

HOST_ROOT = {"namespace__host": ["@userland"]}
PYTHON, PERL, DASH, LS = Path("/usr/bin/python3"), Path("/usr/bin/perl"), Path("/bin/dash"), Path("/bin/ls")


def need(program: Path) -> None:
    if not program.exists():
        pytest.skip(f"{program} is not installed on this host")


def host(*argv: str, emulate: bool = False) -> str:
    """What the program prints on this host (or under qemu-x86_64-static)."""
    if emulate:
        qemu = shutil.which("qemu-x86_64-static")
        if qemu is None:
            pytest.skip("qemu-x86_64-static is needed (apt-get install qemu-user-static)")
        argv = (qemu, *argv)
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, env={"PATH": "/bin", "HOME": "/"}
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def kernkit(*argv: str, status: int = 0) -> str:
    """What it prints under kernkit, started as the host starts it (argv[0] its path)."""
    run = run_kernel(*argv, init__name=argv[0], **HOST_ROOT)
    assert run.status == status, run.err
    return run.out


def same_as_host(program: Path, *args: str, prints: str) -> None:
    """The program prints ``prints`` on this host, and the same under kernkit."""
    need(program)
    assert host(str(program), *args) == prints
    assert kernkit(str(program), *args) == prints


def test_ls_lists_the_host_userland_as_the_host_does():
    need(LS)
    args = ("-1AF", "/usr", "/usr/bin/perl", "/etc/debian_version", "/lib64")
    expected = host(str(LS), *args)
    assert "bin/\n" in expected
    assert kernkit(str(LS), *args) == expected
    assert kernkit(str(LS), *args) == host(str(LS), *args, emulate=True)


def test_ls_l_shows_the_host_files_read_only_owned_by_root():
    need(LS)
    out = kernkit(str(LS), "-l", "/usr")
    names = [line.split()[-1] for line in out.splitlines()[1:]]
    assert names == host(str(LS), "/usr").split()
    assert all(line.startswith("dr-xr-xr-x") and " root root " in line for line in out.splitlines()[1:])


PYTHON_SCRIPT = """
import hashlib, json, os, subprocess, sys
print(2 ** 100)
print(json.dumps({"a": [1, 2.5, None]}, sort_keys=True), hashlib.sha256(b"kernkit").hexdigest())
print(sys.executable, sys.prefix, sys.version_info[:2] >= (3, 9))
print(subprocess.run(["/bin/echo", "child"], capture_output=True, text=True).stdout.strip())
sys.stdout.flush()
os.system("echo from sh $((6 * 7))")
"""


def test_python3_runs_a_script_as_on_the_host():
    need(PYTHON)
    expected = host(str(PYTHON), "-c", PYTHON_SCRIPT)
    assert expected.startswith("1267650600228229401496703205376\n")
    assert kernkit(str(PYTHON), "-c", PYTHON_SCRIPT) == expected


def test_python3_from_the_command_line_with_host_root():
    """The documented one-liner, as a user types it."""
    need(PYTHON)
    done = kernkit_cli("boot", "--host-root", "--", str(PYTHON), "-c", "print(2**100)")
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == b"1267650600228229401496703205376\n"


def test_python3_is_deterministic_though_it_seeds_from_the_kernel():
    """Hash seeds and random numbers come from getrandom, which derives from [kernel] seed:
    two runs agree; another seed changes them."""
    need(PYTHON)
    script = "import random; print(random.random(), hash('kernkit'))"
    first = kernkit(str(PYTHON), "-c", script)
    assert kernkit(str(PYTHON), "-c", script) == first
    other = run_kernel(str(PYTHON), "-c", script, init__name=str(PYTHON), kernel__seed=7, **HOST_ROOT)
    assert other.out != first


PERL_SCRIPT = 'use POSIX qw(floor); print join(",", map { $_ * $_ } 1..5), " ", floor(7 / 2), "\\n"; print `echo backtick`'


def test_perl_runs_as_on_the_host():
    same_as_host(PERL, "-e", PERL_SCRIPT, prints="1,4,9,16,25 3\nbacktick\n")


DASH_SCRIPT = (
    'for i in 1 2 3; do echo "$i"; done; x=$(echo sub); echo "$x"; '
    'printf "#!/bin/sh\\necho script \\$1 \\$0\\n" > "$1/s"; chmod +x "$1/s"; cd "$1" && ./s arg; '
    "ls /usr | wc -l; exit 3"
)


def test_dash_runs_commands_and_scripts_as_on_the_host(tmp_path):
    need(DASH)
    done = subprocess.run([str(DASH), "-c", DASH_SCRIPT, "sh", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("1\n2\n3\nsub\nscript arg ./s\n")
    assert kernkit(str(DASH), "-c", DASH_SCRIPT, "sh", "/tmp", status=3) == done.stdout


MULTIPROCESSING_SCRIPT = """
import multiprocessing
from multiprocessing import shared_memory
with multiprocessing.Pool(2) as pool:
    print(pool.map(abs, [-1, -2, -3, -4]))
block = shared_memory.SharedMemory(create=True, size=16)
block.buf[0] = 42
other = shared_memory.SharedMemory(block.name)
print(other.buf[0])
other.close()
block.close()
block.unlink()
"""


def test_python3_multiprocessing_shares_locks_and_memory_through_dev_shm():
    """A pool's workers take turns through a named semaphore (a futex in a /dev/shm file each
    process maps): without /dev/shm it is ENOENT, without futexes keyed by the file it hangs."""
    same_as_host(PYTHON, "-c", MULTIPROCESSING_SCRIPT, prints="[1, 2, 3, 4]\n42\n")


ASYNCIO_SCRIPT = """
import asyncio, socket

async def handle(reader, writer):
    writer.write((await reader.readline()).upper())
    await writer.drain()
    writer.close()

async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
    writer.write(b"ping\\n")
    print((await reader.readline()).decode().strip())
    writer.close()
    server.close()
    await server.wait_closed()

asyncio.run(main())
a, b = socket.socketpair()
a.setblocking(False)
b.sendall(b"pair")
print(a.recv(4).decode())
"""


def test_python3_asyncio_runs_its_event_loop():
    """asyncio's loop wakes itself through a socketpair and sets its sockets non-blocking with
    ioctl(FIONBIO): both were refused (ENOSYS, ENOTTY)."""
    same_as_host(PYTHON, "-c", ASYNCIO_SCRIPT, prints="PING\npair\n")


PERL_PAIR = (
    "use Socket; socketpair(my $a, my $b, AF_UNIX, SOCK_STREAM, 0) or die $!; "
    'if (!fork) { close $a; print $b "child\\n"; exit } close $b; print scalar <$a>; wait'
)


def test_perl_socketpair_between_two_processes():
    same_as_host(PERL, "-e", PERL_PAIR, prints="child\n")


NODE = Path("/usr/bin/node")
NODE_SCRIPT = (
    'setTimeout(() => console.log("timer"), 5); Promise.resolve(7).then(v => console.log("promise", v)); '
    "console.log([1, 2, 3].map(x => x * 2).join(), JSON.stringify({a: 1})); "
    'console.log(require("child_process").execSync("echo child").toString().trim())'
)


def test_node_runs_its_event_loop_and_a_child_as_on_the_host():
    """libuv: an eventfd wakes its loop (it was ENOSYS: node aborted at start), a child's
    standard streams are socket pairs it shuts down (EOPNOTSUPP made execSync fail)."""
    same_as_host(NODE, "-e", NODE_SCRIPT, prints='2,4,6 {"a":1}\nchild\npromise 7\ntimer\n')
