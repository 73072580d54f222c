"""The kernel's device table: drivers made from the registered Device records, on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kernkit.core.devices import Chan, DeviceError, check_caller_parameters

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel


class Devices:
    """Per kernel: one driver per device."""

    def __init__(self, kernel: Kernel) -> None:
        self.kernel = kernel
        self.drivers: dict[str, Any] = {}

    def driver(self, name: str) -> Any:
        """The driver of device ``name``; DeviceError ENOENT naming the known ones if there is none."""
        driver = self.drivers.get(name)
        if driver is None:
            registered = self.kernel.registries["device"].get(name)
            if registered is None:
                known = ", ".join(f"#{n}" for n in sorted(self.kernel.registries["device"]))
                raise DeviceError("ENOENT", f"no device #{name} (known: {known})")
            driver = registered.record.create(self.kernel)
            check_caller_parameters(driver, name)
            driver.name = name
            driver.devices = self
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
