"""The Akaros personality: Akaros's system calls, procinfo/procdata pages and many-core processes.

Programs built with user/parlib carry an ELF note asking for this personality; add "akaros" to
``[kernel] personalities`` to offer it. Which cores an MCP gets is the scheduler's decision
(``[sched] policy = "mcp"`` for Akaros's own).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errnos import EFAULT, ENOSYS
from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import (
    MonitorCommand,
    PluginDeclaration,
    ProcFile,
    Syscall,
    SyscallTable,
    TraceStyle,
)
from kernkit.plugins.akaros_abi import fds, groups, layout, nscalls, sysc, taps
from kernkit.plugins.akaros_abi import syscalls as s
from kernkit.plugins.akaros_abi.state import attach
from kernkit.plugins.akaros_abi.status import cmd_vcores, mcp_status_lines, read_mcp
from kernkit.plugins.akaros_abi.vcores import VCORES, post_signal
from kernkit.plugins.linux_abi import api as linux

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process
    from kernkit.core.records import LoadedImage

#: (number, name, handler, argument count); numbers are Akaros's.
SYSCALLS = (
    (1, "null", s.sys_null, 0),
    (2, "block", s.sys_block, 1),
    (5, "cputs", s.sys_cputs, 2),
    (7, "getpcoreid", s.sys_getpcoreid, 0),
    (8, "getvcoreid", s.sys_getvcoreid, 0),
    (9, "getpid", s.sys_getpid, 0),
    (10, "proc_create", s.sys_proc_create, 5),
    (11, "proc_run", s.sys_proc_run, 1),
    (12, "proc_destroy", s.sys_proc_destroy, 2),
    (13, "proc_yield", s.sys_proc_yield, 1),
    (14, "change_vcore", s.sys_change_vcore, 2),
    (17, "waitpid", s.sys_waitpid, 3),
    (18, "mmap", linux.sys_mmap, 6),
    (19, "munmap", linux.sys_munmap, 2),
    (20, "mprotect", linux.sys_mprotect, 3),
    (24, "provision", s.sys_provision, 3),
    (25, "notify", s.sys_notify, 4),
    (26, "self_notify", s.sys_self_notify, 4),
    (27, "halt_core", s.sys_halt_core, 1),
    (29, "change_to_m", s.sys_change_to_m, 0),
    (30, "poke_ksched", s.sys_poke_ksched, 2),
    (31, "abort_sysc", sysc.sys_abort_sysc, 1),
    (35, "vc_entry", s.sys_vc_entry, 0),
    (36, "nanosleep", s.sys_nanosleep, 2),
    (37, "pop_ctx", s.sys_pop_ctx, 1),
    (39, "send_event", s.sys_send_event, 3),
    (100, "read", taps.sys_read, 3),
    (101, "write", taps.sys_write, 3),
    (102, "openat", taps.sys_openat, 4),
    (103, "close", linux.sys_close, 1),
    (104, "fstat", linux.sys_fstat, 2),
    (105, "stat", s.sys_stat, 3),
    (107, "fcntl", linux.sys_fcntl, 3),
    (125, "dup_fds_to", fds.sys_dup_fds_to, 3),
    (126, "tap_fds", taps.sys_tap_fds, 2),
    (127, "proc_sigstate", fds.sys_proc_sigstate, 3),
    (128, "setpgid", linux.sys_setpgid, 2),
    (129, "getpgid", linux.sys_getpgid, 1),
    (130, "setsid", groups.sys_setsid, 1),
    (131, "getsid", linux.sys_getsid, 1),
    (132, "kill", linux.sys_kill, 2),
    (145, "nbind", nscalls.sys_nbind, 5),
    (146, "nmount", nscalls.sys_nmount, 4),
    (147, "nunmount", nscalls.sys_nunmount, 4),
    (149, "fd2path", nscalls.sys_fd2path, 3),
    (layout.SYS_SUBMIT, "submit", sysc.sys_submit, 2),
)


def setup_process(
    kernel: Kernel, process: Process, image: LoadedImage, argv: list[str], envp: list[str]
) -> int:
    """The SysV initial stack and standard files, plus procinfo and procdata; a Linux program's
    execve of this one passes on the signals exec keeps (procinfo's sig_blocked, sig_ignored)."""
    sp = linux.setup_process(kernel, process, image, argv, envp)
    info = attach(kernel, process).info
    kept = linux.kept_at_exec(process)
    if kept is not None:
        info.set_u64(layout.PI_SIG_BLOCKED, kept[0])
        info.set_u64(layout.PI_SIG_IGNORED, kept[1])
    return sp


AKAROS = SyscallTable(
    name="akaros",
    syscalls=tuple(Syscall(number, name, handler, nargs) for number, name, handler, nargs in SYSCALLS),
    setup_process=setup_process,
    description="Akaros syscalls (register convention), procinfo/procdata, many-core processes",
    errno_fault=EFAULT,
    errno_nosys=ENOSYS,
    vcores=VCORES,
    post_signal=post_signal,
)


@hookimpl
def kernkit_register_trace_styles() -> list[TraceStyle]:
    return [
        TraceStyle(
            "provision", "core provisioned", "diamond", "#7d3c98", "provision to {who}", place="pcore"
        ),
        TraceStyle("vcore_preempt", "vcore preempted", "bar", "#d35400", "vc{vcore} preempted ({who})"),
        TraceStyle(
            "vcore_start",
            "vcore started",
            "bar",
            "#27ae60",
            "vc{vcore} start ({who})",
            place="pcore",
            tag="vc{vcore}",
        ),
        TraceStyle("vcore_yield", "vcore yielded", "bar", "#7f8c8d", "vc{vcore} yield ({who})"),
        TraceStyle("event", "event posted", "circle", "#16a085", "event {type} to vc{vcore} of {who}"),
        TraceStyle(
            "event_dropped",
            "event dropped",
            "circle",
            "#95a5a6",
            "event dropped {type} to vc{vcore} of {who}",
        ),
        TraceStyle(
            "notify", "vcore notified", "circle", "#2e86c1", "notify vc{vcore} of {who}", place="pcore"
        ),
        TraceStyle(
            "notify_ignored",
            "notification ignored",
            "circle",
            "#aab7b8",
            "notify vc{vcore} of {who} ignored",
            place="pcore",
        ),
        TraceStyle("change_to_m", "becomes an MCP", "diamond", "#000000", "{who} becomes an MCP"),
    ]


@hookimpl
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(
        requires=("ns", "linux_abi"), description="the Akaros personality: MCPs, vcores, events"
    )


@hookimpl
def kernkit_register_syscall_tables() -> list[SyscallTable]:
    return [AKAROS]


@hookimpl
def kernkit_register_proc_files() -> list[ProcFile]:
    return [
        ProcFile(
            "mcp",
            read_mcp,
            description="an Akaros process: MCP state, vcores wanted, granted, where (also in status)",
            status_lines=mcp_status_lines,
        )
    ]


@hookimpl
def kernkit_register_monitor_commands() -> list[MonitorCommand]:
    return [
        MonitorCommand(
            "vcores",
            cmd_vcores,
            "MCPs: vcores wanted and granted, their pcores, provisioning",
            "vcores [PID]",
        )
    ]
