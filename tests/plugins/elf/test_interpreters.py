"""Dynamic ELF programs: the auxiliary vector, interpreters good and bad, with Linux as the oracle.

user/exectest.c prints what a program observes of its start (AT_PHDR, AT_ENTRY, AT_BASE being
its dynamic linker, AT_EXECFN, AT_SECURE, ...) and what execve says of ELF files whose PT_INTERP
is fine, missing, malformed, or names something that is not an interpreter. The same binaries
run natively and under kernkit (the dynamic ones with the host's libraries put in the namespace)
and must print the same lines.
"""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import USER_BIN, run_kernel
from support.oracle import need_native

from kernkit.core.errors import ProgramError

#: The host's libraries in the namespace, and the packaged programs at /kk (the host's /bin
#: takes the place of theirs).
HOST_ROOT = {"namespace__host": ["@userland"], "namespace__root": {"/kk": "@programs"}}
STATIC = ["exectest", "exectest-glibc"]
DYNAMIC = {"exectest-dyn": "/lib64/ld-linux-x86-64.so.2", "exectest-musl-dyn": "/lib/ld-musl-x86_64.so.1"}


def native(*args: str) -> str:
    need_native()
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def needs_interpreter(program: str) -> None:
    interpreter = DYNAMIC.get(program)
    if interpreter is not None and not Path(interpreter).exists():
        pytest.skip(f"{program} needs {interpreter} on the host (apt-get install libc6 musl)")


def under_kernkit(program: str, *args: str, **options) -> str:
    if program in DYNAMIC:
        options = {**HOST_ROOT, **options}
    run = run_kernel(str(USER_BIN / program), *args, **options)
    assert run.status == 0, run.err
    return run.out


@pytest.mark.parametrize("program", STATIC + list(DYNAMIC))
def test_the_auxiliary_vector_is_what_linux_gives(program):
    needs_interpreter(program)
    expected = native(USER_BIN / program, "aux")
    assert under_kernkit(program, "aux") == expected
    if program in DYNAMIC:
        assert f"interpreter {DYNAMIC[program]}\n" in expected
        assert "the dynamic linker's list has an object at AT_BASE: yes" in expected


def test_at_secure_is_set_when_the_real_and_effective_ids_differ():
    need_native(root=True)
    expected = native(USER_BIN / "exectest", "secure")
    assert expected == "AT_SECURE 1 with real uid 1000 and effective uid 0\n"
    assert under_kernkit("exectest", "secure") == expected


@pytest.mark.parametrize("program", ["exectest", "exectest-dyn"])
def test_elf_files_with_good_and_bad_interpreters_fare_as_on_linux(program, tmp_path):
    """Missing (ENOENT), malformed PT_INTERP (ENOEXEC, EIO past the end of the file), a
    directory or a file nobody may execute (EACCES), no ELF or another machine (ELIBBAD), a
    static program as interpreter (it runs), overlapping segments (the later wins)."""
    needs_interpreter(program)
    need_native(root=True)
    expected = native(USER_BIN / program, "elf", tmp_path, USER_BIN / "exectest")
    for fact in (
        "PT_INTERP of 1 byte:\n  execve: ENOEXEC",
        "past the end of the file:\n  execve: EIO",
        "not there:\n  execve: ENOENT",
        "another machine:\n  execve: ELIBBAD",
    ):
        assert fact in expected
    assert (
        under_kernkit(program, "elf", "/tmp", "/kk/exectest" if program in DYNAMIC else "/bin/exectest")
        == expected
    )


def test_a_guest_exec_of_a_dynamic_program_without_its_interpreter_is_enoent():
    """Without the host's libraries in the namespace, a guest's execve of a dynamic program
    fails with ENOENT, as Linux's does when the interpreter is missing."""
    run = run_kernel(str(USER_BIN / "exectest"), "try", "/bin/exectest-dyn", "/bin/exectest-musl-dyn")
    assert run.status == 0, run.err
    assert run.out == "/bin/exectest-dyn:\n  execve: ENOENT\n/bin/exectest-musl-dyn:\n  execve: ENOENT\n"


def test_maps_name_the_interpreter():
    needs_interpreter("exectest-dyn")
    run = run_kernel("/bin/cat", "/proc/self/maps", **HOST_ROOT)
    assert run.status == 0, run.err
    lines = run.out.splitlines()
    interpreter = [line for line in lines if line.endswith("/ld-linux-x86-64.so.2")]
    assert [line.split()[1] for line in interpreter][:2] == ["r--p", "r-xp"], run.out
    assert any(line.endswith("/libc.so.6") for line in lines), run.out


# --- bad ELF files: errors, never a panic -----------------------------------------------------

EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")
EXIT_0 = bytes([0xB8, 0x3C, 0, 0, 0, 0x31, 0xFF, 0x0F, 0x05])
#: The whole file, readable and executable, at 0x20000000 (its code at file offset 0x200).
LOAD = (1, 5, 0, 0x20000000, 0x1000, 0x1000)


def elf_file(segments: list[tuple], etype: int = 2) -> bytes:
    """A 4 KiB ELF64 x86-64 file with program headers ``segments`` (type, flags, offset, vaddr,
    filesz, memsz) whose entry, at file offset 0x200, calls exit(0)."""
    ident = b"\x7fELF\x02\x01\x01" + bytes(9)
    header = EHDR.pack(ident, etype, 62, 1, 0x20000200, 64, 0, 0, 64, 56, len(segments), 0, 0, 0)
    table = b"".join(PHDR.pack(t, f, o, v, v, fs, ms, 0x1000) for t, f, o, v, fs, ms in segments)
    data = bytearray(0x1000)
    data[: len(header)] = header
    data[64 : 64 + len(table)] = table
    data[0x200 : 0x200 + len(EXIT_0)] = EXIT_0
    return bytes(data)


def boot_file(path: Path, data: bytes) -> tuple[str, int | str]:
    """Boot the file as init: ("refused", the one-line reason) or ("ran", its exit status)."""
    path.write_bytes(data)
    path.chmod(0o755)
    try:
        run = run_kernel(str(path), kernel__max_instructions=2_000_000)
    except ProgramError as exc:
        assert "\n" not in str(exc)
        return "refused", str(exc)
    assert "Traceback" not in run.err and "kernel panic" not in run.err, run.err
    return "ran", run.status


HUGE = (1, 6, 0, 0x20001000, 0, 0x7FFF_FFFF_F000)


@pytest.mark.parametrize(
    ("segments", "outcome"),
    [
        ([LOAD, HUGE], ("refused", "lies outside user memory")),
        ([LOAD, (1, 6, 0, 0xFFFF_FFFF_FFFF_F000, 0x10, 0x10)], ("refused", "lies outside user memory")),
        ([LOAD, (1, 6, 0, 0x20001000, 0x2000, 0x1000)], ("refused", "truncated or inconsistent segment")),
        ([LOAD, (1, 6, 0x800, 0x20001000, 0x1000, 0x1000)], ("refused", "truncated or inconsistent segment")),
        ([LOAD, LOAD], ("ran", 0)),
        # the later segment wins the pages it shares, as on Linux: the code is no longer executable
        ([LOAD, (1, 6, 0, 0x20000000, 0x800, 0x3000)], ("ran", 139)),
    ],
)
def test_huge_overlapping_and_inconsistent_segments(tmp_path, segments, outcome):
    kind, detail = boot_file(tmp_path / "prog", elf_file(segments))
    assert kind == outcome[0]
    assert detail == outcome[1] if kind == "ran" else outcome[1] in detail


def test_a_guest_exec_of_an_elf_file_with_a_huge_segment_is_enoexec(tmp_path):
    """Linux kills the caller after the point of no return; kernkit checks first, so execve
    returns ENOEXEC and the caller goes on."""
    directory = tmp_path / "bad"
    directory.mkdir()
    (directory / "huge").write_bytes(elf_file([LOAD, HUGE]))
    (directory / "huge").chmod(0o755)
    run = run_kernel(
        str(USER_BIN / "exectest"),
        "try",
        "/bad/huge",
        namespace__root={"/bin": "@programs", "/bad": str(directory)},
    )
    assert run.out == "/bad/huge:\n  execve: ENOEXEC\n"


interpreter_text = st.one_of(
    st.binary(max_size=80),
    st.sampled_from(
        [
            b"\0",
            b"/\0",
            b"/tmp\0",
            b"/bin/hello\0",
            b"/proc/self/exe\0",
            b"x" * 5000 + b"\0",
            b"/bin/../bin/hello\0",
            b"#tmpfs\0",
            b"/dev/null\0",
            b"/proc/1/mem\0",
            b"/bin/exectest-dyn\0",
        ]
    ),
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    text=interpreter_text,
    offset=st.one_of(st.sampled_from([0x300, 0xFF0, 0x1000, 1 << 40]), st.integers(0, 0x2000)),
    length=st.one_of(st.none(), st.integers(0, 1 << 33)),
    etype=st.sampled_from([2, 3]),
)
def test_random_interpreters_never_crash_the_kernel(tmp_path, text, offset, length, etype):
    """PT_INTERPs of random bytes, lengths and offsets (past the file, not NUL-terminated,
    naming directories, devices, /proc files, programs, dynamic ones): refused in one line, or
    run (and then an exit or a kill), never a panic or a traceback."""
    data = bytearray(elf_file([(3, 4, offset, 0, len(text) if length is None else length, 0), LOAD], etype))
    if offset + len(text) <= len(data):
        data[offset : offset + len(text)] = text
    boot_file(tmp_path / "prog", bytes(data))
