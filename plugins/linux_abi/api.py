"""The linux_abi plugin's public API, for plugins that declare ``requires=("linux_abi",)``.

The POSIX calls another personality may reuse as they are (the Akaros personality's file and
memory calls), the SysV process start-up, the helpers a plugin extending the Linux syscall
table needs (the net plugin's sockets): descriptor flags, copying into a guest's iovecs, SIGPIPE
for a write that found no reader; the signals a process another personality created starts with
blocked and ignored (``start_with``: Akaros's ``posix_spawn`` of a Linux program) and those a
Linux program's ``execve`` of another personality's program keeps (``kept_at_exec``); process
groups and sessions (``sys_setpgid``, ``sys_getpgid``, ``sys_getsid``, ``new_session``,
``exec_done``: setpgid refuses a child that ran a new program) and ``sys_kill`` (a group with a
negative pid), which any personality's processes share; and what
Linux's /proc shows (the linuxproc plugin): a process's ids and settings (``procview``), the
machine's memory and load (``sysinfo``), file systems, inode and device numbers.
"""

from kernkit.plugins.linux_abi import procview, sysinfo
from kernkit.plugins.linux_abi.capabilities import ALL_CAPS, capabilities
from kernkit.plugins.linux_abi.chanio import O_NONBLOCK
from kernkit.plugins.linux_abi.children import sys_wait4
from kernkit.plugins.linux_abi.creds import NGROUPS_MAX, Creds, creds_of
from kernkit.plugins.linux_abi.fileio import scatter, sys_close, sys_fcntl, sys_fstat, sys_read, write_fd
from kernkit.plugins.linux_abi.filesystems import FILESYSTEMS, filesystem
from kernkit.plugins.linux_abi.fs import sys_openat, sys_stat
from kernkit.plugins.linux_abi.jobs import new_session, sys_getpgid, sys_getsid, sys_setpgid
from kernkit.plugins.linux_abi.jobs import on_exec as exec_done
from kernkit.plugins.linux_abi.memory import sys_mmap, sys_mprotect, sys_munmap
from kernkit.plugins.linux_abi.schedpolicy import SCHED_RESET_ON_FORK
from kernkit.plugins.linux_abi.signals import kept_at_exec, sigpipe, start_with, sys_kill
from kernkit.plugins.linux_abi.spawn import c_strings, find_program
from kernkit.plugins.linux_abi.startup import setup_process
from kernkit.plugins.linux_abi.statbuf import device_number, inode_number
from kernkit.plugins.linux_abi.timeinfo import sys_nanosleep
from kernkit.plugins.linux_abi.uts import names as uts_names

__all__ = [
    "ALL_CAPS",
    "capabilities",
    "FILESYSTEMS",
    "NGROUPS_MAX",
    "O_NONBLOCK",
    "SCHED_RESET_ON_FORK",
    "Creds",
    "creds_of",
    "device_number",
    "filesystem",
    "inode_number",
    "procview",
    "sysinfo",
    "uts_names",
    "c_strings",
    "find_program",
    "scatter",
    "setup_process",
    "exec_done",
    "kept_at_exec",
    "new_session",
    "sigpipe",
    "start_with",
    "sys_close",
    "sys_fcntl",
    "sys_fstat",
    "sys_getpgid",
    "sys_getsid",
    "sys_kill",
    "sys_mmap",
    "sys_mprotect",
    "sys_munmap",
    "sys_nanosleep",
    "sys_openat",
    "sys_stat",
    "sys_read",
    "sys_setpgid",
    "sys_wait4",
    "write_fd",
]
