"""Starting a program the Linux way: the SysV initial stack (argv, envp, auxv) and fds 0-2."""

from __future__ import annotations

import hashlib
import os
import struct
from typing import TYPE_CHECKING

from kernkit.core.devices import OREAD, OWRITE
from kernkit.core.errors import ProgramError
from kernkit.core.state import Slot
from kernkit.core.vm import PROT_READ, PROT_WRITE
from kernkit.plugins.linux_abi.creds import creds_of
from kernkit.plugins.linux_abi.memory import ProgramBreak
from kernkit.plugins.linux_abi.rlimits import stack_limit
from kernkit.plugins.ns.api import enter, view_of

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process
    from kernkit.core.records import LoadedImage

STACK_TOP = 0x7FFF_FFFF_E000
#: Where a process's argv and envp strings are: ((address, length) of each, the same for envp).
ARGS: Slot[tuple] = Slot("linux.args")
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_PLATFORM, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 15, 16, 17
AT_SECURE, AT_RANDOM, AT_HWCAP2, AT_EXECFN = 23, 25, 26, 31


def random_bytes(kernel: Kernel, process: Process, purpose: str, length: int) -> bytes:
    """Deterministic 'random' bytes from ``[kernel] seed``, the pid and what they are for."""
    seed = f"{kernel.config['kernel'].seed}:{process.pid}:{purpose}".encode()
    return hashlib.shake_256(seed).digest(length)


def setup_process(
    kernel: Kernel, process: Process, image: LoadedImage, argv: list[str], envp: list[str]
) -> int:
    """Map the stack, lay out the initial stack, set the break, open fds 0-2; returns the sp."""
    aspace = process.aspace
    stack_size = stack_limit(process, kernel.config["linux"].stack_size)
    aspace.add_region(STACK_TOP - stack_size, STACK_TOP, PROT_READ | PROT_WRITE, "[stack]")
    process.data["brk"] = ProgramBreak(image.brk, image.brk)
    if process.image is None:  # a new process, not an exec (which keeps the descriptors it has)
        _open_standard_files(kernel, process)

    # strings and blobs at the top, pointers below, sp 16-byte aligned at argc
    pointer = STACK_TOP

    def push_bytes(blob: bytes) -> int:
        nonlocal pointer
        pointer -= len(blob)
        aspace.write(pointer, blob)
        return pointer

    strings = [os.fsencode(a) + b"\0" for a in argv], [os.fsencode(e) + b"\0" for e in envp]
    size = sum(len(b) + 8 for group in strings for b in group)
    if size > stack_size // 4:  # Linux allows a quarter of the stack limit for these
        raise ProgramError(
            f"{image.path}: argument list too long ({size} bytes; at most {stack_size // 4})", "E2BIG"
        )
    execfn = push_bytes(os.fsencode(image.execfn or (argv[0] if argv else "")) + b"\0")
    arg_ptrs = [push_bytes(a) for a in strings[0]]
    env_ptrs = [push_bytes(e) for e in strings[1]]
    # where argv's and envp's strings are, read back by /proc/PID/cmdline and environ
    args = tuple(zip(arg_ptrs, map(len, strings[0]), strict=True))
    ARGS.set(process, (args, tuple(zip(env_ptrs, map(len, strings[1]), strict=True))))
    platform = push_bytes(b"x86_64\0")
    random = push_bytes(random_bytes(kernel, process, "AT_RANDOM", 16))
    ids = creds_of(process)
    auxv = [
        (AT_PHDR, image.phdr),
        (AT_PHENT, image.phent),
        (AT_PHNUM, image.phnum),
        (AT_PAGESZ, 4096),
        (AT_BASE, image.interpreter_base),
        (AT_FLAGS, 0),
        (AT_ENTRY, image.entry),
        (AT_UID, ids.ruid),
        (AT_EUID, ids.euid),
        (AT_GID, ids.rgid),
        (AT_EGID, ids.egid),
        # Linux's secure mode: the program runs with ids other than its user's
        (AT_SECURE, int(ids.euid != ids.ruid or ids.egid != ids.rgid)),
        (AT_PLATFORM, platform),
        (AT_HWCAP, getattr(kernel.machine, "hwcap", 0)),
        (AT_HWCAP2, 0),
        (AT_CLKTCK, 100),
        (AT_RANDOM, random),
        (AT_EXECFN, execfn),
        (AT_NULL, 0),
    ]
    words = [len(argv), *arg_ptrs, 0, *env_ptrs, 0, *(v for pair in auxv for v in pair)]
    pointer = (pointer - 8 * len(words)) & ~0xF
    aspace.write(pointer, struct.pack(f"<{len(words)}Q", *words))
    return pointer


def _open_standard_files(kernel: Kernel, process: Process) -> None:
    """Descriptors 0, 1 and 2 on #cons/stdin, stdout and stderr (when there is a console)."""
    if "cons" not in kernel.registries["device"] or view_of(process) is None:
        return
    namespace = enter(process).namespace
    for fd, (end, mode) in enumerate((("stdin", OREAD), ("stdout", OWRITE), ("stderr", OWRITE))):
        chan = namespace.open(namespace.walk(f"#cons/{end}"), mode)
        chan.flags = mode
        process.files.install(chan, fd)
