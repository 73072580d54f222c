"""A guest that faults, passes garbage pointers or runs away: reported, contained, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from support import USER_BIN, kernkit_cli, one_line_error, run_kernel

FAULTS = {
    # mode: (exit status, signal name, what the report says, instruction mnemonic)
    "null": (139, "SIGSEGV", "page fault, not mapped at 0x0 (read)", "mov"),
    "write-ro": (139, "SIGSEGV", "page fault, read-only page", "mov"),
    # a read-only page the first read brought in: the entry that read filled must not allow writes
    "write-after-read": (139, "SIGSEGV", "page fault, read-only page at 0x7f0000000000 (write)", "mov"),
    "jump": (139, "SIGSEGV", "page fault, not mapped at 0x12345000 (exec)", "no code mapped"),
    # the first kernel address, and the first past the user half
    "kernel": (139, "SIGSEGV", "page fault, kernel address at 0xffff800000000000 (read)", "mov"),
    "noncanonical": (139, "SIGSEGV", "page fault, non-canonical address at 0x800000000000 (read)", "mov"),
    # the last page below the user limit: canonical, so merely not mapped
    "top": (139, "SIGSEGV", "page fault, not mapped at 0x7ffffffff000 (read)", "mov"),
    # code in pages that may be read and written but not executed (NX)
    "exec-stack": (139, "SIGSEGV", "page fault, page not executable at 0x7fff", "ret"),
    "exec-data": (139, "SIGSEGV", "page fault, page not executable at 0x7f", "ret"),
    "ud2": (132, "SIGILL", "invalid opcode", "ud2"),
    "div0": (136, "SIGFPE", "divide error", "div"),
    "hlt": (139, "SIGSEGV", "general protection fault", "hlt"),
}
#: Modes whose faulting pc is outside the program's code, so the report cannot name a symbol.
OUTSIDE_THE_PROGRAM = {"jump", "exec-stack", "exec-data"}


@pytest.fixture(params=["native", "pure-python"])
def tlb_fill(request, monkeypatch):
    """Each way a TLB miss is filled: present pages in C (when built) or everything in Python."""
    if request.param == "pure-python":
        monkeypatch.setenv("KERNKIT_PURE_PYTHON", "1")
    return request.param


@pytest.mark.parametrize("mode", FAULTS)
def test_fault_kills_the_process_with_a_report(mode, tlb_fill):
    status, signal, what, mnemonic = FAULTS[mode]
    run = run_kernel("fault", mode)
    assert run.status == status
    assert run.out == f"fault: about to {mode}\n"
    lines = run.err.splitlines()
    assert lines[0].startswith(f"kernkit: pid 1 (fault) killed by {signal}: ")
    assert what in lines[0]
    assert lines[1].startswith("kernkit:   pc 0x")
    assert mnemonic in lines[1]
    assert "<main+0x" in lines[1] or mode in OUTSIDE_THE_PROGRAM  # symbolised from the ELF
    assert "rsp=0x7fff" in lines[2]
    assert "Traceback" not in run.err


def test_kernel_survives_a_faulting_process():
    run = run_kernel("spin", "3000000", also=[["fault", "null"]])
    (victim,) = run.others
    assert run.status == 0
    assert victim.exit_status == 139 and victim.kill_reason.startswith("pid 2 (fault) killed by SIGSEGV")
    assert b"spin 3000000 result" in run.stdout


def test_garbage_pointer_gives_efault():
    run = run_kernel("fault", "efault")
    assert run.status == 0
    assert "efault ret=-1 errno=14" in run.out


def test_unknown_syscalls_return_enosys_and_are_counted():
    run = run_kernel("sysfuzz", stdin=b"1f4 0 0 0 0 0 0\n1f4 1 2 3 4 5 6\n", trace=True)
    assert run.out.splitlines()[:2] == ["1f4 -> -38", "1f4 -> -38"]
    assert run.kernel.dispatcher.unknown == {0x1F4: 2}
    assert run.trace.count('"ev":"unknown_syscall"') == 2


def test_runaway_guest_hits_the_instruction_budget():
    run = run_kernel("spin", "100000000", kernel__max_instructions=2_000_000)
    assert run.status == 124
    assert run.err.strip() == (
        "kernkit: instruction budget exhausted after 2000000 instructions "
        "(raise it with --max-instructions or [kernel] max_instructions)"
    )


def test_budget_from_the_command_line():
    result = kernkit_cli("boot", "--max-instructions", "100000", "--", str(USER_BIN / "spin"))
    assert result.returncode == 124
    assert b"instruction budget exhausted after 100000 instructions" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a program this kernel can load"),
        (b"#!/bin/sh\necho hi\n", "interpreter /bin/sh: not in the namespace; bind the host's programs"),
        (b"#!  \necho hi\n", "the #! line names no interpreter"),
        (b"#!" + b"/x" * 200, "the #! line is too long (its interpreter's path is cut off)"),
        (b"\x7fELF" + b"\x01\x01\x01" + bytes(57), "32-bit little-endian ELF file"),
        (b"\x7fELF\x02\x01\x01" + bytes(57), "bad program header table"),
    ],
)
def test_bad_program_files_are_one_line_errors(tmp_path, content, message):
    path = tmp_path / "bad"
    path.write_bytes(content)
    result = kernkit_cli("boot", "--", str(path))
    assert result.returncode == 2
    err = result.stderr.decode()
    assert err.count("\n") == 1 and err.startswith(f"kernkit: error: {path}: ")
    assert message in err


def test_truncated_elf_is_rejected(tmp_path):
    data = (USER_BIN / "hello").read_bytes()
    path = tmp_path / "truncated"
    path.write_bytes(data[: len(data) // 3])
    result = kernkit_cli("boot", "--", str(path))
    assert result.returncode == 2
    assert b"truncated or inconsistent segment" in result.stderr


def test_elf_for_another_machine_is_rejected(tmp_path):
    data = bytearray((USER_BIN / "hello").read_bytes())
    data[18:20] = (183).to_bytes(2, "little")  # EM_AARCH64
    path = tmp_path / "arm"
    path.write_bytes(bytes(data))
    result = kernkit_cli("boot", "--", str(path))
    assert result.returncode == 2
    assert b"ELF for machine 183, but this kernel's architecture is x86_64 (e_machine 62)" in result.stderr


def test_a_dynamic_program_without_its_interpreter_is_one_line_naming_it():
    import shutil

    ls = shutil.which("ls")
    if ls is None:
        pytest.skip("no dynamically linked host program to try")
    from elftools.elf.elffile import ELFFile

    with open(ls, "rb") as stream:
        interpreter = next(s for s in ELFFile(stream).iter_segments() if s["p_type"] == "PT_INTERP")
        name = interpreter.get_interp_name()
    message = one_line_error(kernkit_cli("boot", "--", ls))
    assert message.startswith(f"{Path(ls).resolve()}: interpreter {name}: not in the namespace")
    assert message.endswith(
        "bind the host's programs and libraries with [namespace] host (kernkit boot --host-root)"
    )


def test_missing_program_lists_the_packaged_ones():
    result = kernkit_cli("boot", "--", "no-such-program")
    assert result.returncode == 2
    message = result.stderr.decode()
    assert "no-such-program: no such program file (packaged programs: " in message
    listed = message.split("(packaged programs: ", 1)[1].rstrip(")\n").split(", ")
    assert listed == sorted(listed) and {"hello", "echo_args", "ls", "cat"} <= set(listed)


def test_out_of_memory_kills_only_the_process():
    run = run_kernel("memtest", machine__memory="2M")
    assert run.status == 137
    assert run.err.splitlines()[0].startswith(
        "kernkit: pid 1 (memtest) killed by SIGKILL: out of memory at 0x"
    )


def test_machine_too_small_to_boot_is_a_config_error():
    result = kernkit_cli("boot", "--set", "machine.memory=1M")
    assert result.returncode == 2
    assert result.stderr.decode() == (
        "kernkit: error: <command line>: machine.memory: the x86_64 machine needs at least 2M "
        "(its first 1M is the machine's own)\n"
    )


def test_a_kernel_error_while_filling_the_tlb_is_not_lost(monkeypatch, tlb_fill):
    """An exception inside the emulator's TLB-fill callback cannot propagate through C: it is kept
    and raised when the run returns, a kernel panic naming the bug (not a guest fault)."""
    from kernkit.core.vm import AddressSpace

    resolve = AddressSpace.resolve_fault

    def broken(self, va, access):  # noqa: ANN001, ANN202
        if "_fill" not in sys._getframe(1).f_code.co_name:  # the kernel's own copies work
            return resolve(self, va, access)
        raise RuntimeError("a bug in the pager")

    monkeypatch.setattr(AddressSpace, "resolve_fault", broken)
    run = run_kernel("memtest")
    assert run.status == 70 and run.err.startswith(
        "kernkit: kernel panic: RuntimeError: a bug in the pager\n"
    )
    assert "killed by SIGSEGV" not in run.err
