"""Fixed addresses of the emulated x86-64 machine."""

from __future__ import annotations

#: Physical memory below this is the machine's own (GDT, boot stub, boot stacks).
RESERVED = 1 << 20
#: The smallest amount of memory above RESERVED worth booting with.
MIN_USER_MEMORY = 1 << 20
GDT = 0x1000
IRET_STUB = 0x2000
BOOT_STACKS = 0x10000

#: Kernel half: a direct map of physical memory, reachable only while a core boots.
KERNEL_BASE = 0xFFFF_8000_0000_0000
#: User programs live below this address (47-bit canonical lower half, minus a guard page).
USER_LIMIT = 0x0000_7FFF_FFFF_F000
#: The ``until`` address given to emu_start. Unicorn touches the page below any other value
#: when an exception ends a run, which would hide the real fault; reaching 0 is a fault anyway.
UNTIL = 0
#: Where a freshly booted core parks before any thread is loaded.
USER_PARK = 0x1000

#: User selectors as Linux numbers them (__USER_DS, __USER_CS): signal frames show them.
KERNEL_CS, KERNEL_SS, USER_SS, USER_CS = 0x08, 0x10, 0x2B, 0x33
GDT_ENTRIES = (
    0,
    0x00AF_9A00_0000_FFFF,  # 0x08 kernel code, 64-bit
    0x00CF_9200_0000_FFFF,  # 0x10 kernel data
    0,
    0,  # 0x20: Linux's 32-bit user code; none here (a far jump to it faults)
    0x00CF_F200_0000_FFFF,  # 0x28 user data (DPL 3)
    0x00AF_FA00_0000_FFFF,  # 0x30 user code, 64-bit (DPL 3)
)
GDT_LIMIT = len(GDT_ENTRIES) * 8 - 1
IRETQ = b"\x48\xcf"

CR4_TSD = 1 << 2  # rdtsc faults in ring 3, so the kernel can answer with virtual time
CR4_OSFXSR = 1 << 9
CR4_OSXMMEXCPT = 1 << 10
CR4_FSGSBASE = 1 << 16  # rdfsbase/wrfsbase in ring 3: user-level threads switch TLS without a syscall
CR4_FLAGS = CR4_TSD | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_FSGSBASE


def boot_stack_top(core: int) -> int:
    return BOOT_STACKS + (core + 1) * 0x1000
