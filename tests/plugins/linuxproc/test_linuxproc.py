"""Linux's /proc and /dev/fd (the linuxproc plugin), seen by Linux programs: user/procfs.c (musl
and glibc) against the same program run natively, and Debian's busybox alone in /bin, whose
applets all run through /proc/self/exe."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from support import ROOT, USER_BIN, kernkit_cli, run_kernel
from support.oracle import BUSYBOX, busybox_chroot, native, need_native

GROUPS = ["self", "exe", "fds", "counters", "other", "system"]
ALONE = {"/bin/busybox": str(BUSYBOX)}
#: Plan 9's /proc only: the default binds without #linuxproc and #linuxdev.
PLAN9_BINDS = [
    "bind -a #cons /dev",
    "bind -a #random /dev",
    "bind -a #version /dev",
    "bind #proc /proc",
    "bind -c #srv /srv",
    "bind -c #tmpfs /tmp",
    "bind #ip /net",
]


def busybox(script: str, **settings) -> str:
    """What ``busybox sh -c SCRIPT`` prints with busybox alone in /bin."""
    if not BUSYBOX.is_file():
        pytest.skip("busybox is needed (apt-get install busybox-static)")
    run = run_kernel(str(BUSYBOX), "sh", "-c", script, namespace__root=ALONE, **settings)
    assert run.status == 0, run.out + run.err
    return run.out


@pytest.mark.parametrize("program", ["procfs", "procfs-glibc"])
@pytest.mark.parametrize("group", GROUPS)
def test_proc_as_a_program_sees_it(group, program):
    run = run_kernel(program, group, "/tmp", machine__cores=2)
    failed = [line for line in run.out.splitlines() if line.startswith("FAIL")]
    assert run.status == 0 and not failed, "\n".join(failed) + run.err
    assert sum(line.startswith("ok ") for line in run.out.splitlines()) >= 5


@pytest.mark.parametrize("group", GROUPS)
def test_linux_prints_the_same(group):
    need_native()
    host = native(USER_BIN / "procfs-glibc", group)
    assert host.returncode == 0, host.stdout + host.stderr
    assert run_kernel("procfs-glibc", group, "/tmp").out == host.stdout


def test_numbers_are_the_emulated_machines():
    out = run_kernel(
        "run",
        "cat /proc/meminfo",
        "cat /proc/stat",
        "cat /proc/cpuinfo",
        machine__cores=3,
        machine__memory="128M",
    ).out
    total = int(re.search(r"MemTotal:\s+(\d+) kB", out).group(1))
    assert 128 * 1024 - 1024 <= total <= 128 * 1024  # all of it, less the first MiB the machine reserves
    assert re.findall(r"^cpu(\d) ", out, re.M) == ["0", "1", "2"]
    assert out.count("processor\t: ") == 3
    assert "btime 1700000000\n" in out  # [linux] epoch


def test_procps_vmstat_reads_the_machines_free_pages():
    """Debian's vmstat (procps, dynamically linked, from the host) needs /proc/vmstat."""
    vmstat = Path("/usr/bin/vmstat")
    if not vmstat.is_file():
        pytest.skip("/usr/bin/vmstat is needed (apt-get install procps)")
    run = run_kernel(
        str(vmstat), init__name=str(vmstat), namespace__host=["@userland"], machine__memory="128M"
    )
    assert run.status == 0, run.err
    header, values = run.out.splitlines()[1:]
    fields = dict(zip(header.split(), map(int, values.split()), strict=True))
    assert 100 * 1024 < fields["free"] < 127 * 1024  # KiB: the machine's free frames
    assert (fields["swpd"], fields["si"], fields["so"], fields["bi"], fields["bo"]) == (0, 0, 0, 0, 0)
    assert fields["us"] + fields["sy"] + fields["id"] + fields["wa"] + fields["st"] in (99, 100, 101)


def test_busybox_alone_runs_its_applets_through_proc_self_exe():
    out = busybox("ls -l /proc/self/exe; sleep 0 && echo slept; id; readlink /dev/stdin")
    assert out.splitlines()[0].endswith(" /proc/self/exe -> /bin/busybox")
    assert out.splitlines()[1:] == ["slept", "uid=0 gid=0", "/proc/self/fd/0"]


def test_busybox_ps_pidof_killall_see_the_kernels_processes():
    out = busybox("sleep 9 & sleep 8 & ps -o pid,ppid,stat,args; pidof sleep; killall sleep; wait; ps -o pid")
    lines = out.splitlines()
    assert lines[0].split() == ["PID", "PPID", "STAT", "COMMAND"]
    table = [line.split(None, 3) for line in lines[1:5]]
    assert table[0][:3] == ["1", "0", "S"]  # the shell, waiting
    # re-executed through /proc/self/exe: the name is "exe" until busybox renames itself (prctl)
    assert [row[3].removeprefix("{exe} ") for row in table[1:3]] == ["sleep 9", "sleep 8"]
    assert [row[1] for row in table[1:]] == ["1", "1", "1"]
    assert lines[5].split() == [table[2][0], table[1][0]]  # pidof: newest first
    assert lines[6:8] == ["PID", "    1"]  # killall killed both, wait reaped them


def test_busybox_free_df_uptime_sysctl_report_the_machine():
    out = busybox("free; df; uptime; sysctl -a; sysctl kernel.hostname", machine__memory="64M")
    free = re.search(r"Mem:\s+(\d+)\s+(\d+)\s+(\d+)", out)
    total, used, unused = (int(n) for n in free.groups())
    assert total == 64512 and used + unused == total and 0 < used < 8192
    assert re.search(r"^tmpfs\s+65536\s+0\s+65536\s+0% /tmp$", out, re.M)  # [namespace] tmpfs_size
    assert "up 0 min,  0 users,  load average: 0.00, 0.00, 0.00" in out
    for line in (
        "kernel.ostype = Linux",
        "kernel.osrelease = 6.1.0-kernkit",
        "kernel.pid_max = 32768",
        "kernel.ngroups_max = 65536",
        "vm.overcommit_memory = 0",
        "kernel.hostname = kernkit",
    ):
        assert line in out.splitlines(), out


def test_busybox_top_and_uptime_follow_virtual_time():
    out = busybox("sleep 65; uptime; top -bn1 | head -3")
    assert " up 1 min," in out
    assert re.search(r"^Load average: \d\.\d\d \d\.\d\d \d\.\d\d 1/\d+ \d+$", out, re.M), out


FILES_SCRIPT = (
    'cd /tmp && touch -d "2020-01-02 03:04:05" a && ln -s a b && mkfifo f && chown 12:34 a && ln a c && '
    'mkdir d && touch -h -d "2021-01-01 00:00:00" b && chmod 4711 c && '
    'stat -c "%n|%F|%a|%u|%g|%s|%h|%N" a b c d f && stat -c "%Y" a b && id && ls -a /tmp && '
    "readlink b && ls -l b | cut -c1-10"
)


@pytest.mark.parametrize("qemu", [False, True], ids=["native", "qemu-user"])
def test_busybox_file_applets_print_what_linux_prints(qemu):
    reference = busybox_chroot(FILES_SCRIPT, qemu=qemu)
    assert reference.returncode == 0, reference.stderr
    assert busybox(FILES_SCRIPT) == reference.stdout


def test_a_config_can_leave_linux_proc_out():
    run = run_kernel("cat", "/proc/1/status", namespace__binds=PLAN9_BINDS)
    assert run.out.startswith("pid 1\nname cat\n")  # Plan 9's
    run = run_kernel("cat", "/proc/1/status", "#linuxproc/1/status", namespace__binds=PLAN9_BINDS)
    assert "\nName:\tcat\n" in run.out  # still reachable by its device name


def test_plan9_files_stay_in_each_process_directory():
    run = run_kernel("run", "cat /proc/self/ns", "cat #proc/self/status", "ls /proc/1")
    assert run.status == 0, run.err
    assert "bind '#linuxproc' /proc\nbind -a '#proc' /proc\n" in run.out
    assert "\nname cat\n" in run.out  # #proc's status
    assert {"ctl", "ns", "args", "strace", "stat", "status", "fd"} <= set(run.out.split())


def test_the_linux_page_commands_work():
    page = (ROOT / "docs" / "linux.md").read_text()
    block = page.split("```sh\n", 1)[1].split("```", 1)[0]
    for line in block.strip().splitlines():
        words = shlex.split(line.split("  #", 1)[0])
        if "/bin/busybox" in words and not BUSYBOX.is_file():
            continue
        result = kernkit_cli(*words[1:])
        assert result.returncode == 0 and result.stdout, (line, result.stderr.decode())
        assert b"FAIL" not in result.stdout, result.stdout.decode()
