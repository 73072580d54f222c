"""The core's own config sections ([kernel], [machine], [sched], [init]), init's boot step and
the monitor's commands."""

from __future__ import annotations

from pathlib import Path

import attrs

from kernkit.core.builtin_plugins import BUILTIN_PLUGINS
from kernkit.core.hookspecs import hookimpl
from kernkit.core.monitor import CORE_COMMANDS
from kernkit.core.options import at_most, at_most_size, non_negative, option, parse_size, positive
from kernkit.core.programs import resolve_program
from kernkit.core.records import BootStep, ConfigSection, MonitorCommand, TraceStyle


@attrs.frozen
class KernelOptions:
    personalities: list[str] = option(
        [],
        "syscall tables (personalities) this kernel offers; the first is the default, a program's ELF note "
        "picks another (empty: every registered one, in the order their plugins load: linux first)",
    )
    personality_map: dict[str, str] = option(
        {}, "program file name -> personality, overriding what the program's ELF note asks for"
    )
    builtins: list[str] = option(
        [name for name in BUILTIN_PLUGINS if name != "core"],
        "built-in plugins to load, by short name (the core's own is always loaded); each plugin's "
        "requirements must be among them (kernkit plugins shows them). Not set: the default set and "
        "the built-ins the config's contents use (see architecture.md); kernkit check writes all",
    )
    plugins: list[str] = option([], "extra plugin modules to load, by import path")
    optional_plugins: list[str] = option(
        [], "plugin modules to load if they can: a failure is a warning and the kernel boots without them"
    )
    max_instructions: int = option(
        0, "stop the run after this many guest instructions in all (0: no limit)", validator=non_negative
    )
    seed: int = option(0, "seed for everything random inside the kernel (AT_RANDOM bytes, ...)")


@attrs.frozen
class MachineOptions:
    arch: str = option("x86_64", "machine architecture (a registered architecture name)")
    cores: int = option(1, "number of physical cores", validator=[positive, at_most(64)])
    memory: int = option(
        64 << 20,
        "physical memory, in bytes or with a suffix (64M, 1G)",
        converter=parse_size,
        validator=[positive, at_most_size(16 << 30)],
    )
    mode: str = option(
        "deterministic",
        "deterministic: preempt by instruction count (same run, same trace); "
        "fast: preempt by host timer (faster, not reproducible, and a timer stop may run an "
        "instruction twice: see docs/architecture.md)",
        choices=("deterministic", "fast"),
    )
    quantum: int = option(
        100_000,
        "instructions each core runs per round before the scheduler is consulted",
        validator=[positive, at_most(1 << 40)],
    )
    ips: int = option(
        1_000_000_000,
        "instructions per virtual second (how virtual time follows instructions)",
        validator=positive,
    )
    slice_us: int = option(2000, "fast mode only: host microseconds per scheduling round", validator=positive)


@attrs.frozen
class SchedOptions:
    policy: str = option("rr", "scheduling policy (a registered scheduler name)")


def _env_entries(instance: object, attribute: attrs.Attribute, value: list[str]) -> None:
    for index, entry in enumerate(value):
        if "=" not in entry or entry.startswith("="):
            raise ValueError(f"item {index}: expected NAME=VALUE, got {entry!r}")


@attrs.frozen
class InitOptions:
    program: str = option(
        "hello",
        "the first program: a path (relative to the config file) or the name of a packaged program",
    )
    args: list[str] = option([], "arguments after argv[0]")
    env: list[str] = option(
        ["HOME=/", "PATH=/bin", "TERM=vt100"], "environment, as NAME=VALUE", validator=_env_entries
    )
    name: str = option("", "argv[0] (default: the program's file name)")


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [
        ConfigSection("kernel", KernelOptions, "what the kernel is made of"),
        ConfigSection("machine", MachineOptions, "the emulated machine"),
        ConfigSection("sched", SchedOptions, "scheduling"),
        ConfigSection("init", InitOptions, "the first process"),
    ]


def start_init(kernel) -> None:  # noqa: ANN001 - a BootStep callable
    """Spawn the first process from [init]."""
    options = kernel.config["init"]
    path = resolve_program(options.program, kernel.config.base_dir)
    argv = [options.name or Path(options.program).name, *options.args]
    kernel.init = kernel.spawn(path, argv, options.env)


@hookimpl
def kernkit_boot_steps() -> list[BootStep]:
    return [BootStep("init", "init", start_init)]


@hookimpl
def kernkit_register_monitor_commands() -> list[MonitorCommand]:
    return list(CORE_COMMANDS)


def _exit_label(event: dict, who: str) -> str:
    return f"exit {who}: {'killed' if event.get('killed') else 'status'} {event.get('status')}"


@hookimpl
def kernkit_register_trace_styles() -> list[TraceStyle]:
    """The core's own events (runs and syscalls are drawn as bars and ticks of their own)."""
    return [
        TraceStyle(
            "kmsg",
            "kernel message arrives (sent then)",
            "down",
            "#1f4e9c",
            "kmsg {name} from core {core}",
            place="to",
        ),
        TraceStyle("exit", "process exits", "cross", "#000000", _exit_label),
        TraceStyle("fault", "fault", "cross", "#c0392b", "fault {what} in {who}"),
        TraceStyle("spawn", "process spawned", label="spawn {who}"),
        TraceStyle("fork", "process forked", label="fork {who}"),
        TraceStyle("exec", "program executed", label="exec {who}"),
    ]
