"""Reading a ``#!`` line the way Linux does.

Only the first 256 bytes of the file count (Linux's BINPRM_BUF_SIZE). After ``#!`` and any
spaces or tabs comes the interpreter's path, ending at a space, a tab, a NUL or the end of the
line; whatever follows, less the spaces and tabs around it, is one argument, spaces and all
(not split into words). A line that does not end within those bytes is cut there, unless the
interpreter's path itself would be cut: that, and a line with no path, is ENOEXEC. A carriage
return is part of the line (a script with DOS line ends names ``sh\\r``: ENOENT). The program
then runs with arguments: the interpreter, the argument if any, the script's name as it was
given to execve, then the original arguments after the first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.core.errors import ProgramError
from kernkit.core.records import Interpreted
from kernkit.plugins.ns.api import open_program

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process

#: The bytes of a file Linux reads to find its format (and the #! line in).
HEADER_SIZE = 256
BLANKS = b" \t"
ENDS = b" \t\0"


def parse_shebang(data: bytes) -> tuple[bytes, bytes | None]:
    """(interpreter, its one argument or None) named by the ``#!`` line at the start of
    ``data``; ValueError when the line names none or was cut inside its name."""
    buffer = data[:HEADER_SIZE].ljust(HEADER_SIZE, b"\0")
    newline = buffer.find(b"\n")
    if newline >= 0:
        line = buffer[2:newline]
    else:  # the line goes on past what Linux reads: fine, unless the name would be cut
        line = buffer[2 : HEADER_SIZE - 1]
        name = line.lstrip(BLANKS)
        if not name or not any(end in name for end in (b" ", b"\t", b"\0")):
            raise ValueError("the #! line is too long (its interpreter's path is cut off)")
    line = line.strip(BLANKS)
    if not line:
        raise ValueError("the #! line names no interpreter")
    end = next((i for i, byte in enumerate(line) if byte in ENDS), len(line))
    name, rest = line[:end], line[end:]
    if not rest or rest[0] == 0:
        return name, None
    return name, rest.lstrip(BLANKS).split(b"\0", 1)[0]


def load_script(kernel: Kernel, process: Process, data: bytes, path: Any) -> Interpreted:
    try:
        name, argument = parse_shebang(data)
    except ValueError as exc:
        raise ProgramError(f"{path}: {exc}") from None
    interpreter = name.decode("utf-8", "surrogateescape")
    if not interpreter:  # Linux walks the empty name to the current directory
        raise ProgramError(f"{path}: the #! line names an empty interpreter", "EACCES")
    try:
        program = open_program(process, interpreter, "interpreter")
    except ProgramError as exc:
        raise ProgramError(f"{path}: {exc}", exc.errno) from None
    words = (interpreter,) if argument is None else (interpreter, argument.decode("utf-8", "surrogateescape"))
    return Interpreted(program, words)
