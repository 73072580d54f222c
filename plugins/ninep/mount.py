"""``[[mount9p]]``: mount host 9P servers into the namespace processes boot with."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from kernkit.core.errors import ConfigError
from kernkit.plugins.ninep.address import parse_address
from kernkit.plugins.ninep.client import Client, ClientError

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel


def mount_all(kernel: Kernel) -> None:
    """Boot step: connect to each ``[[mount9p]]`` server and mount it at its ``at``."""
    mounts = kernel.config["mount9p"]
    if not mounts:
        return
    from kernkit.core.devices import DeviceError
    from kernkit.plugins.ns.api import MAFTER, MBEFORE, MCREATE, MREPL, boot_namespace

    namespace = boot_namespace(kernel)
    driver = namespace.devices.driver("mnt")
    where = kernel.config.raw.source_of("mount9p")
    for index, options in enumerate(mounts):
        label = f"mount9p[{index}] {options.addr}"
        host, port = parse_address(options.addr)
        try:
            client = Client.connect(host, port, timeout=options.timeout, version=options.version,
                                    msize=options.msize)
        except ClientError as exc:
            raise ConfigError(f"{where}: {label}: {exc}") from None
        uid = os.geteuid() if options.uid == -1 else options.uid
        try:
            root = driver.mount_host(client, options.aname, options.uname, uid, options.addr)
            target = _mount_point(namespace, options.at)
            flags = {"": MREPL, "a": MAFTER, "b": MBEFORE}[options.flags]
            if options.create:
                flags |= MCREATE
            namespace.bind(root, target, flags)
        except DeviceError as exc:
            client.close()
            raise ConfigError(f"{where}: {label} at {options.at}: {exc.message or exc.code}") from None


def unmount_all(kernel: Kernel) -> None:
    from kernkit.plugins.ns.api import device_table

    table = device_table(kernel)
    driver = table.created("mnt") if table is not None else None
    if driver is not None:
        driver.close_all()


def _mount_point(namespace, path: str):  # noqa: ANN001, ANN202 - namespace types are the ns plugin's
    """The directory at ``path``; made on the boot root (#root) if it is missing, as binds do."""
    from kernkit.core.devices import DeviceError

    try:
        return namespace.walk(path)
    except DeviceError as exc:
        if exc.code != "ENOENT":
            raise
    try:
        namespace.devices.driver("root").make_dir(path)
    except (ValueError, DeviceError):
        raise DeviceError("ENOENT", "no such directory, and not one #root can hold") from None
    return namespace.walk(path)
