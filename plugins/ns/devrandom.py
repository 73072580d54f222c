"""#random: deterministic random bytes (random, urandom), from ``[kernel] seed`` and a counter."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from kernkit.core.devices import DMDEVICE, Chan
from kernkit.plugins.ns.synthetic import SyntheticDevice, SynthFile

if TYPE_CHECKING:
    from kernkit.core.kernel import Kernel

#: One read returns at most this much, as Linux's /dev/random does per call.
MAX_READ = 1 << 20


class RandomDevice(SyntheticDevice):
    """Every read takes the next block of one stream: the same seed and the same order of reads
    give the same bytes, run after run."""

    def __init__(self, kernel: Kernel) -> None:
        super().__init__(
            kernel,
            [
                SynthFile("random", read=self._read, perm=0o444, kind=DMDEVICE),
                SynthFile("urandom", read=self._read, perm=0o444, kind=DMDEVICE),
            ],
        )
        self.reads = 0

    def _read(self, chan: Chan, count: int, offset: int) -> bytes:
        self.reads += 1
        seed = f"{self.kernel.config['kernel'].seed}:#random:{self.reads}".encode()
        return hashlib.shake_256(seed).digest(min(count, MAX_READ))
