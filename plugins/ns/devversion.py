"""#version: what kernel this is: ``version`` ("kernkit 0.1.0"), ``version_name``, ``contract``
(the hook contract), ``plugins`` (name, version, source of each) and ``kconfig`` (the resolved
config, as TOML)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kernkit.core import __version__
from kernkit.core.config import to_toml
from kernkit.core.devices import Chan
from kernkit.core.hookspecs import CONTRACT_VERSION
from kernkit.plugins.ns.synthetic import SyntheticDevice, SynthFile, text

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel


def kernkit_version() -> str:
    return __version__


class VersionDevice(SyntheticDevice):
    def __init__(self, kernel: Kernel) -> None:
        super().__init__(
            kernel,
            [
                SynthFile("version", read=text(lambda chan: f"kernkit {kernkit_version()}\n")),
                SynthFile("version_name", read=text(lambda chan: "kernkit\n")),
                SynthFile("contract", read=text(lambda chan: f"{CONTRACT_VERSION}\n")),
                SynthFile("plugins", read=text(self._plugins)),
                SynthFile("kconfig", read=text(lambda chan: to_toml(kernel.config.as_dict()))),
            ],
        )

    def _plugins(self, chan: Chan) -> str:
        return "".join(f"{info.name} {info.version} {info.source}\n" for info in self.kernel.plugins.plugins)
