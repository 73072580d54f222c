"""parlib (user/parlib) and its programs on the Akaros personality: SCPs, MCPs with vcores,
uthreads on the FIFO 2LS, notifications, provisioning, and the two benchmarks."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess

import pytest
from elftools.elf.elffile import ELFFile
from support import ROOT, USER_BIN, run_kernel

from kernkit.core.errors import ProgramError

AKAROS = {"kernel__personalities": ["linux", "akaros"]}
MCP4 = {**AKAROS, "sched__policy": "mcp", "machine__cores": 4}
PARLIB_PROGRAMS = (
    "scp_hello",
    "mcp_hello",
    "uthread_switch",
    "provision_demo",
    "interference",
    "uthread_stress",
    "parlib_check",
    "event_wakeup",
    "akaros_rules",
)


def json_line(out: str) -> dict:
    lines = [line for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == 1, out
    return json.loads(lines[0])


def syscalls_of(trace: str, pid: int = 1) -> list[str]:
    events = (json.loads(line) for line in trace.splitlines())
    return [e["name"] for e in events if e["ev"] == "syscall" and e["pid"] == pid]


def elf_notes(path) -> list[tuple[bytes, int, bytes]]:
    """(name, type, desc) of every note in the PT_NOTE segments, as the loader reads them."""
    notes = []
    with open(path, "rb") as f:
        for segment in ELFFile(f).iter_segments():
            if segment.header.p_type != "PT_NOTE":
                continue
            data, at = segment.data(), 0
            while at + 12 <= len(data):
                namesz, descsz, kind = struct.unpack_from("<III", data, at)
                name_at = at + 12
                desc_at = name_at + (namesz + 3) // 4 * 4
                notes.append((data[name_at : name_at + namesz], kind, data[desc_at : desc_at + descsz]))
                at = desc_at + (descsz + 3) // 4 * 4
    return notes


@pytest.mark.parametrize("program", PARLIB_PROGRAMS)
def test_parlib_programs_carry_the_akaros_note(program):
    assert elf_notes(USER_BIN / program) == [(b"kernkit\0", 1, b"akaros\0")]


def test_musl_programs_carry_no_note():
    assert elf_notes(USER_BIN / "pthread_switch") == []


def test_parlib_program_needs_the_akaros_personality():
    with pytest.raises(ProgramError, match="a program for the 'akaros' personality"):
        run_kernel("scp_hello")


def test_scp_hello_reads_procinfo_and_arguments():
    run = run_kernel("scp_hello", "a", "b c", **AKAROS)
    assert run.status == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "scp_hello: pid 1, ppid 0, pcore 0, vcore 0"
    assert lines[1].startswith("scp_hello: is_mcp 0, max_vcores ")
    assert lines[1].endswith("num_cores 1, tsc_freq 1000000000")
    assert lines[2:] == ["scp_hello: argv[1]=a", "scp_hello: argv[2]=b c", "scp_hello has 2 arguments"]


def test_parlib_printf_strings_and_malloc_match_c():
    run = run_kernel("parlib_check", **AKAROS)
    assert run.status == 0, run.out + run.err
    # the format results below are what glibc's snprintf prints for the same calls
    assert run.out.splitlines() == [
        "d: [42|-7|0] 7",
        "width: [   42|42   |-0042|+42| 42] 25",
        "precision: [007|    -007||ab] 16",
        "unsigned: [4000000000|18446744073709551615|123456789012|99] 47",
        "hex: [ff|FF|0xff|010|00abcdef|10] 26",
        "short: [44|4464|1] 9",
        "long: [-9223372036854775808|1234567890123|77] 37",
        "chars: [ok|  x|y  |%] 12",
        "strings: [abc|     right|left      |(null)] 32",
        "pointer: [0x1234] 6",
        "star: [     1|2   |xyz] 15",
        "truncate: [truncat] 14",
        "strlen: 0 6",
        "strcmp: 1 1 1",
        "strchr: llo lo",
        "strtol: -123 31 511 42",
        "memmove: ababcdef",
        "memcmp: 1 0",
        "malloc: 2074150 bytes in 900 blocks ok, realloc [keep me], calloc nonzero 0",
    ]


def test_mcp_hello_runs_uthreads_on_the_vcores_it_asked_for():
    run = run_kernel("mcp_hello", "3", "6", **MCP4)
    assert run.status == 0, run.out + run.err
    lines = run.out.splitlines()
    assert lines[:3] == [
        "mcp_hello: SCP pid 1 on pcore 0, max_vcores 3",
        "mcp_hello: MCP now, main thread on vcore 0 (pcore 1), is_mcp 1",
        "mcp_hello: asked for 3 vcores",
    ]
    ran = [
        re.fullmatch(r"mcp_hello: uthread (\d+) ran on vcore (\d+) \(pcore (\d+)\)", line)
        for line in lines[3:-1]
    ]
    assert all(ran), lines
    assert sorted(int(m[1]) for m in ran) == list(range(6))
    placement = {(int(m[2]), int(m[3])) for m in ran}
    # three vcores, each on its own core, none on core 0 (the ksched keeps it for SCPs)
    assert {v for v, _ in placement} == {0, 1, 2}
    assert {p for _, p in placement} == {1, 2, 3}
    assert len(placement) == 3
    assert lines[-1] == "mcp_hello: joined 6 uthreads; they ran on 3 distinct vcores"


def test_mcp_hello_with_one_core_to_spare_keeps_everything_on_vcore_0():
    run = run_kernel("mcp_hello", "3", "4", **{**MCP4, "machine__cores": 2})
    assert run.status == 0, run.out + run.err
    assert "max_vcores 1" in run.out
    assert run.out.count("ran on vcore 0 (pcore 1)") == 4
    assert run.out.endswith("they ran on 1 distinct vcores\n")


def test_mcp_hello_idle_vcores_yield_their_cores():
    run = run_kernel("mcp_hello", "3", "3", trace=True, **MCP4)
    assert run.status == 0
    events = [json.loads(line) for line in run.trace.splitlines()]
    assert [e["ev"] for e in events].count("vcore_yield") >= 1


def test_mcp_ends_with_its_last_uthread_when_main_leaves_first():
    run = run_kernel("mcp_hello", "3", "5", "detach", **MCP4)
    assert run.status == 0, run.out + run.err
    lines = run.out.splitlines()
    assert lines[3] == "mcp_hello: main thread leaves; the last uthread ends the process"
    assert sorted(int(re.search(r"uthread (\d+) ran", line)[1]) for line in lines[4:]) == list(range(5))


@pytest.mark.parametrize("args", [("0",), ("2", "0"), ("2", "5000"), ("2", "2", "join")])
def test_mcp_hello_refuses_bad_arguments(args):
    run = run_kernel("mcp_hello", *args, **MCP4)
    assert run.status == 2
    assert run.err.startswith("usage: mcp_hello")


def test_uthread_switch_reports_cycles_per_switch():
    run = run_kernel("uthread_switch", "2000", **MCP4)
    assert run.status == 0, run.out + run.err
    result = json_line(run.out)
    assert result["program"] == "uthread_switch"
    assert result["switches"] == 4000
    assert result["tsc_freq"] == 1_000_000_000
    assert 20 < result["cycles_per_switch"] < 500
    assert result["cycles_per_switch"] == pytest.approx(result["cycles"] / 4000, abs=0.01)
    assert "on vcore 0 (pcore 1), 1 vcore(s) online" in run.out


def test_uthread_switches_never_enter_the_kernel():
    few = run_kernel("uthread_switch", "200", trace=True, **MCP4)
    many = run_kernel("uthread_switch", "2000", trace=True, **MCP4)
    assert few.status == many.status == 0
    # ten times the switches, not one more system call
    assert syscalls_of(few.trace) == syscalls_of(many.trace)


def test_pthread_switch_is_the_linux_comparison():
    run = run_kernel("pthread_switch", "500", machine__cores=2)
    assert run.status == 0, run.err
    result = json_line(run.out)
    assert (result["program"], result["switches"]) == ("pthread_switch", 1000)
    assert result["cycles_per_switch"] > 0
    # every hand-over goes through the kernel
    traced = run_kernel("pthread_switch", "500", machine__cores=2, trace=True)
    assert syscalls_of(traced.trace).count("futex") >= 1000


def test_interference_on_mcp_cores_sees_no_gaps_while_core_0_is_busy():
    run = run_kernel("interference", "200", "100000", "2", "hogs=2", **MCP4)
    assert run.status == 0, run.out + run.err
    result = json_line(run.out)
    assert (result["mode"], result["vcores"], result["hogs"], result["threshold"]) == ("mcp", 2, 2, 200)
    assert result["gaps"] == 0 and result["stolen_cycles"] == 0 and result["histogram"] == {}
    assert {v["pcore"] for v in result["per_vcore"]} == {1, 2}
    assert result["reads"] > 2 * 100000 // 50


def test_interference_under_time_sharing_counts_the_stolen_time():
    run = run_kernel(
        "interference",
        "200",
        "400000",
        "hogs=1",
        **AKAROS,
        sched__rr__timeslice_us=50,
        machine__quantum=10_000,
    )
    assert run.status == 0, run.out + run.err
    result = json_line(run.out)
    # rr shares the one core with the spinning process, 50 us (50,000 cycles) each in turn
    assert result["gaps"] >= 3
    assert result["stolen_cycles"] >= result["gaps"] * 50_000
    assert result["stolen_cycles"] >= 400_000 * 4 // 10
    assert sum(result["histogram"].values()) == result["gaps"]
    assert {int(bucket) for bucket in result["histogram"]} <= {200 << k for k in range(16)}


def test_interference_background_load_is_gone_afterwards():
    run = run_kernel("interference", "200", "20000", "hogs=3", trace=True, **MCP4)
    assert run.status == 0
    exits = [json.loads(line) for line in run.trace.splitlines() if '"ev":"exit"' in line]
    assert sorted(e["pid"] for e in exits) == [1, 2, 3, 4]


def test_interference_scp_mode_and_bad_arguments():
    run = run_kernel("interference", "100", "20000", "3", "scp", **MCP4)
    assert run.status == 0
    result = json_line(run.out)
    assert (result["mode"], result["vcores"], result["gaps"]) == ("scp", 1, 0)
    assert result["per_vcore"][0]["pcore"] == 0
    for args in (("0",), ("200", "x"), ("1", "2", "3", "4"), ("hogs=17",), ("hogs=",)):
        bad = run_kernel("interference", *args, **MCP4)
        assert bad.status == 2 and bad.err.startswith("usage: interference"), args


PROVISION_DEMO = """\
provision_demo: parent pid 1, 4 cores
provision_demo: parent: created B (pid 2) and A (pid 3)
provision_demo: B (pid 2): 3 vcores online: vcore 0 on pcore 1, vcore 1 on pcore 2, vcore 2 on pcore 3
provision_demo: parent: provisioning pcores 2 and 3 to A: 0 0
provision_demo: parent: provisioning pcore 0 fails: -16, pcore 4: -6
provision_demo: A (pid 3): 2 vcores online: vcore 0 on pcore 2, vcore 1 on pcore 3
provision_demo: B (pid 2): 1 vcore online: vcore 0 on pcore 1
provision_demo: B (pid 2): EV_VCORE_PREEMPT events: 2
provision_demo: B (pid 2): vcore 1 preempted 1 time(s)
provision_demo: B (pid 2): vcore 2 preempted 1 time(s)
provision_demo: A (pid 3): exiting
provision_demo: parent: A exited with status 0
"""


def test_provision_demo_moves_provisioned_cores_between_mcps():
    run = run_kernel("provision_demo", **MCP4)
    assert run.status == 0, run.out + run.err
    assert run.out.startswith(PROVISION_DEMO)
    rest = run.out.removeprefix(PROVISION_DEMO).splitlines()
    # B gets both cores back, and the uthreads frozen by the preemption carry on
    assert re.fullmatch(
        r"provision_demo: B \(pid 2\): 3 vcores online: vcore 0 on pcore 1, "
        r"vcore 1 on pcore [23], vcore 2 on pcore [23]",
        rest[0],
    )
    assert rest[1:] == [
        "provision_demo: B (pid 2): 2 of 2 spinning uthreads running on",
        "provision_demo: parent: B exited with status 0",
    ]
    assert run_kernel("provision_demo", **MCP4).out == run.out  # the same every time


def test_provision_demo_needs_four_cores():
    run = run_kernel("provision_demo", **{**MCP4, "machine__cores": 2})
    assert (run.status, run.out) == (1, "provision_demo: needs 4 or more cores (this machine has 2)\n")


def test_a_waiting_mcp_wakes_up_for_an_event():
    run = run_kernel("event_wakeup", trace=True, **MCP4)
    assert run.status == 0, run.out + run.err
    lines = run.out.splitlines()
    assert lines[0] == "event_wakeup: child pid 2 is an MCP on pcore 1; waiting for an event"
    assert lines[1] == "event_wakeup: parent sends message 42"
    assert re.fullmatch(
        r"event_wakeup: child woke with message 42 on vcore 0 \(pcore [123]\), \d+ vcore entries so far",
        lines[2],
    )
    assert lines[3] == "event_wakeup: notify returned 0, child exited with status 0"
    events = [json.loads(line) for line in run.trace.splitlines()]
    states = [(e["from"], e["to"]) for e in events if e["ev"] == "state" and e["pid"] == 2]
    # all its vcores yielded: WAITING, holding no core, until the event with EVENT_WAKEUP
    at = states.index(("RUNNING_M", "WAITING"))
    assert states[at + 1 : at + 3] == [("WAITING", "RUNNABLE_M"), ("RUNNABLE_M", "RUNNING_M")]


def stress(*args: str, quantum: int = 100_000, cores: int = 4) -> dict[str, int]:
    run = run_kernel(
        "uthread_stress", *args, **{**MCP4, "machine__cores": cores, "machine__quantum": quantum}
    )
    assert run.status == 0, run.out + run.err
    assert run.out.endswith("uthread_stress: ok\n")
    stats = re.search(
        r"vcore entries (\d+), uthreads interrupted (\d+) \((\d+) while being restored\), "
        r"notifications found pending at the end of a restore (\d+)",
        run.out,
    )
    assert stats, run.out
    return dict(
        zip(("entries", "interrupted", "in_restore", "pending"), map(int, stats.groups()), strict=True)
    )


def test_mutex_condvar_and_join_survive_notifications_anywhere():
    # a small quantum puts notifications at many different instructions, inside the context
    # restore code too; the counters prove those windows were hit, "ok" that nothing was lost
    stats = stress("3", "6", "400", "1500", quantum=137)
    assert stats["interrupted"] > 500
    assert stats["in_restore"] > 0
    assert stats["pending"] > 0


def test_uthreads_in_an_scp_take_turns_on_its_core():
    run = run_kernel("uthread_stress", "0", "4", "300", "50", **MCP4)
    assert run.status == 0, run.out + run.err
    assert "vcore entries 0, uthreads interrupted 0" in run.out
    assert "counter 1200 of 1200, token passes 24 of 24" in run.out


def test_new_uthreads_start_on_the_stacks_of_joined_ones():
    """A uthread per short job (a uthread per connection, as uhttpd makes) maps no stack of its
    own once others were freed: each starts on a kept one (as an MCP with notifications flying
    and as an SCP), and the stack it finds works (it fills 8 KiB of it and sums them)."""
    runs = ((("3", "6", "400", "1500"), {**MCP4, "machine__quantum": 137}), (("0", "4", "300", "50"), MCP4))
    for args, settings in runs:
        run = run_kernel("uthread_stress", *args, **settings)
        assert run.status == 0, run.out + run.err
        assert "uthread_stress: 64 short uthreads, 64 on a kept stack\n" in run.out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("vcores", "threads", "quantum", "cores"), [(1, 4, 37, 2), (7, 20, 53, 8), (3, 8, 100_000, 4)]
)
def test_uthread_stress_variants(vcores, threads, quantum, cores):
    stats = stress(str(vcores), str(threads), "500", "2000", quantum=quantum, cores=cores)
    assert stats["interrupted"] > 0


def test_parlib_programs_rebuild_from_source(tmp_path):
    if shutil.which("gcc") is None or shutil.which("make") is None:
        pytest.skip("gcc and make are needed to rebuild the parlib programs (apt-get install gcc make)")
    target = tmp_path / "mcp_hello"
    subprocess.run(
        ["make", "-s", "-C", str(ROOT / "user"), f"OUT={tmp_path}", str(target)],
        check=True,
        capture_output=True,
    )
    run = run_kernel(str(target), "2", "2", **MCP4)
    assert run.status == 0 and run.out.endswith("they ran on 2 distinct vcores\n")
