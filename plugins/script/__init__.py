"""``#!`` scripts: the binary format that runs a file through the interpreter its first line
names (Linux's binfmt_script)."""

from __future__ import annotations

from kernkit.core.hookspecs import hookimpl
from kernkit.core.records import BinaryFormat, PluginDeclaration
from kernkit.plugins.script.shebang import load_script


@hookimpl
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(requires=("ns",), description="#! scripts run by their interpreter")


@hookimpl
def kernkit_register_binary_formats() -> list[BinaryFormat]:
    return [
        BinaryFormat(
            name="script",
            probe=lambda header: header[:2] == b"#!",
            load=load_script,
            description="#! scripts: the interpreter the first line names, from the namespace",
        )
    ]
