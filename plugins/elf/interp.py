"""A dynamic program's interpreter (PT_INTERP): named by the program, found in the process's
namespace, loaded beside it; the program starts in the interpreter, which maps the libraries.

The checks and their errors are Linux's: a PT_INTERP shorter than 2 bytes or longer than
PATH_MAX, or not ending in NUL, is ENOEXEC; one reaching past the end of the file EIO; an
interpreter that is not there ENOENT (the message names the config key that puts the host's
libraries in the namespace), a directory or a file nobody may execute EACCES, one shorter than
an ELF header EIO, one that is not an ELF program for this machine ELIBBAD. What Linux finds
wrong only after the point of no return (killing the process with SIGSEGV: an interpreter that
is an object file, segments that do not fit) is refused here before it, so execve fails and
the caller goes on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core.errors import ProgramError
from kernkit.core.physmem import PAGE_MASK, page_up
from kernkit.plugins.elf.headers import EHDR, ET_DYN, ET_EXEC, PT_INTERP, Segment, parse
from kernkit.plugins.elf.segments import load_segments
from kernkit.plugins.ns.api import open_program

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process

PATH_MAX = 4096
#: Where an interpreter that can go anywhere (ET_DYN) is placed: the first free space from
#: here up (the bottom of the area where mmap places mappings).
INTERP_BASE = 0x7F00_0000_0000


class Interpreter:
    __slots__ = ("path", "base", "entry")

    def __init__(self, path: str, base: int, entry: int) -> None:
        self.path = path
        self.base = base
        self.entry = entry


def interpreter_name(data: bytes, segments: tuple[Segment, ...], path: str) -> str | None:
    """The interpreter the first PT_INTERP names, or None when there is none."""
    seg = next((s for s in segments if s.type == PT_INTERP), None)
    if seg is None:
        return None
    if not 2 <= seg.filesz <= PATH_MAX:
        raise ProgramError(f"{path}: PT_INTERP of {seg.filesz} bytes (expected 2 to {PATH_MAX})")
    if seg.offset + seg.filesz > len(data):
        raise ProgramError(f"{path}: PT_INTERP reaches past the end of the file", "EIO")
    text = data[seg.offset : seg.offset + seg.filesz]
    if text[-1] != 0:
        raise ProgramError(f"{path}: PT_INTERP is not a NUL-terminated path")
    return text.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def load_interpreter(kernel: Kernel, process: Process, name: str, path: str) -> Interpreter:
    """Find the interpreter ``name`` in the process's namespace and map it; where it went."""
    try:
        program = open_program(process, name, "interpreter")
    except ProgramError as exc:
        raise ProgramError(f"{path}: {exc}", exc.errno) from None
    data = program.read_bytes()
    if len(data) < EHDR.size:
        raise ProgramError(f"{path}: interpreter {name} is shorter than an ELF header", "EIO")
    try:
        header = parse(data, name, any_class=True)
    except ProgramError as exc:
        raise ProgramError(f"{path}: bad interpreter: {exc}", "ELIBBAD") from None
    if header.machine != kernel.arch.machine_ids.get("elf") or header.type not in (ET_EXEC, ET_DYN):
        raise ProgramError(f"{path}: interpreter {name} is not a program for this machine", "ELIBBAD")
    if not header.loads:
        raise ProgramError(f"{path}: interpreter {name} has no loadable segments", "ELIBBAD")
    base = 0
    if header.type == ET_DYN:  # wherever there is room for all of it
        low = min(seg.vaddr for seg in header.loads) & PAGE_MASK
        span = page_up(max(seg.vaddr + seg.memsz for seg in header.loads)) - low
        aspace = process.aspace
        found = aspace.find_free(span, INTERP_BASE) if span <= aspace.limit else None
        if found is None:
            raise ProgramError(f"{path}: interpreter {name} does not fit in user memory", "ENOMEM")
        base = found - low
    load_segments(kernel, process, header, data, program, base, str(program))
    return Interpreter(str(program), base, base + header.entry)
