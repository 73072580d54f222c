"""Loading a program into a process: pick a binary format, build a fresh address space."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kernkit.core.errors import OutOfMemory, ProgramError
from kernkit.core.vm import AddressSpace

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process
    from kernkit.core.programs import ProgramFile


def new_address_space(kernel: Kernel) -> AddressSpace:
    aspace = AddressSpace(kernel.machine.memory, kernel.machine.new_page_table(), kernel.machine.user_limit)
    aspace.on_unmap = kernel.machine.address_space_changed
    aspace.on_code_write = kernel.machine.code_changed
    if kernel.costs is not None:
        aspace.on_fault = kernel.charge_page_fault
    aspace.on_release = kernel.machine.address_space_released
    return aspace


def load_program(
    kernel: Kernel, process: Process, path: Path | ProgramFile, argv: Sequence[str], envp: Sequence[str]
) -> Any:
    """Load ``path`` into a new address space for ``process`` and return the initial CPU context.

    On success the process's old address space is released; on failure (ProgramError) the
    process is left as it was.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ProgramError(f"{path}: cannot read: {exc.strerror}") from None
    formats = kernel.registries["binary format"]
    fmt = next((r.record for r in formats.values() if r.record.probe(data[:64])), None)
    if fmt is None:
        known = ", ".join(sorted(formats)) or "none"
        raise ProgramError(f"{path}: not a program this kernel can load (formats: {known})")
    aspace = new_address_space(kernel)
    previous, previous_data = process.aspace, dict(process.data)
    previous_personality = process.personality, process.syscall_map
    process.aspace = aspace
    try:
        image = fmt.load(kernel, process, data, str(path))
        _adopt_personality(kernel, process, image, path)
        stack = process.personality.setup_process(kernel, process, image, list(argv), list(envp))
    except OutOfMemory as exc:
        aspace.release()
        process.aspace, process.data = previous, previous_data
        process.personality, process.syscall_map = previous_personality
        raise ProgramError(f"{path}: does not fit: {exc}") from None
    except BaseException:
        aspace.release()
        process.aspace, process.data = previous, previous_data
        process.personality, process.syscall_map = previous_personality
        raise
    if previous is not None:
        previous.release()
    process.image = image
    return kernel.machine.new_context(image.entry, stack)


def _adopt_personality(kernel: Kernel, process: Process, image: Any, path: Path) -> None:
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
