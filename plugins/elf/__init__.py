"""ELF64 programs, static and dynamic: the binary format plugin."""

from __future__ import annotations

from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import BinaryFormat, PluginDeclaration
from kernkit.plugins.elf.headers import ELF_MAGIC
from kernkit.plugins.elf.loader import load_elf


@hookimpl
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(
        requires=("ns",), description="ELF64 programs; interpreters come from the namespace"
    )


@hookimpl
def kernkit_register_binary_formats() -> list[BinaryFormat]:
    return [
        BinaryFormat(
            name="elf64",
            probe=lambda header: header[:4] == ELF_MAGIC,
            load=load_elf,
            description="ELF64 executables, static or with an interpreter (PT_INTERP) from the namespace",
        )
    ]
