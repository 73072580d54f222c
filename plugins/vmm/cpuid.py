"""CPUID as the kernel answers it for a guest pcore (never reflected to the VMM)."""

from __future__ import annotations

from collections.abc import Callable

VENDOR = b"KernkitVMM\0\0"  # leaf 0: ebx, edx, ecx
HYPERVISOR = b"kernkitvmm\0\0"  # leaf 0x40000000: ebx, ecx, edx
HYPERVISOR_PRESENT = 1 << 31  # leaf 1 ecx


def _words(text: bytes) -> tuple[int, int, int]:
    return tuple(int.from_bytes(text[i : i + 4], "little") for i in (0, 4, 8))  # type: ignore[return-value]


def cpuid_for(gpcoreid: int) -> Callable[[int, int], tuple[int, int, int, int]]:
    """Leaf 0: vendor; leaf 1: family 6, the gpcore id as APIC id, SSE/SSE2/FPU/TSC, the
    hypervisor bit; 0x40000000: kernkit's hypervisor signature; anything else: zeros."""

    def cpuid(leaf: int, _subleaf: int) -> tuple[int, int, int, int]:
        if leaf == 0:
            b, d, c = _words(VENDOR)
            return 1, b, c, d
        if leaf == 1:
            features_edx = 1 | 1 << 4 | 1 << 25 | 1 << 26  # fpu, tsc, sse, sse2
            return 0x0006_0F00, gpcoreid << 24 | 1 << 16, HYPERVISOR_PRESENT, features_edx
        if leaf == 0x4000_0000:
            b, c, d = _words(HYPERVISOR)
            return 0x4000_0000, b, c, d
        return 0, 0, 0, 0

    return cpuid
