"""The net plugin's public API, for plugins that declare ``requires=("net",)``: the kernel's
network stack (made on first use) and its conversations."""

from kernkit.plugins.net.stack import Conv, Stack, stack_of

__all__ = ["Conv", "Stack", "stack_of"]
