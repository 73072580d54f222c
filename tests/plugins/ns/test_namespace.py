"""Plan 9 namespaces seen from inside: real guests exploring, binding and using files."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
from support import ROOT, config_error, kernkit_cli, one_line_error, run_kernel

FSTEST_GROUPS = ["errors", "io", "dirs", "fds", "pipe", "fork", "ns", "srv", "proc", "exec"]


@pytest.mark.parametrize("group", FSTEST_GROUPS)
def test_file_syscalls_from_a_guest(group):
    run = run_kernel("fstest", group)
    failed = [line for line in run.out.splitlines() if line.startswith("FAIL")]
    assert run.status == 0 and not failed, "\n".join(failed) + run.err
    assert sum(line.startswith("ok ") for line in run.out.splitlines()) >= 3


def test_close_on_exec_is_honoured_by_execve():
    run = run_kernel("fstest", "fds")
    # 10 (F_SETFD), 11 (dup3 O_CLOEXEC) and 21 (F_DUPFD_CLOEXEC) close at exec; 12 (dup2) stays
    assert "fd 10 closed\nfd 11 closed\nfd 12 open\nfd 21 closed\n" in run.out


def test_close_range_closes_or_marks_a_range_of_descriptors_as_linux_does():
    run = run_kernel("fstest", "fds")
    for name in ("close_range CLOEXEC", "close_range marked 31", "close_range to ~0", "close_range closed 32"):
        assert f"ok {name}\n" in run.out, run.out
    assert "ok close_range first > last: EINVAL\n" in run.out and "FAIL" not in run.out, run.out


def test_a_write_without_reader_ends_the_writer_with_sigpipe():
    run = run_kernel("fstest", "pipe")
    # the parent sees its child killed by SIGPIPE (wait status); the kernel says nothing of a
    # child's death by a signal, as Linux does not (its parent reports it)
    assert "ok a write with no reader: SIGPIPE" in run.out and "FAIL" not in run.out
    assert "killed by" not in run.err


def test_ls_shows_the_booted_namespace():
    run = run_kernel("ls", "/", "/dev", "/proc/1")
    assert run.status == 0, run.err
    top, dev, proc = run.out.split("\n\n")
    assert top == "/:\nbin\ndev\nnet\nproc\nsrv\ntmp"
    assert dev.splitlines()[1:] == [  # #linuxdev, #cons, #random and #version, in one union; shm: #tmpfs.shm
        "cons", "contract", "fd", "kconfig", "null", "pid", "plugins", "ppid", "random", "shm", "stderr", "stdin",
        "stdout", "sysname", "urandom", "version", "version_name", "zero",
    ]
    # Linux's files from #linuxproc, the other per-process files from #proc; a Linux-only kernel
    # has no Akaros personality, so no mcp or vmexits file
    assert proc == (
        "/proc/1:\nargs\ncmdline\ncomm\nctl\ncwd\nenviron\nexe\nfd\nfdinfo\nmaps\nmounts\nns\nroot\n"
        "smaps_rollup\nstat\nstatm\nstatus\nstrace\ntask\n"
    )
    every = run_kernel("ls", "/proc/1", kernel__personalities=["linux", "akaros"])
    assert {"mcp", "vmexits"} <= set(every.out.split()), every.out


def test_ls_long_and_recursive():
    run = run_kernel("run", "mkdir -p /tmp/a/b", "echo twelve bytes > /tmp/a/b/f", "ls -lR /tmp")
    assert run.status == 0, run.err
    assert run.out == (
        "/tmp:\ndrwxr-xr-x       60 a\n\n/tmp/a:\ndrwxr-xr-x       60 b\n\n"
        "/tmp/a/b:\n-rw-r--r--       13 f\n"
    )


def test_cat_dev_version_and_proc_files():
    run = run_kernel("cat", "/dev/version", "/proc/1/ns", "#proc/1/status", "/proc/self/args", "/dev/pid")
    assert run.status == 0, run.err
    assert run.out.startswith(
        "kernkit 0.1.0\n"
        "bind '#root' /\n"
        "bind /dev /dev\n"
        "bind -b '#linuxdev' /dev\n"
        "bind -a '#cons' /dev\n"
        "bind -a '#random' /dev\n"
        "bind -a '#version' /dev\n"
        "bind -c '#tmpfs.shm' /dev/shm\n"
        "bind '#linuxproc' /proc\n"
        "bind -a '#proc' /proc\n"
        "bind -c '#srv' /srv\n"
        "bind -c '#tmpfs' /tmp\n"
        "bind '#ip' /net\n"
        "cd /\n"
        "pid 1\nname cat\nstate RUNNING_S\nppid 0\nthreads 1\ninstructions "
    )
    assert run.out.endswith("\ncat /dev/version /proc/1/ns #proc/1/status /proc/self/args /dev/pid\n1\n")


def test_proc_fd_lists_open_files_with_offsets():
    run = run_kernel("cat", "#proc/self/fd")  # Plan 9's; /proc/self/fd is Linux's directory
    assert run.out == (
        "/\n"
        "  0 r  #cons              0 #cons/stdin\n"
        "  1 w  #cons              0 #cons/stdout\n"
        "  2 w  #cons              0 #cons/stderr\n"
        "  3 r  #proc              0 #proc/self/fd\n"
    )


def test_pipes_connect_two_processes():
    run = run_kernel("run", "echo through a pipe | cat", "cat /dev/version | cat | cat")
    assert run.status == 0, run.err
    assert run.out == "through a pipe\nkernkit 0.1.0\n"


def test_a_blocked_pipe_reader_lets_other_processes_run():
    # the reader (cat) waits for input while the writer (spin, then echo) computes: the kernel
    # runs the writer meanwhile, so waiting is per thread, not for the whole kernel
    run = run_kernel("run", "spin 300000 | cat", trace=True, sched__rr__timeslice_us=300)
    assert run.status == 0, run.err
    assert run.out.startswith("spin 300000 result ")
    events = [json.loads(line) for line in run.trace.splitlines()]
    pids = {e["argv"][0]: e["pid"] for e in events if e["ev"] == "exec"}
    waits = [i for i, e in enumerate(events) if e["ev"] == "state" and e["pid"] == pids["cat"] and e["to"] == "WAITING"]
    assert waits, "the reader never waited"
    woken = next(i for i, e in enumerate(events) if i > waits[0] and e["ev"] == "state" and e["pid"] == pids["cat"])
    spins = [e for e in events[waits[0] : woken] if e["ev"] == "run" and e["pid"] == pids["spin"]]
    assert sum(e["instructions"] for e in spins) > 100_000  # spin computed while cat waited


def test_devices_are_reached_by_name_and_spec():
    run = run_kernel(
        "run",
        "echo in the default instance > #tmpfs/f",
        "echo in another > #tmpfs.scratch/f",
        "cat /tmp/f #tmpfs.scratch/f",
        "ls #pipe #srv",
    )
    assert run.status == 0, run.err
    assert run.out == "in the default instance\nin another\n#pipe:\ndata\ndata1\n\n#srv:\n"


def test_dot_dot_never_leaves_the_root_of_a_mapped_host_directory(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "inside").write_text("visible\n")
    (tmp_path / "secret").write_text("host secret\n")
    root = {"/bin": "@programs", "/data": str(shared)}
    run = run_kernel(
        "cat", "/data/inside", "/data/../secret", "/data/../../secret", "#root/data/../../secret",
        "/../../../data/inside", namespace__root=root,
    )
    assert run.out == "visible\nvisible\n"
    assert run.err.splitlines() == [
        "cat: /data/../secret: No such file or directory",
        "cat: /data/../../secret: No such file or directory",
        "cat: #root/data/../../secret: No such file or directory",
    ]


def test_root_maps_host_files_and_directories_read_only(tmp_path):
    (tmp_path / "notes.txt").write_text("from the host\n")
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "a").write_text("a\n")
    root = {"/bin": "@programs", "/etc/notes": str(tmp_path / "notes.txt"), "/srvdata": str(tmp_path / "dir")}
    run = run_kernel(
        "run", "cat /etc/notes /srvdata/a", "ls -l /etc /srvdata", "echo x > /srvdata/a", namespace__root=root
    )
    assert run.out == (
        "from the host\na\n/etc:\n-r--r--r--       14 notes\n\n/srvdata:\n-r--r--r--        2 a\n"
    )
    assert run.err == "echo: /srvdata/a: Read-only file system\n" and run.status == 1
    assert (tmp_path / "dir" / "a").read_text() == "a\n"


def test_a_config_can_build_its_own_namespace(tmp_path):
    config = tmp_path / "k.toml"
    config.write_text(
        "[namespace]\n"
        'binds = ["bind -a #cons /dev", "bind -c #tmpfs /scratch", "bind -b #tmpfs.other /scratch"]\n'
    )
    run = run_kernel("run", "echo hi > /scratch/f", "ls /", "cat #proc/1/ns", config=config)
    assert run.status == 0, run.err
    assert run.out == (
        "bin\ndev\nscratch\n"
        "bind '#root' /\nbind /dev /dev\nbind -a '#cons' /dev\n"
        "bind '#tmpfs.other' /scratch\nbind -ac '#tmpfs' /scratch\ncd /\n"
    )


def test_tmpfs_size_limits_what_tmpfs_holds():
    assert run_kernel("echo", "0123456789abcdefghij", ">", "/tmp/big", namespace__tmpfs_size=16).err == (
        "echo: write: No space left on device\n"
    )


# --- configuration errors: one line each ---------------------------------------------------------


@pytest.mark.parametrize(
    ("binds", "message"),
    [
        ('["bind -x #cons /dev"]', "item 0: 'bind -x #cons /dev': unknown flag -x (expected -a, -b or -c)"),
        ('["bind #cons"]', "item 0: 'bind #cons': expected bind [-abc] NEW OLD"),
        ('["bind #cons dev"]', "item 0: 'bind #cons dev': dev: expected an absolute path such as /tmp"),
        ('["copy #cons /dev"]', "item 0: 'copy #cons /dev': expected 'bind [-abc] NEW OLD' or 'mount [-abc] FILE OLD [SPEC]'"),
        ('["bind -ab #cons /dev"]', "item 0: 'bind -ab #cons /dev': -a and -b together (a mount goes either after or before)"),
        ('["bind cons /dev"]', "item 0: 'bind cons /dev': cons: expected an absolute path or a #device"),
        ('["bind #cons /a/../b"]', "item 0: 'bind #cons /a/../b': /a/../b: expected a clean path (no '.', '..' or '//')"),
        ('"bind #cons /dev"', "expected a list, got a string ('bind #cons /dev')"),
    ],
)
def test_bad_binds_are_one_line_errors(tmp_path, binds, message):
    config = tmp_path / "k.toml"
    config.write_text(f"[namespace]\nbinds = {binds}\n")
    assert config_error(config) == f"{config}: namespace.binds: {message}"


@pytest.mark.parametrize(
    ("binds", "message"),
    [
        ('["bind #nodev /dev"]', "item 0: 'bind #nodev /dev': no device #nodev (known: #cons, #ether, #ip, #linuxdev, #linuxproc, #mnt, #netlink, #pipe, #proc, #random, #root, #srv, #tmpfs, #unix, #version)"),
        ('["bind /nothing /dev"]', "item 0: 'bind /nothing /dev': /nothing: no such file or directory"),
        ('["bind -a #cons /dev", "bind #tmpfs.a /dev/null/x"]', "item 1: 'bind #tmpfs.a /dev/null/x': /dev/null/x: not a directory"),
        ('["bind -c #tmpfs /tmp", "bind #tmpfs.a /tmp/x"]', "item 1: 'bind #tmpfs.a /tmp/x': /tmp/x: no such directory, and not one #root can hold"),
        ('["bind -a #cons /dev", "bind #tmpfs /dev/null"]', "item 1: 'bind #tmpfs /dev/null': bind: a directory and a file"),
        ('["mount #srv /n"]', "item 0: 'mount #srv /n': EISDIR"),
        ('["bind -a #cons /dev", "mount /dev/cons /n"]', "item 1: 'mount /dev/cons /n': 9P over a namespace channel is not supported; use [[mount9p]]"),
    ],
)
def test_binds_that_cannot_be_done_are_one_line_errors_at_boot(tmp_path, binds, message):
    config = tmp_path / "k.toml"
    config.write_text(f"[namespace]\nbinds = {binds}\n")
    assert one_line_error(kernkit_cli("boot", str(config))) == f"{config}: namespace.binds: {message}"


@pytest.mark.parametrize(
    ("root", "message"),
    [
        ('{ "bin" = "@programs" }', "key 'bin': bin: expected an absolute path such as /tmp"),
        ('{ "/bin" = "" }', "key '/bin': expected a host path or '@programs', got an empty string"),
        ('{ "/bin" = 3 }', "key '/bin': expected a string, got an integer (3)"),
    ],
)
def test_bad_root_entries_are_one_line_errors(tmp_path, root, message):
    config = tmp_path / "k.toml"
    config.write_text(f"[namespace]\nroot = {root}\n")
    assert config_error(config) == f"{config}: namespace.root: {message}"


def test_a_missing_host_path_in_root_is_a_one_line_error_at_boot(tmp_path):
    config = tmp_path / "k.toml"
    config.write_text('[namespace]\nroot = { "/data" = "no/such/dir" }\n')
    assert one_line_error(kernkit_cli("boot", str(config))) == (
        f"{config}: namespace.root: '/data': {tmp_path / 'no/such/dir'}: no such host file or directory"
    )


def test_minimal_config_keeps_booting_hello():
    run = run_kernel(config="configs/minimal.toml")
    assert (run.status, run.out) == (0, "Hello from kernkit!\n")


# --- the documentation shows what the tools print --------------------------------------------------

NAMESPACE_DOC = (ROOT / "docs" / "namespace.md").read_text()


def test_the_namespace_picture_is_what_the_tools_print():
    block = NAMESPACE_DOC.split("## A booted kernel", 1)[1].split("```\n", 2)[1]
    command, shown = block.split("\n", 1)
    assert command.startswith("$ kernkit boot -- ")
    result = kernkit_cli(*shlex.split(command.removeprefix("$ kernkit ")))
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == shown


def test_the_commands_to_try_work():
    block = NAMESPACE_DOC.split("Other things to try", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    for line in block.strip().splitlines():
        words = shlex.split(line.split("  #", 1)[0])
        assert words[:3] == ["kernkit", "boot", "--"]
        if words[3] == "/bin/busybox" and not Path("/bin/busybox").is_file():
            continue
        run = run_kernel(*words[3:])
        assert run.status == 0 and run.out, (line, run.err)


def test_every_cons_and_version_file_answers():
    run = run_kernel(
        "run", "cat /dev/cons", "echo to stderr > /dev/stderr", "echo to cons > /dev/cons",
        "cat /dev/sysname /dev/ppid /dev/version_name /dev/contract", "cat /dev/plugins", "cat /dev/kconfig",
        stdin=b"typed on the host\n",
    )
    assert run.status == 0, run.err
    assert run.err == "to stderr\n"
    out = run.out
    from kernkit.core.hookspecs import CONTRACT_VERSION

    assert out.startswith(f"typed on the host\nto cons\nkernkit\n1\nkernkit\n{CONTRACT_VERSION}\n"), out
    assert "kernkit.plugins.ns 0.1.0 builtin\n" in out
    assert '[namespace]\nroot = { "/bin" = "@programs" }\n' in out  # the resolved config, as TOML


def test_stdin_can_be_empty():
    assert run_kernel("cat", "/dev/stdin", stdin=b"ignored", console__stdin="null").out == ""


def test_a_posted_channel_outlives_the_process_that_posted_it():
    # fstest post writes into a pipe, posts the read end as /srv/box and exits: #srv holds it
    run = run_kernel("run", "fstest post", "ls -l /srv", "cat /srv/box", "rm /srv/box", "ls /srv")
    assert run.status == 0, run.err
    assert run.out == "ok create /srv/box\nok post\n-rw-------        0 box\nposted\n"


def test_akaros_namespace_calls():
    run = run_kernel("akaros_ns", config="configs/akaros.toml")
    assert run.status == 0, run.err
    lines = run.out.splitlines()
    assert lines[:4] == ["fd2path(1) = 0 #cons/stdout", "fd2path(1, short buffer) = -34", "fd2path(9) = -9", "nbind = 0"]
    # cat, created by the Akaros process, shares its namespace and shows the bind
    assert "bind -c '#tmpfs.akaros' /srv" in lines and "bind -ac '#srv' /srv" in lines
    assert lines[-5:] == [
        "nunmount = 0",
        "nunmount again = -2",
        "nbind of nothing = -2",
        "nbind with a bad flag = -22",
        "nmount of a non-9P fd = -95",
    ]


@pytest.mark.parametrize("path", ["/proc/²", "/net/tcp/²", "/net/ether0/²", "#ether.²", "/net/udp/0²"])
def test_a_name_of_non_ascii_digits_is_not_found_not_a_panic(path):
    """Guests name files: a digit int() refuses ('²') in a numbered directory is ENOENT."""
    result = run_kernel("ls", path, ether__nics=["52:54:00:12:34:56"])
    assert result.status == 1, result.err
    assert result.err.startswith(f"ls: {path}: No such")  # the guest's message; no kernel panic
