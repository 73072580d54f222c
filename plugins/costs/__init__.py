"""``costs``: a cost model for the kernel's own work, in virtual time.

``[costs] preset`` picks a table ("linux-like", "akaros-like", or "none", the default); any
knob set in ``[costs]`` overrides the preset's value, so the matrix can sweep one cost at a time.
The kernel charges the cycles where it does the work (see kernkit.core.costs).
"""

from __future__ import annotations

import attrs

from kernkit.core.costs import KernelCosts
from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import option
from kernkit.core.records import ConfigSection, PluginDeclaration
from kernkit.plugins.costs.presets import PRESETS

#: The value of a knob that is not set: the preset's.
FROM_PRESET = -1


def _cycles(instance: object, attribute: attrs.Attribute, value: int) -> None:
    if value < FROM_PRESET:
        raise ValueError(f"must be a number of cycles >= 0 (or -1 for the preset's), got {value}")


def _knob(what: str) -> int:
    return option(FROM_PRESET, f"cycles {what} (-1: the preset's)", validator=_cycles)


@attrs.frozen
class CostOptions:
    preset: str = option(
        "none",
        "the table to start from: none (kernel work takes no virtual time), linux-like, akaros-like",
        choices=tuple(PRESETS),
    )
    syscall_entry: int = _knob("to enter the kernel for a system call")
    syscall_exit: int = _knob("to return from a system call")
    context_switch: int = _knob("a core takes to switch to another thread")
    address_space_switch: int = _knob("on top, when the address space changes (CR3 and TLB refill)")
    page_fault: int = _knob("to make a page present on a fault")
    ipi: int = _knob("a core takes to receive an inter-processor interrupt (a message from another core)")
    kmsg: int = _knob("a core takes to handle a kernel message")
    timer_interrupt: int = _knob("a timer interrupt delays the sleeping thread it wakes")
    tick: int = _knob("of each periodic tick (timer interrupt and scheduler work)")
    tick_us: int = option(
        FROM_PRESET, "virtual microseconds between ticks on a busy core (0: no tick; -1: the preset's)",
        validator=_cycles,
    )  # fmt: skip
    tick_cores: str = option(
        "preset",
        "cores that tick: all (busy ones), ungranted (not granted to a process: Akaros's SCP cores), "
        "or the preset's",
        choices=("preset", "all", "ungranted"),
    )


def resolve(options: CostOptions) -> KernelCosts:
    """The preset's table with the knobs set in ``[costs]`` on top."""
    table = dict(PRESETS[options.preset])
    for field in attrs.fields(CostOptions):
        value = getattr(options, field.name)
        if field.name in ("preset",) or value in (FROM_PRESET, "preset"):
            continue
        table[field.name] = value
    tick_us = table.pop("tick_us", 0)
    tick_cores = table.pop("tick_cores", "all")
    return KernelCosts(**table, tick_period_ns=tick_us * 1000, tick_granted=tick_cores == "all")


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("costs", CostOptions, "what the kernel's own work costs in virtual time")]


@hookimpl
def kernkit_kernel_costs(config):  # noqa: ANN001, ANN201 - the hook's signature
    costs = resolve(config["costs"])
    return costs if costs.enabled else None  # no opinion: another plugin may have one


@hookimpl
def kernkit_declare_plugin() -> PluginDeclaration:
    return PluginDeclaration(description="a cost model: cycles for syscalls, switches, faults, IPIs, ticks")
