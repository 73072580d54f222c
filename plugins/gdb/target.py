"""The GDB target description of an architecture (``qXfer:features:read:target.xml``), from the
registers its :class:`~kernkit.core.records.DebugTarget` lists."""

from __future__ import annotations

from kernkit.core.records import DebugTarget


def target_xml(target: DebugTarget) -> str:
    parts = [
        '<?xml version="1.0"?>',
        '<!DOCTYPE target SYSTEM "gdb-target.dtd">',
        '<target version="1.0">',
        f"  <architecture>{target.gdb_architecture}</architecture>",
    ]
    for feature in target.features:
        parts.append(f'  <feature name="{feature.name}">')
        if feature.types_xml:
            parts.append(feature.types_xml.rstrip())
        for register in feature.registers:
            group = f' group="{register.group}"' if register.group else ""
            size = f'bitsize="{register.bits}" type="{register.type}"'
            parts.append(f'    <reg name="{register.name}" {size}{group}/>')
        parts.append("  </feature>")
    parts.append("</target>")
    return "\n".join(parts) + "\n"
