"""The files of a process's (and a thread's) directory in Linux's /proc: stat, statm, status,
cmdline, environ, comm, maps, smaps_rollup, mounts; and what the links exe, cwd, root and
fd/N name.

Numbers come from the kernel's view of the process: its threads' states and instructions (CPU
time in USER_HZ ticks), its address space's regions (sizes) and pages present (resident set),
its Linux ids, its program break, and the argument and environment strings in its own memory.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.core.devices import Chan
from kernkit.core.errors import BadAddress
from kernkit.core.physmem import PAGE_SIZE
from kernkit.core.process import BLOCKED, EXITED, RUNNABLE, RUNNING
from kernkit.core.regions import PROT_EXEC, PROT_READ, PROT_WRITE
from kernkit.core.state import Slot
from kernkit.plugins.linux_abi.api import (
    ALL_CAPS,
    SCHED_RESET_ON_FORK,
    capabilities,
    creds_of,
    device_number,
    inode_number,
    procview,
)
from kernkit.plugins.linuxproc.mounts import mount_table
from kernkit.plugins.linuxproc.system import NS, TICK_NS
from kernkit.plugins.ns.api import view_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process, Thread

#: When each process was made (virtual ns since boot).
START: Slot[int] = Slot("linuxproc.start")
#: A process's name as /proc shows it: at most TASK_COMM_LEN - 1 characters.
COMM_LEN = 15
STATES = {"R": "R (running)", "S": "S (sleeping)", "Z": "Z (zombie)", "X": "X (dead)"}
O_CLOEXEC = 0o2000000


def comm(process: Process) -> str:
    return process.name[:COMM_LEN]


def state_letter(process: Process, threads: list[Thread] | None = None) -> str:
    if not process.alive:
        return "Z"
    states = {t.state for t in (threads if threads is not None else process.threads)}
    if RUNNING in states or RUNNABLE in states:
        return "R"
    return "S" if BLOCKED in states else "X"


def _live(process: Process) -> list[Thread]:
    return [t for t in process.threads if t.state is not EXITED]


def _ticks(kernel: Kernel, threads: list[Thread]) -> int:
    return sum(kernel.thread_instructions(t) for t in threads) * NS // kernel.ips // TICK_NS


def _regions(process: Process) -> list:
    return list(process.aspace.regions) if process.aspace is not None else []


def _memory(process: Process) -> dict[str, int]:
    """Sizes in pages: the whole, resident, program text, data (heap and anonymous), stack."""
    sizes = {"size": 0, "rss": 0, "text": 0, "data": 0, "stack": 0}
    for region in _regions(process):
        pages = (region.end - region.start) // PAGE_SIZE
        sizes["size"] += pages
        if region.name == "[stack]":
            sizes["stack"] += pages
        elif region.name == "program" and region.prot & PROT_EXEC:
            sizes["text"] += pages
        elif region.prot & PROT_WRITE:
            sizes["data"] += pages
    if process.aspace is not None:
        sizes["rss"] = len(process.aspace.present)
    return sizes


def _start_ticks(process: Process) -> int:
    return (START.get(process) or 0) // TICK_NS


# --- stat, statm, status --------------------------------------------------------------------------


def stat(kernel: Kernel, process: Process, thread: Thread | None = None) -> str:
    """/proc/PID/stat (or, for ``thread``, /proc/PID/task/TID/stat): Linux's 52 fields."""
    threads = [thread] if thread is not None else _live(process)
    memory = _memory(process)
    creds = creds_of(process)
    pgid, sid = procview.group_and_session(process)
    ppid = process.parent.pid if process.parent is not None else 0
    brk = procview.program_break(process)
    core = next((t.core for t in threads if t.core is not None), 0)
    args, env = _args_range(process)
    fields = [
        thread.tid if thread is not None else process.pid,
        f"({comm(process)})",
        state_letter(process, threads),
        ppid,
        pgid,
        sid,
        0,  # tty_nr
        -1,  # tpgid
        0x400000,  # flags: PF_FORKNOEXEC and friends are not modelled
        0,
        0,
        0,
        0,  # minflt, cminflt, majflt, cmajflt
        _ticks(kernel, threads),
        0,  # stime: the kernel's own time is not counted
        0,
        0,  # cutime, cstime
        20 + creds.nice,
        creds.nice,
        len(_live(process)),
        0,
        _start_ticks(process),
        memory["size"] * PAGE_SIZE,
        memory["rss"],
        (1 << 64) - 1,  # rsslim
        *_code_range(process),
        0x7FFF_FFFF_E000 if memory["stack"] else 0,  # startstack
        0,
        0,  # kstkesp, kstkeip
        0,
        0,
        0,
        0,  # signal, blocked, sigignore, sigcatch (see status)
        0,
        0,
        0,  # wchan, nswap, cnswap
        17,  # exit_signal: SIGCHLD
        core,
        creds.rt_priority,
        creds.policy & ~SCHED_RESET_ON_FORK,
        0,
        0,
        0,  # rt_priority, policy, delayacct, guest_time, cguest_time
        0,
        0,  # start_data, end_data
        brk.start if brk is not None else 0,
        *args,
        *env,
        0,  # exit_code: a zombie's status is for its parent's wait
    ]
    return " ".join(str(f) for f in fields) + "\n"


def _code_range(process: Process) -> tuple[int, int]:
    code = [r for r in _regions(process) if r.name == "program" and r.prot & PROT_EXEC]
    return (code[0].start, code[-1].end) if code else (0, 0)


def _args_range(process: Process) -> tuple[tuple[int, int], tuple[int, int]]:
    args, env = procview.argument_strings(process)

    def span(strings: tuple) -> tuple[int, int]:
        if not strings:
            return 0, 0
        return min(a for a, _ in strings), max(a + n for a, n in strings)

    return span(args), span(env)


def statm(kernel: Kernel, process: Process, thread: Thread | None = None) -> str:
    memory = _memory(process)
    return f"{memory['size']} {memory['rss']} 0 {memory['text']} 0 {memory['data'] + memory['stack']} 0\n"


def _mask(value: int) -> str:
    return f"{value & ((1 << 64) - 1):016x}"


def status(kernel: Kernel, process: Process, thread: Thread | None = None) -> str:
    threads = [thread] if thread is not None else _live(process)
    creds = creds_of(process)
    memory = _memory(process)
    pgid, sid = procview.group_and_session(process)
    pid = thread.tid if thread is not None else process.pid
    ppid = process.parent.pid if process.parent is not None else 0
    fds = max((fd for fd, _ in process.files or ()), default=0)
    caps = capabilities(process)
    blocked, ignored, caught = procview.signal_masks(process, threads)
    cores = len(kernel.machine.cores)

    def kb(pages: int) -> str:
        return f"{pages * PAGE_SIZE // 1024:8d} kB"

    fields = [
        ("Name", comm(process)),
        ("Umask", f"{procview.umask(process):04o}"),
        ("State", STATES[state_letter(process, threads)]),
        ("Tgid", process.pid),
        ("Ngid", 0),
        ("Pid", pid),
        ("PPid", ppid),
        ("TracerPid", 0),
        ("Uid", f"{creds.ruid}\t{creds.euid}\t{creds.suid}\t{creds.fsuid}"),
        ("Gid", f"{creds.rgid}\t{creds.egid}\t{creds.sgid}\t{creds.fsgid}"),
        ("FDSize", max(64, -(-(fds + 1) // 64) * 64)),
        ("Groups", " ".join(str(g) for g in creds.groups) + " "),
        ("NStgid", process.pid),
        ("NSpid", pid),
        ("NSpgid", pgid),
        ("NSsid", sid),
        ("VmPeak", kb(memory["size"])),
        ("VmSize", kb(memory["size"])),
        ("VmLck", kb(0)),
        ("VmPin", kb(0)),
        ("VmHWM", kb(memory["rss"])),
        ("VmRSS", kb(memory["rss"])),
        ("RssAnon", kb(memory["rss"])),
        ("RssFile", kb(0)),
        ("RssShmem", kb(0)),
        ("VmData", kb(memory["data"])),
        ("VmStk", kb(memory["stack"])),
        ("VmExe", kb(memory["text"])),
        ("VmLib", kb(0)),
        ("VmPTE", kb(0)),
        ("VmSwap", kb(0)),
        ("Threads", len(_live(process))),
        ("SigQ", "0/31767"),
        ("SigPnd", _mask(0)),
        ("ShdPnd", _mask(0)),
        ("SigBlk", _mask(blocked)),
        ("SigIgn", _mask(ignored)),
        ("SigCgt", _mask(caught)),
        ("CapInh", _mask(0)),
        ("CapPrm", _mask(caps)),
        ("CapEff", _mask(caps)),
        ("CapBnd", _mask(ALL_CAPS)),
        ("CapAmb", _mask(0)),
        ("NoNewPrivs", 0),
        ("Seccomp", 0),
        ("Seccomp_filters", 0),
        ("Cpus_allowed", f"{(1 << cores) - 1:x}"),
        ("Cpus_allowed_list", f"0-{cores - 1}" if cores > 1 else "0"),
        ("Mems_allowed", "1"),
        ("Mems_allowed_list", "0"),
        ("voluntary_ctxt_switches", 0),
        ("nonvoluntary_ctxt_switches", 0),
    ]
    return "".join(f"{name}:\t{value}\n" for name, value in fields)


# --- strings --------------------------------------------------------------------------------------


def _strings(process: Process, which: int) -> bytes:
    """argv (0) or envp (1) as NUL-terminated strings, read from the process's memory (so a
    program that rewrites its argv shows the new text, as on Linux)."""
    if process.aspace is None:
        return b""
    pieces = []
    for address, length in procview.argument_strings(process)[which]:
        try:
            data = process.aspace.read(address, length)
        except BadAddress:
            break
        end = data.find(b"\0")
        pieces.append(data[: end + 1] if end >= 0 else data + b"\0")
    return b"".join(pieces)


def cmdline(kernel: Kernel, process: Process, thread: Thread | None = None) -> bytes:
    return _strings(process, 0)


def environ(kernel: Kernel, process: Process, thread: Thread | None = None) -> bytes:
    return _strings(process, 1)


def comm_file(kernel: Kernel, process: Process, thread: Thread | None = None) -> str:
    return comm(process) + "\n"


# --- memory maps ----------------------------------------------------------------------------------


def maps(kernel: Kernel, process: Process, thread: Thread | None = None) -> str:
    exe = exe_path(kernel, process)
    lines = []
    for region in _regions(process):
        perms = "".join(
            letter if region.prot & bit else "-"
            for bit, letter in ((PROT_READ, "r"), (PROT_WRITE, "w"), (PROT_EXEC, "x"))
        )
        name = {"program": exe, "anon": ""}.get(region.name, region.name)
        head = f"{region.start:08x}-{region.end:08x} {perms}{_mapping(region)}"
        lines.append(f"{head:<72} {name}".rstrip() + "\n" if name else head + "\n")
    return "".join(lines)


def _mapping(region: Any) -> str:
    """The sharing letter, file offset, device and inode of a region, as Linux shows them."""
    mapped = region.mapped
    if mapped is None:
        return "p 00000000 00:00 0"
    file = mapped.file
    device, inode = (device_number(file), inode_number(file.qid)) if isinstance(file, Chan) else (0, 0)
    sharing = "s" if mapped.shared else "p"
    return f"{sharing} {region.offset:08x} {device >> 8 & 0xFFF:02x}:{device & 0xFF:02x} {inode}"


def smaps_rollup(kernel: Kernel, process: Process, thread: Thread | None = None) -> str:
    regions = _regions(process)
    if not regions:
        return ""
    memory = _memory(process)
    rss = memory["rss"] * PAGE_SIZE // 1024
    head = f"{regions[0].start:08x}-{regions[-1].end:08x} ---p 00000000 00:00 0"
    fields = [
        ("Rss", rss),
        ("Pss", rss),
        ("Pss_Anon", rss),
        ("Pss_File", 0),
        ("Pss_Shmem", 0),
        ("Shared_Clean", 0),
        ("Shared_Dirty", 0),
        ("Private_Clean", 0),
        ("Private_Dirty", rss),
        ("Referenced", rss),
        ("Anonymous", rss),
        ("LazyFree", 0),
        ("AnonHugePages", 0),
        ("ShmemPmdMapped", 0),
        ("FilePmdMapped", 0),
        ("Shared_Hugetlb", 0),
        ("Private_Hugetlb", 0),
        ("Swap", 0),
        ("SwapPss", 0),
        ("Locked", 0),
    ]
    return f"{head:<72} [rollup]\n" + "".join(f"{name + ':':<16}{value:>8} kB\n" for name, value in fields)


def mounts(kernel: Kernel, process: Process, thread: Thread | None = None) -> str:
    view = view_of(process)
    return mount_table(view.namespace) if view is not None else ""


#: A process directory's (and a thread directory's) files.
FILES = {
    "cmdline": cmdline,
    "comm": comm_file,
    "environ": environ,
    "maps": maps,
    "mounts": mounts,
    "smaps_rollup": smaps_rollup,
    "stat": stat,
    "statm": statm,
    "status": status,
}
#: Files only their owner (and the superuser) may read.
PRIVATE = {"environ"}


# --- links ----------------------------------------------------------------------------------------


def _root(process: Process) -> Any:
    """The #root driver, or None (no namespace, or no #root)."""
    view = view_of(process)
    if view is None or "root" not in process.kernel.registries["device"]:
        return None
    return view.namespace.devices.driver("root")


def _host_program(process: Process) -> str:
    """The host path of a program the kernel loaded from the host (init), or ""."""
    return getattr(process.image, "path", "") if process.image is not None else ""


def exe_path(kernel: Kernel, process: Process) -> str:
    """The path of the program ``process`` runs: where the namespace has it (for a program
    loaded from the host, where #root shows that file), else the host's path."""
    view = view_of(process)
    if view is not None and view.exe is not None:
        return view.exe.path
    host, root = _host_program(process), _root(process)
    found = root.find(host) if host and root is not None else None
    return found or host


def exe_file(process: Process) -> Chan | None:
    """What /proc/PID/exe leads to when the namespace has no path for it: the host program
    itself (None: walk the path the link says)."""
    host, root = _host_program(process), _root(process)
    if not host or root is None or root.find(host) is not None:
        return None
    return root.host_chan(host)


def fd_target(number: int, file: Any) -> str:
    """What /proc/PID/fd/N says: a path, or Linux's pipe:[N] and socket:[N]."""
    if not isinstance(file, Chan):  # epoll, timerfd, eventfd...: named as Linux names them
        name = getattr(file, "name", "file")
        return name if name.startswith("anon_inode:") else f"anon_inode:[{name}]"
    device = getattr(file.driver, "name", "")
    if device == "pipe":
        return f"pipe:[{inode_number(file.qid)}]"
    if device in ("ip", "unix", "netlink"):
        return f"socket:[{inode_number(file.qid)}]"
    return file.path or f"#{device}"


def fdinfo(number: int, file: Any, cloexec: bool) -> str:
    flags = getattr(file, "flags", 0) & 0xFFFF_FFFF
    flags |= O_CLOEXEC if cloexec else 0
    position = getattr(file, "offset", 0)
    inode = inode_number(file.qid) if isinstance(file, Chan) else 0
    dev = device_number(file) if isinstance(file, Chan) else 0
    return f"pos:\t{position}\nflags:\t0{flags:o}\nmnt_id:\t{dev}\nino:\t{inode}\n"
