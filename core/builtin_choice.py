"""The built-in plugins a config needs, chosen from its contents without importing any plugin.

A config that names no ``[kernel] builtins`` gets :data:`DEFAULT_BUILTINS` (what an ordinary
Linux program expects: ELF and #! loading, the namespace and its devices, the console, /proc,
9P mounts, sockets, strace) plus every built-in that provides something the config uses: a
section it contains, its ``machine.arch``, ``sched.policy`` and ``kernel.personalities`` (no
personalities: every syscall table), the extensions of those syscall tables, and any ``#device``
a string value names; then, transitively, what those require. What each built-in provides is
read from the generated builtin_manifest.json beside this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

#: Short name -> what each built-in provides (``sections``, ``devices``, ``syscall_tables``, ...).
BUILTIN_MANIFEST: dict[str, dict[str, list[str]]] = json.loads(
    (Path(__file__).parent / "builtin_manifest.json").read_text()
)

#: Loaded for every config that does not choose its built-ins.
DEFAULT_BUILTINS = ("elf", "script", "ns", "console", "linuxproc", "ninep", "net", "strace")
#: What a config chooses by name (none named: all). An unknown name (here or a ``#device``) loads
#: every built-in of the kind, so that the error naming it lists them all.
CHOICES = ("architectures", "schedulers", "syscall_tables")

#: A ``#device`` starting a word of a string value (``"bind #ip /net"``, ``"#tmpfs.2"``).
_DEVICE = re.compile(r"(?:^|\s)#([A-Za-z0-9_]+)")


def builtins_for(data: Mapping[str, Any]) -> list[str]:
    """Short names of the built-ins the raw config ``data`` needs, in registration order."""
    kernel, machine, sched = (_table(data, name) for name in ("kernel", "machine", "sched"))
    personalities = kernel.get("personalities") or ()
    named = {
        "sections": set(_section_names(data)),
        "devices": {match[1] for word in _strings(data) for match in _DEVICE.finditer(word)},
        "architectures": {str(machine.get("arch", "x86_64"))},
        "schedulers": {str(sched.get("policy", "rr"))},
        "syscall_tables": set(map(str, personalities if isinstance(personalities, list) else ())),
    }
    for kind in ("devices", *CHOICES):  # a name no built-in has: all of them, for the error's list
        offered = {name for provides in BUILTIN_MANIFEST.values() for name in provides.get(kind, ())}
        if named[kind] - offered or (not named[kind] and kind in CHOICES):  # none: every table
            named[kind] = offered
    named["extends"] = named["syscall_tables"]  # a table comes with its extensions
    wanted = set(DEFAULT_BUILTINS) | {
        short
        for short, provides in BUILTIN_MANIFEST.items()
        if any(named[kind] & set(names) for kind, names in provides.items() if kind in named)
    }
    pending = list(wanted)
    while pending:
        for needed in BUILTIN_MANIFEST.get(pending.pop(), {}).get("requires", ()):
            if needed not in wanted:
                wanted.add(needed)
                pending.append(needed)
    return [short for short in BUILTIN_MANIFEST if short in wanted and short != "core"]


def _table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    value = data.get(name, {})
    return value if isinstance(value, dict) else {}


def _section_names(data: Mapping[str, Any]) -> Iterator[str]:
    for name, value in data.items():
        yield name
        if isinstance(value, dict):
            yield from (f"{name}.{sub}" for sub, inner in value.items() if isinstance(inner, dict))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for inner in value.values():
            yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)
