"""Trace viewers: summaries, Perfetto JSON and a timeline page from a JSON-lines trace."""

from __future__ import annotations

from kernkit.core.plugins import PluginManager
from kernkit.core.records import TraceStyle


def registered_styles(plugins: PluginManager | None = None) -> dict[str, TraceStyle]:
    """Event kind -> how to show it, as the plugins that emit the events register it (those of
    ``plugins``, or every installed plugin)."""
    plugins = plugins if plugins is not None else PluginManager()
    collected = plugins.collect("kernkit_register_trace_styles", "trace style")
    return {name: registered.record for name, registered in collected.items()}
