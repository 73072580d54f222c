"""Building the boot namespace from ``[namespace]``: #root's contents, then the binds in order."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from kernkit.core.devices import DeviceError
from kernkit.core.errors import ConfigError
from kernkit.core.programs import packaged_programs_dir
from kernkit.plugins.ns.namespace import Namespace
from kernkit.plugins.ns.options import DEFAULT_BINDS, PROGRAMS, USERLAND, USERLAND_DIRS, BindOp, parse_bind
from kernkit.plugins.ns.state import BOOT, devices

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel


def boot_namespace(kernel: Kernel) -> Namespace:
    """The namespace processes start with (built on first use; ConfigError if it cannot be)."""
    return BOOT.of(kernel, lambda: _build(kernel))


def boot_bind(kernel: Kernel, line: str) -> None:
    """Carry out one bind line (``bind -a #ether /net``, the syntax of ``[namespace] binds``) on
    the boot namespace, making a missing mount point on #root; for plugins that add to the boot
    namespace in their boot step. ValueError for a line that does not parse, DeviceError for
    one that cannot be carried out."""
    namespace = boot_namespace(kernel)
    apply(namespace, parse_bind(line), namespace.devices.driver("root"))


def _where(kernel: Kernel, key: str) -> str:
    return f"{kernel.config.raw.source_of('namespace.' + key)}: namespace.{key}"


def _build(kernel: Kernel) -> Namespace:
    options = kernel.config["namespace"]
    table = devices(kernel)
    try:
        root = table.driver("root")
    except DeviceError as exc:
        raise ConfigError(f"{_where(kernel, 'root')}: {exc.message}") from None
    for path, host in options.root.items():
        host_path = packaged_programs_dir() if host == PROGRAMS else kernel.config.base_dir / Path(host)
        try:
            root.add(path.rstrip("/") or "/", host_path)
        except ValueError as exc:
            raise ConfigError(f"{_where(kernel, 'root')}: {path!r}: {exc}") from None
    for index, path in enumerate(options.host):
        for host in USERLAND_DIRS if path == USERLAND else (path,):
            if path == USERLAND and not os.path.lexists(host):
                continue
            try:
                root.add_host(host)
            except ValueError as exc:
                raise ConfigError(f"{_where(kernel, 'host')}: item {index}: {exc}") from None
    namespace = Namespace(table, table.attach("#root"))
    default = options.binds == DEFAULT_BINDS
    for index, line in enumerate(options.binds):
        op = parse_bind(line)
        if default and not _registered(kernel, op.source):
            continue  # the default names devices of other plugins: a kernel without them goes on
        try:
            apply(namespace, op, root)
        except DeviceError as exc:
            detail = exc.message or exc.code
            raise ConfigError(f"{_where(kernel, 'binds')}: item {index}: {line!r}: {detail}") from None
    return namespace


def _registered(kernel: Kernel, source: str) -> bool:
    """Whether a bind's source is a path, or a ``#device`` some loaded plugin registers."""
    if not source.startswith("#"):
        return True
    return source[1:].split(".", 1)[0].split("/", 1)[0] in kernel.registries["device"]


def apply(namespace: Namespace, op: BindOp, root: object | None = None) -> None:
    """Carry out one bind line; a missing mount point on #root is made (boot only: ``root``)."""
    if op.verb == "mount":
        namespace.devices.driver("mnt")  # mounting needs the 9P client: say so first
    try:
        source = namespace.walk(op.source)
    except DeviceError as exc:
        raise DeviceError(exc.code, exc.message or f"{op.source}: {_describe(exc)}") from None
    try:
        target = namespace.walk(op.target)
    except DeviceError as exc:
        if exc.code != "ENOENT" or root is None:
            raise DeviceError(exc.code, f"{op.target}: {_describe(exc)}") from None
        try:
            root.make_dir(op.target)
            target = namespace.walk(op.target)
        except (ValueError, DeviceError):
            where = f"{op.target}: no such directory, and not one #root can hold"
            raise DeviceError("ENOENT", where) from None
    if op.verb == "bind":
        namespace.bind(source, target, op.flags)
    else:
        opened = namespace.open(source, 2)
        namespace.mount(opened, target, op.flags, op.spec)


def _describe(exc: DeviceError) -> str:
    words = {"ENOENT": "no such file or directory", "ENOTDIR": "not a directory"}
    return exc.message or words.get(exc.code, exc.code)
