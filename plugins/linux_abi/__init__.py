"""The Linux x86-64 personality: enough of the syscall ABI for static musl and glibc programs."""

from __future__ import annotations

import attrs

from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import at_most, non_negative, option, parse_size, positive
from kernkit.core.records import ConfigSection, Syscall, SyscallTable
from kernkit.plugins.linux_abi import futex, io, memory, proc, signals, spawn, timeinfo
from kernkit.plugins.linux_abi.errno import EFAULT, ENOSYS
from kernkit.plugins.linux_abi.startup import setup_process


@attrs.frozen
class LinuxOptions:
    hostname: str = option("kernkit", "uname nodename")
    release: str = option("6.1.0-kernkit", "uname release")
    version: str = option("#1 SMP kernkit", "uname version")
    epoch: int = option(
        1_700_000_000,
        "CLOCK_REALTIME at boot, in seconds since 1970 (virtual time runs from there)",
        validator=[non_negative, at_most(1 << 40)],
    )
    exec_path: list[str] = option(
        [], "host directories execve looks in, by file name (empty: the packaged programs)"
    )
    stack_size: int = option(
        8 << 20,
        "size of the main thread's stack region (8M by default)",
        converter=parse_size,
        validator=[positive, at_most(1 << 30)],
    )


#: (number, name, handler, argument count)
SYSCALLS = (
    (0, "read", io.sys_read, 3),
    (1, "write", io.sys_write, 3),
    (3, "close", io.sys_close, 1),
    (5, "fstat", io.sys_fstat, 2),
    (9, "mmap", memory.sys_mmap, 6),
    (13, "rt_sigaction", signals.sys_rt_sigaction, 4),
    (14, "rt_sigprocmask", signals.sys_rt_sigprocmask, 4),
    (10, "mprotect", memory.sys_mprotect, 3),
    (11, "munmap", memory.sys_munmap, 2),
    (12, "brk", memory.sys_brk, 1),
    (16, "ioctl", io.sys_ioctl, 3),
    (19, "readv", io.sys_readv, 3),
    (20, "writev", io.sys_writev, 3),
    (24, "sched_yield", proc.sys_sched_yield, 0),
    (35, "nanosleep", timeinfo.sys_nanosleep, 2),
    (39, "getpid", proc.sys_getpid, 0),
    (56, "clone", spawn.sys_clone, 5),
    (57, "fork", spawn.sys_fork, 0),
    (58, "vfork", spawn.sys_fork, 0),
    (59, "execve", spawn.sys_execve, 3),
    (60, "exit", proc.sys_exit, 1),
    (61, "wait4", spawn.sys_wait4, 4),
    (62, "kill", signals.sys_kill, 2),
    (63, "uname", timeinfo.sys_uname, 1),
    (96, "gettimeofday", timeinfo.sys_gettimeofday, 2),
    (102, "getuid", proc.sys_getuid, 0),
    (104, "getgid", proc.sys_getuid, 0),
    (107, "geteuid", proc.sys_getuid, 0),
    (108, "getegid", proc.sys_getuid, 0),
    (110, "getppid", proc.sys_getppid, 0),
    (158, "arch_prctl", proc.sys_arch_prctl, 2),
    (186, "gettid", proc.sys_gettid, 0),
    (200, "tkill", signals.sys_tkill, 2),
    (201, "time", timeinfo.sys_time, 1),
    (202, "futex", futex.sys_futex, 6),
    (218, "set_tid_address", proc.sys_set_tid_address, 1),
    (228, "clock_gettime", timeinfo.sys_clock_gettime, 2),
    (229, "clock_getres", timeinfo.sys_clock_getres, 2),
    (230, "clock_nanosleep", timeinfo.sys_clock_nanosleep, 4),
    (231, "exit_group", proc.sys_exit_group, 1),
    (234, "tgkill", signals.sys_tgkill, 3),
    (273, "set_robust_list", proc.sys_set_robust_list, 2),
    (318, "getrandom", timeinfo.sys_getrandom, 3),
)

LINUX = SyscallTable(
    name="linux",
    syscalls=tuple(Syscall(number, name, handler, nargs) for number, name, handler, nargs in SYSCALLS),
    setup_process=setup_process,
    description="Linux x86-64 syscall ABI (subset) with the SysV initial stack",
    errno_fault=EFAULT,
    errno_nosys=ENOSYS,
)


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("linux", LinuxOptions, "the Linux personality")]


@hookimpl
def kernkit_register_syscall_tables() -> list[SyscallTable]:
    return [LINUX]
