"""Random sequences of file syscalls on random paths: every call returns a number, the kernel
never raises, and the namespace stays usable."""

from __future__ import annotations

import io

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kernkit.core.assemble import assemble, boot
from kernkit.core.errors import BadAddress
from kernkit.plugins.linux_abi import creds, fileio, fs, fsmeta, locks, sysinfo

PATHS = [
    "", "/", ".", "..", "/tmp", "/tmp/a", "/tmp/a/b", "tmp/a", "a", "../../tmp/a", "/tmp/a/../b",
    "#tmpfs", "#tmpfs/a", "#tmpfs.x/a", "#root/bin", "/bin/hello", "/dev/null", "/dev/zero", "/dev",
    "/proc/1/status", "/proc/self/fd", "/proc/1", "/srv", "/srv/p", "#pipe/data", "#nodev/x",
    "/tmp//a///b/", "x" * 300, "/" + "y/" * 2100, "#", "#tmpfs.", "/tmp/a/./b/..",
    "/tmp/l", "/tmp/l/x", "/tmp/l/..", "/tmp/fifo", "/proc/self/exe", "/proc/self/fd/0", "/proc/self/fd/9",
    "/dev/fd/1", "/dev/stdin", "/proc/self/cwd/tmp", "/proc/self/root/tmp", "/proc/thread-self/stat",
    "/proc/1/task/1/stat", "/proc/sys/kernel/ostype", "/proc/mounts", "/proc/self/fdinfo/1", "#linuxproc/1/maps",
]
TARGETS = ["a", "/tmp/l", "../..", "", "/proc/self/fd/0", "#tmpfs/a", "l/l/l", "x" * 300]
SCRATCH = 0x7FFF_FFFF_0000  # inside the main thread's stack region
PATH_AT, PATH2_AT, BUFFER = SCRATCH, SCRATCH + 0x2000, SCRATCH + 0x4000
FLAGS = [0, 1, 2, 0o101, 0o301, 0o1101, 0o2101, 0o200000, 0o2000000, 0o102, 3, 0o20200000]
FD = st.integers(min_value=-1, max_value=12) | st.just(0xFFFF_FF9C)  # AT_FDCWD as a 32-bit int
NUMBER = st.sampled_from([0, 1, 2, 0o644, 0o755, 0x200, 0x1000, 4096, 1 << 40, (1 << 64) - 1])

CALLS = {
    "openat": (fs.sys_openat, [FD, "path", st.sampled_from(FLAGS), NUMBER]),
    "close": (fileio.sys_close, [FD]),
    "read": (fileio.sys_read, [FD, "buffer", st.sampled_from([0, 1, 64, 4096])]),
    "write": (fileio.sys_write, [FD, "buffer", st.sampled_from([0, 1, 64])]),
    "pread": (fileio.sys_pread64, [FD, "buffer", st.sampled_from([1, 64]), NUMBER]),
    "lseek": (fileio.sys_lseek, [FD, NUMBER, st.integers(0, 4)]),
    "getdents64": (fileio.sys_getdents64, [FD, "buffer", st.sampled_from([8, 64, 4096])]),
    "fstat": (fileio.sys_fstat, [FD, "buffer"]),
    "dup3": (fileio.sys_dup3, [FD, FD, st.sampled_from([0, 0o2000000, 1])]),
    "fcntl": (fileio.sys_fcntl, [FD, st.integers(0, 5) | st.just(1030), NUMBER]),
    "ftruncate": (fileio.sys_ftruncate, [FD, NUMBER]),
    "mkdirat": (fs.sys_mkdirat, [FD, "path", NUMBER]),
    "unlinkat": (fs.sys_unlinkat, [FD, "path", st.sampled_from([0, 0x200, 7])]),
    "renameat2": (fs.sys_renameat2, [FD, "path", FD, "path2", st.sampled_from([0, 1, 2])]),
    "newfstatat": (fs.sys_newfstatat, [FD, "path", "buffer", st.sampled_from([0, 0x100, 0x1000])]),
    "statx": (fs.sys_statx, [FD, "path", st.sampled_from([0, 0x1000]), NUMBER, "buffer"]),
    "faccessat2": (fs.sys_faccessat2, [FD, "path", st.integers(0, 8), st.sampled_from([0, 0x200])]),
    "readlinkat": (fs.sys_readlinkat, [FD, "path", "buffer", st.sampled_from([0, 64])]),
    "chdir": (fs.sys_chdir, ["path"]),
    "fchdir": (fs.sys_fchdir, [FD]),
    "getcwd": (fs.sys_getcwd, ["buffer", st.sampled_from([0, 2, 4096])]),
    "fchmodat": (fs.sys_fchmodat, [FD, "path", NUMBER]),
    "truncate": (fs.sys_truncate, ["path", NUMBER]),
    "mount": (fs.sys_mount, ["path", "path2", st.just(0), st.sampled_from([0, 4096]), st.just(0)]),
    "umount2": (fs.sys_umount2, ["path", st.just(0)]),
    "unshare": (fs.sys_unshare, [st.sampled_from([0, 0x20000, 0x400, 1])]),
    "fchownat": (fsmeta.sys_fchownat, [FD, "path", NUMBER, NUMBER, st.sampled_from([0, 0x100, 0x1000, 3])]),
    "fchown": (fsmeta.sys_fchown, [FD, NUMBER, NUMBER]),
    "utimensat": (fsmeta.sys_utimensat, [FD, "path", "buffer", st.sampled_from([0, 0x100, 7])]),
    "utimensat-null": (fsmeta.sys_utimensat, [FD, st.just(0), "buffer", st.just(0)]),
    "futimesat": (fsmeta.sys_futimesat, [FD, "path", "buffer"]),
    "utime": (fsmeta.sys_utime, ["path", "buffer"]),
    "linkat": (fsmeta.sys_linkat, [FD, "path", FD, "path2", st.sampled_from([0, 0x400, 0x1000, 1])]),
    "symlinkat": (fsmeta.sys_symlinkat, ["target", FD, "path"]),
    "mknodat": (fsmeta.sys_mknodat, [FD, "path", st.sampled_from([0o10644, 0o100600, 0o20600, 0o40755, 0]), NUMBER]),
    "fallocate": (fsmeta.sys_fallocate, [FD, st.integers(0, 0x20), NUMBER, NUMBER]),
    "statfs": (fsmeta.sys_statfs, ["path", "buffer"]),
    "fstatfs": (fsmeta.sys_fstatfs, [FD, "buffer"]),
    "chroot": (fsmeta.sys_chroot, ["path"]),
    "syncfs": (fsmeta.sys_syncfs, [FD]),
    "flock": (locks.sys_flock, [FD, st.integers(0, 15)]),
    "fcntl-lock": (fileio.sys_fcntl, [FD, st.sampled_from([5, 6, 7, 36, 37, 38]), "buffer"]),
    "setresuid": (creds.sys_setresuid, [NUMBER, NUMBER, NUMBER]),
    "setgroups": (creds.sys_setgroups, [st.sampled_from([0, 1, 3, 70000]), "buffer"]),
    "getgroups": (creds.sys_getgroups, [st.sampled_from([0, 1, 64, (1 << 32) - 1]), "buffer"]),
    "setpriority": (creds.sys_setpriority, [st.integers(0, 3), NUMBER, NUMBER]),
    "ioprio_set": (creds.sys_ioprio_set, [st.integers(0, 4), NUMBER, NUMBER]),
    "personality": (creds.sys_personality, [NUMBER]),
    "sysinfo": (sysinfo.sys_sysinfo, ["buffer"]),
}


@st.composite
def calls(draw):
    name = draw(st.sampled_from(sorted(CALLS)))
    _, kinds = CALLS[name]
    args = []
    for kind in kinds:
        if kind in ("path", "path2"):
            args.append((kind, draw(st.sampled_from(PATHS))))
        elif kind == "target":
            args.append(("path2", draw(st.sampled_from(TARGETS))))
        elif kind == "buffer":
            args.append((kind, draw(st.sampled_from([BUFFER, 0, 8]))))
        else:
            args.append(("value", draw(kind)))
    return name, args


def booted():
    kernel = assemble(None, stdin=io.BytesIO(), stdout=io.BytesIO(), stderr=io.BytesIO())
    boot(kernel)
    return kernel


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(calls(), min_size=1, max_size=25))
def test_file_syscalls_on_random_paths_never_raise(sequence):
    kernel = booted()
    try:
        thread = kernel.init.threads[0]
        aspace = kernel.init.aspace
        for name, args in sequence:
            values = []
            for kind, value in args:
                if kind in ("path", "path2"):
                    address = PATH_AT if kind == "path" else PATH2_AT
                    aspace.write(address, value.encode() + b"\0")
                    values.append(address)
                else:
                    values.append(value)
            handler, _ = CALLS[name]
            try:
                result = handler(thread, *values)
            except BadAddress:  # the dispatcher's EFAULT
                continue
            assert isinstance(result, int), (name, values, result)
        # whatever happened, the namespace still resolves and lists
        aspace.write(PATH_AT, b"/\0")
        fd = fs.sys_openat(thread, 0xFFFF_FF9C, PATH_AT, 0, 0)
        assert fd >= 0 or fd == -24  # EMFILE only if the sequence filled the table
    finally:
        kernel.shutdown()
