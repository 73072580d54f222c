"""The plugins that ship with kernkit, in the order they are registered."""

BUILTIN_PLUGINS: tuple[str, ...] = (
    "kernkit.core.coreplugin",
    "kernkit.arch.x86_64",
    "kernkit.plugins.elf",
    "kernkit.plugins.linux_abi",
    "kernkit.plugins.console",
    "kernkit.plugins.ns",
    "kernkit.plugins.akaros_abi",
    "kernkit.plugins.rr",
    "kernkit.plugins.mcp",
    "kernkit.plugins.ninep",
    "kernkit.plugins.vmm",
    "kernkit.plugins.strace",
    "kernkit.plugins.net",
    "kernkit.plugins.ether",
    "kernkit.plugins.gdb",
)

#: Set to any non-empty value to skip third-party plugins found through entry points.
DISABLE_AUTOLOAD_ENV = "KERNKIT_DISABLE_PLUGIN_AUTOLOAD"

ENTRY_POINT_GROUP = "kernkit.plugins"
