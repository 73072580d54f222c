"""The files at the top of Linux's /proc and under /proc/sys, made from the emulated machine:
its cores, memory and virtual time (USER_HZ ticks of 10 ms), the kernel's processes, the
``[linux]`` options (release, hostname) and the caller's namespace (mounts)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from kernkit.core.state import Slot
from kernkit.plugins.linux_abi.api import FILESYSTEMS, NGROUPS_MAX, sysinfo, uts_names
from kernkit.plugins.ns.api import kernkit_version

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

NS, FIXED_1, FSHIFT = sysinfo.NS, sysinfo.FIXED_1, sysinfo.FSHIFT
now, running, live_threads = sysinfo.now, sysinfo.running, sysinfo.live_threads
USER_HZ = 100
TICK_NS = NS // USER_HZ
#: What the emulated CPU's CPUID says (Unicorn's Haswell model), for /proc/cpuinfo.
CPU_MODEL = {"vendor_id": "GenuineIntel", "cpu family": 6, "model": 60, "stepping": 4}
CPU_NAME = "Intel Core Processor (Haswell)"
CPU_FLAGS = (
    "fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 "
    "syscall nx lm pni pclmulqdq ssse3 cx16 sse4_1 sse4_2 movbe popcnt aes xsave rdrand hypervisor"
)
#: Processes made since boot (/proc/stat's "processes"): [count].
FORKS: Slot[list[int]] = Slot("linuxproc.forks")
#: Linux's default pid_max: 32768, or 1024 per CPU, up to 4194304.
PID_MAX_DEFAULT, PIDS_PER_CPU, PID_MAX_LIMIT = 32768, 1024, 4194304


def _ticks(ns: int) -> int:
    return ns // TICK_NS


def _core_ticks(kernel: Kernel, elapsed: int) -> list[tuple[int, int]]:
    """(busy, idle) ticks of each core since boot."""
    result = []
    for count in kernel.core_instructions:
        busy = min(count * NS // kernel.ips, elapsed)
        result.append((_ticks(busy), _ticks(elapsed) - _ticks(busy)))
    return result


# --- the files ------------------------------------------------------------------------------------


def meminfo(kernel: Kernel) -> str:
    total, free = (size // 1024 for size in sysinfo.memory(kernel))
    fields = [
        ("MemTotal", total),
        ("MemFree", free),
        ("MemAvailable", free),
        ("Buffers", 0),
        ("Cached", 0),
        ("SwapCached", 0),
        ("Active", total - free),
        ("Inactive", 0),
        ("Active(anon)", total - free),
        ("Inactive(anon)", 0),
        ("Active(file)", 0),
        ("Inactive(file)", 0),
        ("Unevictable", 0),
        ("Mlocked", 0),
        ("SwapTotal", 0),
        ("SwapFree", 0),
        ("Dirty", 0),
        ("Writeback", 0),
        ("AnonPages", total - free),
        ("Mapped", 0),
        ("Shmem", 0),
        ("KReclaimable", 0),
        ("Slab", 0),
        ("SReclaimable", 0),
        ("SUnreclaim", 0),
        ("KernelStack", 0),
        ("PageTables", 0),
        ("CommitLimit", total),
        ("Committed_AS", total - free),
        ("VmallocTotal", 0),
        ("VmallocUsed", 0),
        ("HugePages_Total", None),
        ("Hugepagesize", 2048),
    ]
    lines = []
    for name, value in fields:
        if value is None:
            lines.append(f"{name + ':':<16}{0:>8}\n")
        else:
            lines.append(f"{name + ':':<16}{value:>8} kB\n")
    return "".join(lines)


def vmstat(kernel: Kernel) -> str:
    """What the machine knows of its pages: the free ones, and no paging or swapping (there is
    no block device and no swap), as Linux counts them; what kernkit does not count is left out,
    as a Linux without the option would."""
    _, free = sysinfo.memory(kernel)
    fields = [("nr_free_pages", free // sysinfo.PAGE_SIZE)]
    fields += [(name, 0) for name in ("pgpgin", "pgpgout", "pswpin", "pswpout")]
    return "".join(f"{name} {value}\n" for name, value in fields)


def cpuinfo(kernel: Kernel) -> str:
    cores = len(kernel.machine.cores)
    mhz = kernel.ips / 1_000_000
    blocks = []
    for core in range(cores):
        fields = [
            ("processor", core),
            ("vendor_id", CPU_MODEL["vendor_id"]),
            ("cpu family", CPU_MODEL["cpu family"]),
            ("model", CPU_MODEL["model"]),
            ("model name", CPU_NAME),
            ("stepping", CPU_MODEL["stepping"]),
            ("cpu MHz", f"{mhz:.3f}"),
            ("cache size", "16384 KB"),
            ("physical id", 0),
            ("siblings", cores),
            ("core id", core),
            ("cpu cores", cores),
            ("apicid", core),
            ("initial apicid", core),
            ("fpu", "yes"),
            ("fpu_exception", "yes"),
            ("cpuid level", 13),
            ("wp", "yes"),
            ("flags", CPU_FLAGS),
            ("bogomips", f"{2 * mhz:.2f}"),
            ("clflush size", 64),
            ("cache_alignment", 64),
            ("address sizes", "40 bits physical, 48 bits virtual"),
            ("power management", ""),
        ]
        blocks.append("".join(_cpuinfo_line(name, value) for name, value in fields))
    return "\n".join(blocks) + "\n"


def _cpuinfo_line(name: str, value: object) -> str:
    """Linux's layout: the name, a tab (two for names under 8 characters), then ': value'."""
    if name == "power management":
        return f"{name}:{value}\n"
    tabs = "\t\t" if len(name) < 8 else "\t"
    return f"{name}{tabs}: {value}\n"


def stat(kernel: Kernel) -> str:
    elapsed = now(kernel)
    cores = _core_ticks(kernel, elapsed)
    busy, idle = sum(b for b, _ in cores), sum(i for _, i in cores)
    lines = [f"cpu  {busy} 0 0 {idle} 0 0 0 0 0 0"]
    lines += [f"cpu{n} {b} 0 0 {i} 0 0 0 0 0 0" for n, (b, i) in enumerate(cores)]
    lines += [
        "intr 0",
        f"ctxt {kernel.context_switches}",
        f"btime {kernel.config['linux'].epoch}",
        f"processes {FORKS.of(kernel, lambda: [0])[0]}",
        f"procs_running {running(kernel)}",
        "procs_blocked 0",
        "softirq 0 0 0 0 0 0 0 0 0 0 0",
    ]
    return "\n".join(lines) + "\n"


def uptime(kernel: Kernel) -> str:
    elapsed = now(kernel)
    idle = sum(i for _, i in _core_ticks(kernel, elapsed))
    return f"{_ticks(elapsed) // 100}.{_ticks(elapsed) % 100:02d} {idle // 100}.{idle % 100:02d}\n"


def loadavg(kernel: Kernel) -> str:
    loads = sysinfo.load_averages(kernel)
    averages = " ".join(f"{v >> FSHIFT}.{((v & (FIXED_1 - 1)) * 100) >> FSHIFT:02d}" for v in loads)
    last = max(kernel.processes, default=0)
    return f"{averages} {running(kernel)}/{len(live_threads(kernel))} {last}\n"


def version(kernel: Kernel) -> str:
    options = kernel.config["linux"]
    built = f"(kernkit@kernkit) (kernkit {kernkit_version()})"
    return f"Linux version {options.release} {built} {options.version}\n"


def filesystems(kernel: Kernel) -> str:
    registered = kernel.registries["device"]
    kinds = sorted({FILESYSTEMS[name][0] for name in registered if name in FILESYSTEMS})
    return "".join(f"nodev\t{kind}\n" for kind in kinds)


#: The files at the top of /proc (mounts, self and thread-self are links: see the device).
TOP_FILES: dict[str, Callable[[Kernel], str]] = {
    "cpuinfo": cpuinfo,
    "filesystems": filesystems,
    "loadavg": loadavg,
    "meminfo": meminfo,
    "stat": stat,
    "uptime": uptime,
    "version": version,
    "vmstat": vmstat,
}


def _pid_max(kernel: Kernel) -> str:
    cores = len(kernel.machine.cores)
    return f"{min(max(PID_MAX_DEFAULT, PIDS_PER_CPU * cores), PID_MAX_LIMIT)}\n"


#: /proc/sys, as nested directories of files.
SYS: dict = {
    "kernel": {
        "domainname": lambda kernel: uts_names(kernel).domain + "\n",
        "hostname": lambda kernel: uts_names(kernel).host + "\n",
        "ngroups_max": lambda kernel: f"{NGROUPS_MAX}\n",
        "osrelease": lambda kernel: kernel.config["linux"].release + "\n",
        "ostype": lambda kernel: "Linux\n",
        "pid_max": _pid_max,
        "version": lambda kernel: kernel.config["linux"].version + "\n",
    },
    "vm": {
        "overcommit_memory": lambda kernel: "0\n",
    },
}
