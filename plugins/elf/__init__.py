"""Static ELF64 programs: the binary format plugin."""

from __future__ import annotations

from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import BinaryFormat
from kernkit.plugins.elf.loader import ELF_MAGIC, load_elf


@hookimpl
def kernkit_register_binary_formats() -> list[BinaryFormat]:
    return [
        BinaryFormat(
            name="elf64",
            probe=lambda header: header[:4] == ELF_MAGIC,
            load=load_elf,
            description="static ELF64 executables (ET_EXEC, or ET_DYN without an interpreter)",
        )
    ]
