"""Loading a program into a process: pick a binary format, build a fresh address space."""

from __future__ import annotations

from collections.abc import Sequence
from errno import errorcode
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from kernkit.core.errors import OutOfMemory, ProgramError
from kernkit.core.records import Interpreted
from kernkit.core.vm import AddressSpace

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process
    from kernkit.core.programs import ProgramFile

#: Interpreters of interpreters (scripts run by scripts) followed before ELOOP, as on Linux.
MAX_INTERPRETERS = 5


def new_address_space(kernel: Kernel) -> AddressSpace:
    aspace = AddressSpace(kernel.machine.memory, kernel.machine.new_page_table(), kernel.machine.user_limit)
    aspace.on_unmap = kernel.machine.address_space_changed
    aspace.on_code_write = kernel.machine.code_changed
    if kernel.costs is not None:
        aspace.on_fault = kernel.charge_page_fault
    aspace.on_release = kernel.machine.address_space_released
    return aspace


def load_program(
    kernel: Kernel,
    process: Process,
    path: Path | ProgramFile,
    argv: Sequence[str],
    envp: Sequence[str],
    filename: str | None = None,
) -> Any:
    """Load ``path`` into a new address space for ``process`` and return the initial CPU context.

    ``filename`` is the name the program was asked for by (execve's path; argv[0] by default).
    A file another program runs (a ``#!`` script) loads that program, with the arguments Linux
    gives it; ``process.argv`` becomes what the program starts with. On success the process's
    old address space is released; on failure (ProgramError) the process is left as it was.
    """
    execfn = filename if filename is not None else argv[0] if argv else str(path)
    name, arguments = execfn, list(argv)
    aspace = new_address_space(kernel)
    previous, previous_data = process.aspace, dict(process.data)
    previous_personality = process.personality, process.syscall_map
    process.aspace = aspace
    try:
        for depth in range(MAX_INTERPRETERS + 2):
            if depth > MAX_INTERPRETERS:
                raise ProgramError(f"{execfn}: too many levels of interpreters", "ELOOP")
            image = _format_of(kernel, path, data := _contents(path)).load(kernel, process, data, path)
            if not isinstance(image, Interpreted):
                break
            arguments = [*image.argv, name, *arguments[1:]]
            name, path = image.argv[0], image.program
        image = attrs.evolve(image, path=image.path or str(path), file=path, execfn=execfn)
        _adopt_personality(kernel, process, image, path)
        stack = process.personality.setup_process(kernel, process, image, arguments, list(envp))
    except OutOfMemory as exc:
        aspace.release()
        process.aspace, process.data = previous, previous_data
        process.personality, process.syscall_map = previous_personality
        raise ProgramError(f"{path}: does not fit: {exc}", "ENOMEM") from None
    except BaseException:
        aspace.release()
        process.aspace, process.data = previous, previous_data
        process.personality, process.syscall_map = previous_personality
        raise
    if previous is not None:
        previous.release()
    process.image = image
    process.argv = arguments
    return kernel.machine.new_context(image.start, stack)


def _contents(path: Path | ProgramFile) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ProgramError(f"{path}: cannot read: {exc.strerror}", errorcode.get(exc.errno, "EIO")) from None


def _format_of(kernel: Kernel, path: Path | ProgramFile, data: bytes) -> Any:
    """The binary format that recognises ``data``: plugins' formats first, then the built-ins
    (as Linux tries binfmt_misc's before its own)."""
    formats = kernel.registries["binary format"]
    header = data[:256]
    fmt = next((r.record for r in reversed(formats.values()) if r.record.probe(header)), None)
    if fmt is None:
        known = ", ".join(sorted(formats)) or "none"
        raise ProgramError(f"{path}: not a program this kernel can load (formats: {known})")
    return fmt


def _adopt_personality(kernel: Kernel, process: Process, image: Any, path: Path | ProgramFile) -> None:
    """Give ``process`` the personality its program asks for: ``[kernel] personality_map`` by
    file name first, then the program's own note, else the kernel's default."""
    options = kernel.config["kernel"]
    offered = kernel.personalities
    wanted = options.personality_map.get(path.name) or image.personality or offered[0]
    if wanted not in offered:
        raise ProgramError(
            f"{path}: a program for the {wanted!r} personality, but this kernel offers "
            f"{', '.join(offered)} (add {wanted!r} to [kernel] personalities)"
        )
    table = kernel.personality(wanted)
    if process.personality is not table:
        process.personality = table
        process.syscall_map = table.by_number()
