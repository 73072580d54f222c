"""The plugins that ship with kernkit, by the short names configs use, in registration order."""

BUILTIN_PLUGINS: dict[str, str] = {
    "core": "kernkit.core.coreplugin",
    "x86_64": "kernkit.arch.x86_64",
    "elf": "kernkit.plugins.elf",
    "script": "kernkit.plugins.script",
    "ns": "kernkit.plugins.ns",
    "linux_abi": "kernkit.plugins.linux_abi",
    "console": "kernkit.plugins.console",
    "linuxproc": "kernkit.plugins.linuxproc",
    "akaros_abi": "kernkit.plugins.akaros_abi",
    "rr": "kernkit.plugins.rr",
    "mcp": "kernkit.plugins.mcp",
    "ninep": "kernkit.plugins.ninep",
    "vmm": "kernkit.plugins.vmm",
    "strace": "kernkit.plugins.strace",
    "net": "kernkit.plugins.net",
    "ether": "kernkit.plugins.ether",
    "gdb": "kernkit.plugins.gdb",
    "costs": "kernkit.plugins.costs",
}

#: Set to any non-empty value to skip third-party plugins found through entry points.
DISABLE_AUTOLOAD_ENV = "KERNKIT_DISABLE_PLUGIN_AUTOLOAD"

ENTRY_POINT_GROUP = "kernkit.plugins"
