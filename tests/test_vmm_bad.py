"""Bad input to the vmm plugin, through a real guest (user/guest/badguest.c) and a real VMM
(user/vmm/vmmcheck.c): a guest that faults, jumps where nothing is mapped or floods exits stops
with a reason; a VMM passing bad arguments gets an errno; the kernel survives both."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_kernel
from elftools.elf.elffile import ELFFile

from kernkit.arch.x86_64.guest import EXIT_LIMIT
from kernkit.plugins.vmm import read_vmexits

ROOT = Path(__file__).resolve().parent.parent
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
