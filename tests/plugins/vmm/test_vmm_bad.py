"""Bad input to the vmm plugin, through a real guest (user/guest/badguest.c) and a real VMM
(user/vmm/vmmcheck.c): a guest that faults, jumps where nothing is mapped or floods exits stops
with a reason; a VMM passing bad arguments gets an errno; the kernel survives both."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile
from support import run_kernel

from kernkit.arch.x86_64.guest import EXIT_LIMIT
from kernkit.plugins.vmm import read_vmexits

ROOT = Path(__file__).resolve().parents[3]
VMM = ROOT / "configs" / "vmm.toml"


def _guest_main() -> int:
    with (ROOT / "user" / "bin" / "badguest").open("rb") as f:
        return ELFFile(f).get_section_by_name(".symtab").get_symbol_by_name("guest_main")[0]["st_value"]


GUEST_MAIN = _guest_main()


def rip(offset: int) -> str:
    """The guest address ``offset`` bytes into badguest's guest_main (its entry code may grow)."""
    return f"rip {GUEST_MAIN + offset:#x}"


def vmmcheck(mode: str, *args: str, **settings: object):
    return run_kernel("vmmcheck", "/bin/badguest", mode, *args, config=VMM, **settings)


def exit_counts(run) -> dict[str, list[int]]:
    rows = read_vmexits(run.kernel, run.kernel.init).splitlines()[2:]
    return {row.split()[0]: [int(n) for n in row.split()[1:]] for row in rows}


def test_a_well_behaved_guest_exits_through_vmcall():
    run = vmmcheck("ok")
    assert run.status == 0, run.err
    assert run.out == "badguest: ok\nvmmcheck: guest exited with status 0 after 27 exits\n"
    assert run.err == ""


@pytest.mark.parametrize(
    ("mode", "stopped"),
    [
        # no IDT: an invalid opcode (vector 6) becomes a triple fault, rip at the ud2
        ("ud2", "triple_fault (exit reason 0x2), vector 6, qualification 0, guest va 0, guest pa 0, " + rip(0x78)),
        # a load from a non-canonical address is a #GP (13), before any paging
        ("gp", "triple_fault (exit reason 0x2), vector 13, qualification 0, guest va 0x800000000000, "
         "guest pa 0, " + rip(0x130)),
        # the guest's tables map the hole above its 16 MiB of RAM: the fetch is an EPT violation
        # (qualification 4: fetch) for the VMM to handle, at the guest-physical address
        ("hole", "ept_violation (exit reason 0x30), vector 0, qualification 0x4, guest va 0x1001000, "
         "guest pa 0x1001000, rip 0x1001000"),
        # past what the guest's own tables map: a page fault (14), which with no IDT is a triple fault
        ("unmapped", "triple_fault (exit reason 0x2), vector 14, qualification 0, guest va 0x40000000, "
         "guest pa 0, rip 0x40000000"),
        ("noncanonical", "triple_fault (exit reason 0x2), vector 13, qualification 0, guest va 0x800000000000, "
         "guest pa 0, rip 0x800000000000"),
        # with an IDT loaded the same ud2 is an exception exit the VMM could reflect into the guest
        ("idt-ud2", "exception (exit reason 0), vector 6, qualification 0, guest va 0, guest pa 0, " + rip(0x128)),
    ],
)  # fmt: skip
def test_a_guest_that_faults_or_jumps_nowhere_stops_with_its_reason(mode, stopped):
    run = vmmcheck(mode)
    assert run.status == 3, run.err
    assert run.out == f"vmmcheck: guest stopped: {stopped}, after 0 exits\n"
    assert run.err == ""  # nothing for the kernel to report: the VMM got the exit
    name = stopped.split()[0]
    assert exit_counts(run)[name] == [0, 1]


def test_a_vmm_that_unmaps_guest_memory_under_its_guest_gets_an_ept_violation():
    """The guest's page-table walk reaches a guest-physical page with nothing behind it any more
    (the VMM unmapped it): an EPT violation (read) at the table's guest-physical address."""
    run = vmmcheck("unmap")
    assert run.status == 3, run.err
    assert run.out.splitlines() == [
        "vmmcheck: munmap of guest memory: accepted",
        "vmmcheck: guest stopped: ept_violation (exit reason 0x30), vector 0, qualification 0x1, "
        "guest va 0x100000, guest pa 0x1000, " + rip(0x53) + ", after 1 exits",
    ]


def test_a_guest_flooding_exits_is_stopped_at_the_exit_limit_while_others_run():
    """A tight OUT loop with no end: every instruction is an exit the VMM resumes. With
    ``[vmm] max_exits`` the kernel stops the guest pcore, says so once, and vmm_run returns
    EXIT_LIMIT from then on; a process beside it (same core, a short tick so they alternate
    many times) finishes its work meanwhile."""
    run = vmmcheck("flood", vmm__max_exits=20000, sched__mcp__tick_us=50, also=[["spin", "20000"]])
    assert run.status == 3, run.err
    assert "spin 20000 result 21486502112819\n" in run.out
    assert run.others[0].exit_status == 0
    assert (
        "vmmcheck: guest stopped: exit_limit (exit reason 0x10002), vector 0, qualification 0, guest va 0, "
        "guest pa 0, " + rip(0x2A) + ", after 20000 exits\n"
        "vmmcheck: vmm_run again: exit_limit (exit reason 0x10002)\n"  # stopped for good
    ) in run.out
    assert run.err == (
        "kernkit: vmm: pid 1 (vmmcheck): guest pcore 0 stopped after 20000 exits to the VMM "
        "([vmm] max_exits = 20000), at " + rip(0x2A) + "\n"
    )
    assert exit_counts(run)["io"] == [0, 20000]
    assert exit_counts(run)["exit_limit"] == [0, 2]


def test_without_an_exit_limit_a_flood_ends_at_the_instruction_budget():
    run = vmmcheck("flood", kernel__max_instructions=200_000)
    assert run.status == 124
    assert run.err == (
        "kernkit: instruction budget exhausted after 200000 instructions "
        "(raise it with --max-instructions or [kernel] max_instructions)\n"
    )
    assert exit_counts(run)["io"][1] > 1000


CALLS = """\
vmmcheck: vmm_run before vmm_add_gpcs: ENOENT
vmmcheck: vmm_add_gpcs from an unmapped address: EFAULT
vmmcheck: vmm_add_gpcs of 0 guest pcores: EINVAL
vmmcheck: vmm_add_gpcs over read-only memory: EINVAL
vmmcheck: vmm_add_gpcs with a non-canonical entry: EINVAL
vmmcheck: vmm_add_gpcs with cr3 outside guest memory: EINVAL
vmmcheck: vmm_run with a trapframe at an unmapped address: EFAULT
vmmcheck: vmm_run with a read-only trapframe: EFAULT
vmmcheck: vmm_run with a non-canonical rip: EINVAL
vmmcheck: vmm_run with rflags.VM set: EINVAL
vmmcheck: vmm_run with a reserved rflags bit: EINVAL
vmmcheck: vmm_run with cr3 outside guest memory: EINVAL
vmmcheck: vmm_run with an unaligned cr3: EINVAL
vmmcheck: vmm_run with another gpcoreid in the trapframe: EINVAL
vmmcheck: vmm_run with unknown trapframe flags: EINVAL
vmmcheck: vmm_run of guest pcore 1 (there is one): ENOENT
vmmcheck: vmm_run of guest pcore -1: ENOENT
vmmcheck: vmm_poke_guest of guest pcore 1: ENOENT
vmmcheck: vmm_poke_guest of guest pcore -1: ENOENT
vmmcheck: vmm_ctl with an unknown command: EINVAL
vmmcheck: vmm_ctl asking for unknown exits: EINVAL
badguest: ok
vmmcheck: guest exited with status 0 after 27 exits
"""


def test_a_vmm_passing_bad_arguments_gets_errors_and_its_guest_runs_on_untouched():
    """Every refused call leaves the guest pcore as it was: after them all the guest resumes from
    its first exit and runs as it does undisturbed, with the same exits (a read-only trapframe
    is refused before the guest runs, not after it ran and its exit could not be written)."""
    run = vmmcheck("calls")
    assert run.status == 0, run.err
    assert run.out == CALLS
    assert run.err == ""
    assert exit_counts(run) == exit_counts(vmmcheck("ok"))


def test_the_c_interface_names_the_exit_limit_as_the_kernel_does():
    header = (ROOT / "user" / "vmm" / "vmm_abi.h").read_text()
    assert f"#define EXIT_REASON_EXIT_LIMIT {EXIT_LIMIT:#x} " in header


# A guest kernel ELF file is the VMM's untrusted input: each malformed one below, made from
# user/bin/guest, is refused with one line naming the file and what is wrong, and exit status 1;
# never a fault of the VMM (the kernel would report it on stderr) or a write outside guest memory.
GUEST = (ROOT / "user" / "bin" / "guest").read_bytes()
EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
PH0 = EHDR.unpack_from(GUEST)[5]  # e_phoff: the first program header, the code segment
GUEST_MEM = 16 << 20


def patched(*fields: tuple[int, str, int]) -> bytes:
    """user/bin/guest with each (offset, struct format, value) written in."""
    image = bytearray(GUEST)
    for offset, fmt, value in fields:
        struct.pack_into("<" + fmt, image, offset, value)
    return bytes(image)


def segment0(field: str, value: int) -> tuple[int, str, int]:
    offsets = {"p_offset": 8, "p_paddr": 24, "p_filesz": 32, "p_memsz": 40}
    return (PH0 + offsets[field], "Q", value)


_, P_FLAGS, P_OFFSET, _, P_PADDR, P_FILESZ, P_MEMSZ, _ = PHDR.unpack_from(GUEST, PH0)
assert P_FLAGS & 1 and P_FILESZ > 0x100, "user/bin/guest's first segment is its code"

BAD_GUESTS = {
    "not-elf": (b"#!/bin/sh\necho not a kernel\n" * 4, "not an ELF file"),
    "short": (GUEST[:40], "40 bytes are too short for an ELF header"),
    "32-bit": (patched((4, "B", 1)), "not a little-endian 64-bit x86-64 ELF (class 1, data 1, machine 62)"),
    "arm64": (
        patched((18, "H", 183)),
        "not a little-endian 64-bit x86-64 ELF (class 2, data 1, machine 183)",
    ),
    "huge-phoff": (
        patched((32, "Q", 1 << 63)),
        f"the program headers (2 of 56 bytes at file offset 0x8000000000000000) end past the end of the "
        f"file ({len(GUEST):#x} bytes)",
    ),
    "many-phdrs": (
        patched((56, "H", 0xFFFF)),
        f"the program headers (65535 of 56 bytes at file offset 0x40) end past the end of the file "
        f"({len(GUEST):#x} bytes)",
    ),
    "small-phentsize": (patched((54, "H", 8)), "program header entries of 8 bytes (expected 56)"),
    "truncated": (
        GUEST[: P_OFFSET + 0x80],
        f"segment 0 ({P_FILESZ:#x} bytes at file offset {P_OFFSET:#x}) ends past the end of the file "
        f"({P_OFFSET + 0x80:#x} bytes)",
    ),
    "huge-offset": (
        patched(segment0("p_offset", 2**64 - 0x10)),
        f"segment 0 ({P_FILESZ:#x} bytes at file offset 0xfffffffffffffff0) ends past the end of the file "
        f"({len(GUEST):#x} bytes)",
    ),
    "memsz-0": (
        patched(segment0("p_memsz", 0)),
        f"segment 0 has more bytes in the file ({P_FILESZ:#x}) than in memory (0)",
    ),
    "paddr-wraps": (
        patched(segment0("p_paddr", 2**64 - 0x1000)),
        f"segment 0 ({P_MEMSZ:#x} bytes at guest-physical 0xfffffffffffff000) does not fit in guest memory "
        f"({GUEST_MEM:#x} bytes)",
    ),
    "paddr-at-the-end": (
        patched(segment0("p_paddr", GUEST_MEM - 0x1000)),
        f"segment 0 ({P_MEMSZ:#x} bytes at guest-physical {GUEST_MEM - 0x1000:#x}) does not fit in guest "
        f"memory ({GUEST_MEM:#x} bytes)",
    ),
    "huge-memsz": (
        patched(segment0("p_memsz", 2**64 - 1)),
        f"segment 0 (0xffffffffffffffff bytes at guest-physical {P_PADDR:#x}) does not fit in guest memory "
        f"({GUEST_MEM:#x} bytes)",
    ),
    "over-page-tables": (
        patched(segment0("p_paddr", 0x2000)),
        f"segment 0 ({P_MEMSZ:#x} bytes at guest-physical 0x2000) overlaps the page tables (0x1000-0x3fff)",
    ),
    "entry-outside": (
        patched((24, "Q", 0x40000000)),
        "the entry point 0x40000000 is not in the file bytes of an executable segment",
    ),
    "entry-in-bss": (
        patched((24, "Q", P_PADDR + P_FILESZ)),
        f"the entry point {P_PADDR + P_FILESZ:#x} is not in the file bytes of an executable segment",
    ),
    "no-load": (patched((PH0, "I", 0)), "no loadable segment"),
}


def boot_vmm(tmp_path, vmm: str, image: bytes, *, also=()):
    (tmp_path / "kernel").write_bytes(image)
    return run_kernel(
        vmm, "/t/kernel", config=VMM, namespace__root={"/bin": "@programs", "/t": str(tmp_path)}, also=also
    )


@pytest.mark.parametrize("case", BAD_GUESTS)
def test_a_malformed_guest_kernel_is_refused_with_one_line(tmp_path, case):
    image, why = BAD_GUESTS[case]
    run = boot_vmm(tmp_path, "vmrunkernel", image)
    assert (run.status, run.out, run.err) == (1, f"vmrunkernel: cannot load /t/kernel: {why}\n", "")


def test_vmmcheck_loads_guests_with_the_same_checks(tmp_path):
    image, why = BAD_GUESTS["paddr-wraps"]
    (tmp_path / "kernel").write_bytes(image)
    run = run_kernel(
        "vmmcheck", "/t/kernel", "ok", config=VMM, namespace__root={"/bin": "@programs", "/t": str(tmp_path)}
    )
    assert (run.status, run.out, run.err) == (1, f"vmmcheck: cannot load /t/kernel: {why}\n", "")


def test_the_kernel_runs_on_after_a_refused_guest(tmp_path):
    """The refused VMM ends with its exit status; a process beside it on the same core (a short
    tick so that they alternate) finishes its work."""
    (tmp_path / "kernel").write_bytes(BAD_GUESTS["huge-phoff"][0])
    run = run_kernel(
        "spin", "20000", config=VMM, namespace__root={"/bin": "@programs", "/t": str(tmp_path)},
        also=[["vmrunkernel", "/t/kernel"]], sched__mcp__tick_us=50,
    )  # fmt: skip
    assert run.status == 0
    assert run.others[0].exit_status == 1
    assert "spin 20000 result 21486502112819\n" in run.out
    assert "vmrunkernel: cannot load /t/kernel: the program headers" in run.out
    assert run.err == ""


def test_a_guest_kernel_that_cannot_be_read_is_named_with_the_error(tmp_path):
    run = run_kernel(
        "vmrunkernel", "/t/missing", config=VMM, namespace__root={"/bin": "@programs", "/t": str(tmp_path)}
    )
    assert (run.status, run.out) == (1, "vmrunkernel: cannot read /t/missing: ENOENT\n")
    run = run_kernel(
        "vmrunkernel", "/t", config=VMM, namespace__root={"/bin": "@programs", "/t": str(tmp_path)}
    )
    assert (run.status, run.out) == (1, "vmrunkernel: cannot read /t: EISDIR\n")


def test_the_unpatched_guest_still_boots_from_the_same_place(tmp_path):
    """The patching above starts from a kernel the loader accepts, so each case fails for its one field."""
    run = boot_vmm(tmp_path, "vmrunkernel", GUEST)
    assert run.status == 0, run.out
    assert run.out.startswith("vmrunkernel: /t/kernel loaded, entry 0x100000, 1 guest pcore\n")
    assert run.out.splitlines()[-2:][0] == "guest: timer off after 3 ticks"
    assert run.out.splitlines()[-1].startswith("vmrunkernel: guest done, ")
