"""Loading an ELF64 executable: its PT_LOAD segments, and its interpreter when it has one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.core.errors import ProgramError
from kernkit.core.physmem import PAGE_MASK, PAGE_SIZE
from kernkit.core.records import LoadedImage
from kernkit.plugins.elf.headers import ET_DYN, ET_EXEC, parse, personality_note, phdr_address
from kernkit.plugins.elf.interp import interpreter_name, load_interpreter
from kernkit.plugins.elf.segments import load_segments
from kernkit.plugins.elf.symbols import Symbolizer

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process

#: Where position-independent programs are placed (as Linux does for PIE).
PIE_BASE = 0x5555_5555_4000


def load_elf(kernel: Kernel, process: Process, data: bytes, path: Any) -> LoadedImage:
    """Map the program ``data`` (the file ``path``: a host path, or a file of the process's
    namespace) into the process, and its interpreter if it names one."""
    name = str(path)
    header = parse(data, name)
    wanted = kernel.arch.machine_ids.get("elf")
    if header.machine != wanted:
        raise ProgramError(
            f"{name}: ELF for machine {header.machine}, but this kernel's architecture is "
            f"{kernel.arch.name} (e_machine {wanted})"
        )
    if header.type not in (ET_EXEC, ET_DYN):
        raise ProgramError(f"{name}: ELF type {header.type} is not an executable")
    if not header.loads:
        raise ProgramError(f"{name}: no loadable segments")
    interpreter = interpreter_name(data, header.segments, name)
    base = 0 if header.type == ET_EXEC else PIE_BASE
    end = load_segments(kernel, process, header, data, path, base, "program")
    loaded = load_interpreter(kernel, process, interpreter, name) if interpreter is not None else None
    return LoadedImage(
        entry=base + header.entry,
        phdr=phdr_address(header, base),
        phent=header.phentsize,
        phnum=header.phnum,
        brk=(end + PAGE_SIZE - 1) & PAGE_MASK,
        base=base,
        path=name,
        personality=personality_note(data, header),
        symbolize=Symbolizer(data if isinstance(path, str) else path.read_bytes, base),
        interpreter=loaded.path if loaded else "",
        interpreter_base=loaded.base if loaded else 0,
        interpreter_entry=loaded.entry if loaded else 0,
    )
