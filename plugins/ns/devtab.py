"""The kernel's device table: drivers made from the registered Device records, on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.core.devices import Chan, DeviceError

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel
    from kernkit.core.process import Process


class Devices:
    """Per kernel: one driver per device, and who the current namespace operation is for."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.drivers: dict[str, Any] = {}
        #: The process on whose behalf devices are being called (Plan 9's ``up``): set by
        #: whoever calls into the namespace (a syscall, a file server) before it does.
        self.caller: Process | None = None

    def driver(self, name: str) -> Any:
        """The driver of device ``name``; DeviceError ENOENT naming the known ones if there is none."""
        driver = self.drivers.get(name)
        if driver is None:
            registered = self.kernel.registries["device"].get(name)
            if registered is None:
                known = ", ".join(f"#{n}" for n in sorted(self.kernel.registries["device"]))
                raise DeviceError("ENOENT", f"no device #{name} (known: {known})")
            driver = registered.record.create(self.kernel)
            driver.name = name
            driver.devices = self  # drivers find the caller here: driver.devices.caller
            self.drivers[name] = driver
        return driver

    def created(self, name: str) -> Any:
        """The driver of device ``name`` if something has used the device yet, else None."""
        return self.drivers.get(name)

    def attach(self, head: str) -> Chan:
        """A channel on the root of ``#name.spec`` (``head`` includes the ``#``)."""
        name, _, spec = head[1:].partition(".")
        chan = self.driver(name).attach(spec)
        chan.path = head
        return chan
