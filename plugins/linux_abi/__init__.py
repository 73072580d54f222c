"""The Linux x86-64 personality: enough of the syscall ABI for static musl and glibc programs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

from kernkit.core.errnos import EFAULT, ENOSYS
from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import (
    at_least_size,
    at_most,
    at_most_size,
    non_negative,
    option,
    page_multiple,
    parse_size,
)
from kernkit.core.records import ConfigSection, PluginDeclaration, Syscall, SyscallTable
from kernkit.plugins.linux_abi import (
    accounting,
    capabilities,
    children,
    creds,
    eventfd,
    fileio,
    fs,
    fsmeta,
    futex,
    itimers,
    jobs,
    locks,
    memory,
    pidfd,
    poll,
    prctl,
    proc,
    rlimits,
    schedpolicy,
    signals,
    sigwait,
    spawn,
    splice,
    sysinfo,
    timeinfo,
    uts,
    xattr,
)
from kernkit.plugins.linux_abi.startup import setup_process

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process


@attrs.frozen
class LinuxOptions:
    hostname: str = option("kernkit", "uname nodename at boot (sethostname changes it)")
    release: str = option("6.1.0-kernkit", "uname release")
    version: str = option("#1 SMP kernkit", "uname version")
    epoch: int = option(
        1_700_000_000,
        "CLOCK_REALTIME at boot, in seconds since 1970 (virtual time runs from there)",
        validator=[non_negative, at_most(1 << 40)],
    )
    exec_path: list[str] = option(
        [],
        "host directories execve also looks in, by file name, for a program its path does not "
        "name in the caller's namespace (empty: none)",
    )
    stack_size: int = option(
        8 << 20,
        "size of the main thread's stack region (8M by default; 64K to 1G, whole pages)",
        converter=parse_size,
        validator=[at_least_size(64 << 10), at_most_size(1 << 30), page_multiple],
    )


#: (number, name, handler, argument count)
SYSCALLS = (
    (0, "read", fileio.sys_read, 3),
    (1, "write", fileio.sys_write, 3),
    (2, "open", fs.sys_open, 3),
    (3, "close", fileio.sys_close, 1),
    (4, "stat", fs.sys_stat, 2),
    (5, "fstat", fileio.sys_fstat, 2),
    (6, "lstat", fs.sys_lstat, 2),
    (8, "lseek", fileio.sys_lseek, 3),
    (9, "mmap", memory.sys_mmap, 6),
    (10, "mprotect", memory.sys_mprotect, 3),
    (11, "munmap", memory.sys_munmap, 2),
    (12, "brk", memory.sys_brk, 1),
    (16, "ioctl", fileio.sys_ioctl, 3),
    (17, "pread64", fileio.sys_pread64, 4),
    (18, "pwrite64", fileio.sys_pwrite64, 4),
    (19, "readv", fileio.sys_readv, 3),
    (20, "writev", fileio.sys_writev, 3),
    (21, "access", fs.sys_access, 2),
    (22, "pipe", fileio.sys_pipe, 1),
    (24, "sched_yield", proc.sys_sched_yield, 0),
    (25, "mremap", memory.sys_mremap, 5),
    (26, "msync", memory.sys_msync, 3),
    (27, "mincore", memory.sys_mincore, 3),
    (28, "madvise", memory.sys_madvise, 3),
    (32, "dup", fileio.sys_dup, 1),
    (33, "dup2", fileio.sys_dup2, 2),
    (35, "nanosleep", timeinfo.sys_nanosleep, 2),
    (39, "getpid", proc.sys_getpid, 0),
    (40, "sendfile", fileio.sys_sendfile, 4),
    (56, "clone", spawn.sys_clone, 5),
    (57, "fork", spawn.sys_fork, 0),
    (58, "vfork", spawn.sys_vfork, 0),
    (59, "execve", spawn.sys_execve, 3),
    (60, "exit", proc.sys_exit, 1),
    (63, "uname", timeinfo.sys_uname, 1),
    (72, "fcntl", fileio.sys_fcntl, 3),
    (73, "flock", locks.sys_flock, 2),
    (74, "fsync", fileio.sys_fsync, 1),
    (221, "fadvise64", fileio.sys_fadvise64, 4),
    (75, "fdatasync", fileio.sys_fsync, 1),
    (76, "truncate", fs.sys_truncate, 2),
    (77, "ftruncate", fileio.sys_ftruncate, 2),
    (79, "getcwd", fs.sys_getcwd, 2),
    (80, "chdir", fs.sys_chdir, 1),
    (81, "fchdir", fs.sys_fchdir, 1),
    (82, "rename", fs.sys_rename, 2),
    (83, "mkdir", fs.sys_mkdir, 2),
    (84, "rmdir", fs.sys_rmdir, 1),
    (85, "creat", fs.sys_creat, 2),
    (87, "unlink", fs.sys_unlink, 1),
    (89, "readlink", fs.sys_readlink, 3),
    (90, "chmod", fs.sys_chmod, 2),
    (91, "fchmod", fs.sys_fchmod, 2),
    (95, "umask", fs.sys_umask, 1),
    (96, "gettimeofday", timeinfo.sys_gettimeofday, 2),
    (110, "getppid", proc.sys_getppid, 0),
    (158, "arch_prctl", proc.sys_arch_prctl, 2),
    (165, "mount", fs.sys_mount, 5),
    (166, "umount2", fs.sys_umount2, 2),
    (186, "gettid", proc.sys_gettid, 0),
    (201, "time", timeinfo.sys_time, 1),
    (202, "futex", futex.sys_futex, 6),
    (217, "getdents64", fileio.sys_getdents64, 3),
    (218, "set_tid_address", proc.sys_set_tid_address, 1),
    (227, "clock_settime", timeinfo.sys_clock_settime, 2),
    (228, "clock_gettime", timeinfo.sys_clock_gettime, 2),
    (229, "clock_getres", timeinfo.sys_clock_getres, 2),
    (230, "clock_nanosleep", timeinfo.sys_clock_nanosleep, 4),
    (231, "exit_group", proc.sys_exit_group, 1),
    (257, "openat", fs.sys_openat, 4),
    (258, "mkdirat", fs.sys_mkdirat, 3),
    (262, "newfstatat", fs.sys_newfstatat, 4),
    (263, "unlinkat", fs.sys_unlinkat, 3),
    (264, "renameat", fs.sys_renameat, 4),
    (267, "readlinkat", fs.sys_readlinkat, 4),
    (268, "fchmodat", fs.sys_fchmodat, 3),
    (269, "faccessat", fs.sys_faccessat, 3),
    (272, "unshare", fs.sys_unshare, 1),
    (273, "set_robust_list", proc.sys_set_robust_list, 2),
    (292, "dup3", fileio.sys_dup3, 3),
    (293, "pipe2", fileio.sys_pipe2, 2),
    (316, "renameat2", fs.sys_renameat2, 5),
    (170, "sethostname", uts.sys_sethostname, 2),
    (171, "setdomainname", uts.sys_setdomainname, 2),
    (318, "getrandom", timeinfo.sys_getrandom, 3),
    (319, "memfd_create", memory.sys_memfd_create, 2),
    (332, "statx", fs.sys_statx, 5),
    (436, "close_range", fileio.sys_close_range, 3),
    (439, "faccessat2", fs.sys_faccessat2, 4),
)

LINUX = SyscallTable(
    name="linux",
    syscalls=tuple(
        Syscall(number, name, handler, nargs)
        for number, name, handler, nargs in sorted(
            SYSCALLS
            + poll.SYSCALLS
            + creds.SYSCALLS
            + fsmeta.SYSCALLS
            + sysinfo.SYSCALLS
            + signals.SYSCALLS
            + sigwait.SYSCALLS
            + itimers.SYSCALLS
            + children.SYSCALLS
            + jobs.SYSCALLS
            + rlimits.SYSCALLS
            + accounting.SYSCALLS
            + prctl.SYSCALLS
            + schedpolicy.SYSCALLS
            + eventfd.SYSCALLS
            + capabilities.SYSCALLS
            + xattr.SYSCALLS
            + splice.SYSCALLS
            + pidfd.SYSCALLS
        )
    ),
    setup_process=setup_process,
    description="Linux x86-64 syscall ABI (subset) with the SysV initial stack",
    errno_fault=EFAULT,
    errno_nosys=ENOSYS,
    return_to_user=signals.return_to_user,
    fault=signals.on_fault,
    post_signal=signals.post_signal,
)


@hookimpl
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(requires=("ns", "x86_64"), description="the Linux x86-64 personality")


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("linux", LinuxOptions, "the Linux personality")]


@hookimpl
def kernkit_register_syscall_tables() -> list[SyscallTable]:
    return [LINUX]


@hookimpl
def kernkit_process_created(kernel: Kernel, process: Process) -> None:
    jobs.job(process)  # its group and session, as its parent's are now (any personality's)


@hookimpl
def kernkit_process_exited(kernel: Kernel, process: Process) -> None:
    locks.process_exited(kernel, process)
    spawn.release_vfork_parent(process)
    if signals.is_linux(process):
        children.on_exit(process)
    pidfd.process_exited(kernel)
