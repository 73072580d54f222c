"""The ns plugin's public API, for plugins that declare ``requires=("ns",)``.

A process's files: :func:`enter` gives its view (namespace and current directory) with the
devices told on whose behalf they are called; :class:`Namespace` walks, binds and mounts;
:func:`lookup_program` finds a program file there, :func:`program_pages` the page cache its
segments can be mapped from; :func:`pipe_size` is F_GETPIPE_SZ and F_SETPIPE_SZ.
Plugins that serve or extend the namespace: :func:`devices` (the device table),
:func:`boot_namespace` and :func:`boot_bind` (the namespace processes start with, from a boot
step), and the synthetic-device helpers for small devices of generated files.
:data:`PAGE_CACHE_READERS` are the drivers whose ``read`` of a plain file is a read of its page
cache (``chan.aux.inode.data``) that sets the access time as relatime does, and whose ``close``
of one only counts its inode's ``opens`` down (#tmpfs; the native system call entry does both).
"""

from kernkit.plugins.ns.boot import boot_bind, boot_namespace
from kernkit.plugins.ns.devpipe import pipe_size
from kernkit.plugins.ns.devtmpfs import TmpfsDevice
from kernkit.plugins.ns.devversion import kernkit_version
from kernkit.plugins.ns.namespace import MAFTER, MAXSYMLINKS, MBEFORE, MCREATE, MREPL, Namespace
from kernkit.plugins.ns.programs import NamespaceProgram, lookup_program, open_program, program_pages
from kernkit.plugins.ns.state import ProcNs, device_table, devices, enter, proc_ns, view_of
from kernkit.plugins.ns.synthetic import SyntheticDevice, SynthFile, caller_text, check_mode, text

PAGE_CACHE_READERS = (TmpfsDevice,)

__all__ = [
    "PAGE_CACHE_READERS",
    "pipe_size",
    "MAFTER",
    "MAXSYMLINKS",
    "MBEFORE",
    "MCREATE",
    "MREPL",
    "Namespace",
    "NamespaceProgram",
    "ProcNs",
    "caller_text",
    "SynthFile",
    "SyntheticDevice",
    "boot_bind",
    "check_mode",
    "boot_namespace",
    "device_table",
    "devices",
    "enter",
    "kernkit_version",
    "lookup_program",
    "open_program",
    "program_pages",
    "proc_ns",
    "text",
    "view_of",
]
