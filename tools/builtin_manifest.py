"""Writes core/builtin_manifest.json: what each built-in plugin provides, read by importing
every one of them. A config that names no ``[kernel] builtins`` loads only the built-ins its
contents need (see kernkit.core.builtin_choice), so a boot does not import them all; a test
imports every plugin and checks that the committed manifest is still true.

Run ``python -m kernkit.tools.builtin_manifest`` after changing what a built-in registers.
"""

from __future__ import annotations

import json
from pathlib import Path

from kernkit.core.builtin_plugins import BUILTIN_PLUGINS
from kernkit.core.plugins import PluginManager

#: (hook, manifest key) of the registrations a config can name.
PROVISIONS = (
    ("kernkit_config_sections", "sections"),
    ("kernkit_register_architectures", "architectures"),
    ("kernkit_register_schedulers", "schedulers"),
    ("kernkit_register_syscall_tables", "syscall_tables"),
    ("kernkit_register_devices", "devices"),
)


def describe_builtins() -> dict[str, dict[str, list[str]]]:
    """Short name -> what the built-in provides (only non-empty entries)."""
    plugins = PluginManager(autoload=False)
    short = {info.name: info.short for info in plugins.plugins}
    manifest: dict[str, dict[str, list[str]]] = {name: {} for name in BUILTIN_PLUGINS}
    for info in plugins.plugins:
        if info.declaration.requires:
            manifest[info.short]["requires"] = list(info.declaration.requires)
    provided: list[tuple[str, str, str]] = [
        (short[registered.plugin], key, name)
        for hook, key in PROVISIONS
        for name, registered in plugins.collect(hook, key).items()
    ]
    provided += [
        (short[registered.plugin], "extends", registered.record.table)
        for registered in plugins.collect("kernkit_register_syscall_extensions", "extension").values()
    ]
    for plugin, key, name in sorted(provided):
        manifest[plugin].setdefault(key, []).append(name)
    return manifest


def render(manifest: dict[str, dict[str, list[str]]]) -> str:
    lines = [f"  {json.dumps(name)}: {json.dumps(provides)}" for name, provides in manifest.items()]
    return "{\n" + ",\n".join(lines) + "\n}\n"  # a plugin a line


def main() -> None:
    import kernkit.core

    target = Path(kernkit.core.__file__).parent / "builtin_manifest.json"
    target.write_text(render(describe_builtins()))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
