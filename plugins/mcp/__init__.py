"""``mcp``: Akaros's ksched. Core 0 time-shares single-core processes on a tick; many-core
processes get the other cores, first come first served (or packed), and keep them, without
ticks, until they yield, die or lose a provisioned core to its owner."""

from __future__ import annotations

import attrs

from kernkit.core.hookspecs import hookimpl
from kernkit.core.options import option, positive
from kernkit.core.records import ConfigSection, Scheduler, TraceStyle
from kernkit.plugins.mcp.ksched import McpScheduler


@attrs.frozen
class McpOptions:
    tick_us: int = option(
        10_000, "virtual microseconds between ticks on core 0 (SCP timeslice)", validator=positive
    )
    alloc: str = option(
        "fcfs",
        "core allocation: fcfs (idle list head, freed cores to its tail) or packed (near its cores)",
        choices=("fcfs", "packed"),
    )
    linux_threads: str = option(
        "cores",
        "multi-threaded processes without vcores (Linux): get cores like an MCP, or stay on core 0",
        choices=("cores", "core0"),
    )


@hookimpl
def kernkit_config_sections() -> list[ConfigSection]:
    return [ConfigSection("sched.mcp", McpOptions, "the mcp scheduler (Akaros ksched)")]


@hookimpl
def kernkit_register_trace_styles() -> list[TraceStyle]:
    return [
        TraceStyle("grant", "core granted", "up", "#1a8f3a", "grant to {who}", place="pcore"),
        TraceStyle("release", "core released", "up", "#c0392b", "release by {who}", place="pcore"),
        TraceStyle(
            "preempt_warn",
            "preemption warning",
            "diamond",
            "#e67e22",
            "preempt warning to {who} (pid {to} is owed it)",
            place="pcore",
        ),
    ]


@hookimpl
def kernkit_register_schedulers() -> list[Scheduler]:
    return [Scheduler("mcp", McpScheduler, "Akaros ksched: SCPs on core 0, MCPs own the other cores")]
