"""Assembling a kernel: config + plugins -> registries -> a Kernel ready to boot."""

from __future__ import annotations

import graphlib
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

import attrs

from kernkit.core.builtin_choice import BUILTIN_MANIFEST, builtins_for
from kernkit.core.config import (
    Config,
    RawConfig,
    apply_overrides,
    load_raw,
    validate,
)
from kernkit.core.errors import ConfigError, PluginError
from kernkit.core.kernel import Kernel
from kernkit.core.plugins import PluginManager, Registered
from kernkit.core.programs import package_dir
from kernkit.core.records import BOOT_PHASES

#: (hook, kind) of every registry the kernel is assembled from.
REGISTRIES = (
    ("kernkit_register_architectures", "architecture"),
    ("kernkit_register_syscall_tables", "syscall table"),
    ("kernkit_register_syscall_extensions", "syscall extension"),
    ("kernkit_register_schedulers", "scheduler"),
    ("kernkit_register_devices", "device"),
    ("kernkit_register_proc_files", "proc file"),
    ("kernkit_register_binary_formats", "binary format"),
    ("kernkit_register_monitor_commands", "monitor command"),
    ("kernkit_boot_steps", "boot step"),
    ("kernkit_register_trace_styles", "trace style"),
)


def packaged_config(name: str) -> Path:
    return package_dir("kernkit.configs") / name


def default_config_path() -> Path:
    return packaged_config("minimal.toml")


def resolve_config(
    path: str | Path | None,
    overrides: Mapping[str, Any] | None = None,
    plugins: PluginManager | None = None,
    on_warning: Callable[[str], None] | None = None,
    every_builtin: bool = False,
) -> tuple[Config, PluginManager]:
    """Read, merge and validate a config; load the plugins it names (``plugins``, if given,
    already holds some: the built-ins the config names are added to them). A config that names
    no ``[kernel] builtins`` gets those its contents need (kernkit.core.builtin_choice), or
    every built-in with ``every_builtin`` (``kernkit check`` shows every section's defaults)."""
    raw = load_raw(path if path is not None else default_config_path())
    if overrides:
        raw = apply_overrides(raw, overrides)
    chosen = raw.names_builtins()
    builtins = raw.plugin_modules("builtins") if chosen else None
    choosing = plugins is None and not chosen  # the built-ins this config's contents need
    try:
        if plugins is None:
            needed = builtins_for(raw.data) if choosing and not every_builtin else builtins
            plugins = PluginManager(builtins=needed, on_warning=on_warning)
        elif builtins is not None:
            plugins.load_builtins(builtins)
    except PluginError as exc:
        if not str(exc).startswith("no built-in plugin"):
            raise
        raise ConfigError(f"{raw.source_of('kernel.builtins')}: kernel.builtins: {exc}") from None
    modules, optional = raw.plugin_modules(), raw.plugin_modules("optional_plugins")
    if (modules or optional) and raw.path is not None:  # a plugin module may sit next to its config
        directory = str(raw.path.resolve().parent)
        if directory not in sys.path:
            sys.path.append(directory)
    plugins.load_modules(modules)
    plugins.load_modules(optional, optional=True)
    if choosing:  # built-ins that other plugins require come with them
        plugins.load_builtins(
            needed for _, needed in plugins.missing_requirements() if needed in BUILTIN_MANIFEST
        )
    for plugin, needed in plugins.missing_requirements():
        raise ConfigError(
            f"{raw.source_of('kernel.builtins')}: kernel.builtins: plugin {plugin!r} requires "
            f"{needed!r}, which is not loaded"
        )
    sections = [reg.record for reg in plugins.collect("kernkit_config_sections", "config section").values()]
    config = validate(raw, sections)
    return config, plugins


def collect_registries(plugins: PluginManager) -> dict[str, dict[str, Registered]]:
    registries = {kind: plugins.collect(hook, kind) for hook, kind in REGISTRIES}
    for entries in registries.values():  # an optional plugin dropped in a later hook takes all
        for name in [n for n, reg in entries.items() if reg.plugin in plugins.dropped]:
            del entries[name]
    tables = registries["syscall table"]
    for extension in registries["syscall extension"].values():
        base = tables.get(extension.record.table)
        if base is not None:
            merged = (*base.record.syscalls, *extension.record.syscalls)
            merged_table = attrs.evolve(base.record, syscalls=merged)
            tables[extension.record.table] = Registered(merged_table, base.plugin)
    for registered in registries["syscall table"].values():
        try:
            registered.record.by_number()
        except ValueError as exc:
            raise PluginError(f"plugin {registered.plugin!r}: {exc}") from None
    return registries


def check_choices(config: Config, registries: dict[str, dict[str, Registered]]) -> None:
    """Names in the config must name registered things."""
    raw: RawConfig = config.raw
    if config["kernel"].max_instructions and config["machine"].mode != "deterministic":
        raise ConfigError(
            f"{raw.source_of('kernel.max_instructions')}: kernel.max_instructions: an instruction budget "
            f'needs machine.mode = "deterministic" (fast mode counts no instructions)'
        )
    personalities = config["kernel"].personalities or list(registries["syscall table"])
    checks = [
        ("machine.arch", [config["machine"].arch], "architecture"),
        ("sched.policy", [config["sched"].policy], "scheduler"),
        ("kernel.personalities", personalities, "syscall table"),
    ]
    for dotted, names, kind in checks:
        if not names:
            raise ConfigError(f"{raw.source_of(dotted)}: {dotted}: expected at least one {kind}")
        for name in names:
            if name not in registries[kind]:
                known = ", ".join(sorted(registries[kind])) or "none"
                raise ConfigError(
                    f"{raw.source_of(dotted)}: {dotted}: unknown {kind} {name!r}; known: {known}"
                )


def boot_order(registries: dict[str, dict[str, Registered]]) -> list[Any]:
    """Boot steps by phase, then as ``after`` requires, then by name."""
    steps = {name: reg.record for name, reg in registries["boot step"].items()}
    ordered = []
    for phase in BOOT_PHASES:
        in_phase = {n: s for n, s in steps.items() if s.phase == phase}
        sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
        for name in sorted(in_phase):
            for dependency in in_phase[name].after:
                if dependency not in steps:
                    plugin = registries["boot step"][name].plugin
                    raise PluginError(
                        f"boot step {name!r} of plugin {plugin!r} runs after "
                        f"{dependency!r}, which no plugin registers"
                    )
            sorter.add(name, *[a for a in in_phase[name].after if a in in_phase])
        try:
            sorter.prepare()
        except graphlib.CycleError as exc:
            raise PluginError(f"boot steps depend on each other in a cycle: {exc.args[1]}") from None
        while sorter.is_active():
            ready = sorted(sorter.get_ready())
            ordered.extend(in_phase[n] for n in ready)
            sorter.done(*ready)
    return ordered


def assemble(
    config_path: str | Path | None = None,
    *,
    overrides: Mapping[str, Any] | None = None,
    plugins: PluginManager | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[bytes] | None = None,
    stderr: IO[bytes] | None = None,
    trace: IO[str] | None = None,
) -> Kernel:
    """Build a kernel from a config file (the packaged minimal kernel when None)."""
    config, plugins = resolve_config(config_path, overrides, plugins)
    registries = collect_registries(plugins)
    check_choices(config, registries)
    kernel = Kernel(config, plugins, registries, stdin=stdin, stdout=stdout, stderr=stderr, trace=trace)
    for warning in plugins.warnings:
        kernel.message(f"warning: {warning}")
    plugins.on_warning = lambda text: kernel.message(f"warning: {text}")
    return kernel


def boot(kernel: Kernel, *, check: bool = False) -> None:
    """Run every boot step in order (the init phase starts the first process). ``check``: boot
    as ``kernkit check`` does, without the steps that reach outside the kernel."""
    for step in boot_order(kernel.registries):
        if check and step.outside:
            continue
        kernel.trace_event("boot", step=step.name, phase=step.phase)
        step.run(kernel)
