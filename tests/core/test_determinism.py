"""The same config and inputs give the same output and the same trace."""

from __future__ import annotations

import hashlib
import json

from support import CONFIGS, kernkit_cli, run_kernel


def test_two_runs_give_identical_traces():
    first = run_kernel("clock", trace=True)
    second = run_kernel("clock", trace=True)
    assert first.trace == second.trace
    assert first.kernel.tracer.digest == second.kernel.tracer.digest
    assert first.kernel.instructions == second.kernel.instructions
    assert first.out == second.out


def test_trace_lines_are_canonical_json_and_the_digest_covers_them_all():
    # syscall events are formatted by hand (it keeps traced syscalls cheap) and lines are hashed in
    # batches: the text must be what json.dumps writes, and the digest that of the whole text
    run = run_kernel("threads", "pingpong", "300", trace=True, machine__cores=2)
    lines = run.trace.splitlines()
    assert len(lines) > 1000 and sum('"ev":"syscall"' in line for line in lines) > 600
    for line in lines:
        assert json.dumps(json.loads(line), separators=(",", ":")) == line
    assert run.kernel.tracer.digest == hashlib.sha256(run.trace.encode()).hexdigest()
    assert run.kernel.tracer.events == len(lines)
    assert list(run.kernel.tracer.recent) == lines[-200:]


def test_trace_records_syscalls_states_and_exit_in_virtual_time():
    run = run_kernel("hello", trace=True)
    events = [json.loads(line) for line in run.trace.splitlines()]
    kinds = {e["ev"] for e in events}
    assert {"boot", "spawn", "state", "syscall", "exit"} <= kinds
    writes = [e for e in events if e["ev"] == "syscall" and e["name"] == "writev"]
    assert writes and writes[0]["ret"] == len("Hello from kernkit!\n")
    times = [e["t"] for e in events]
    assert times == sorted(times)
    states = [(e["from"], e["to"]) for e in events if e["ev"] == "state"]
    assert states[0] == ("CREATED", "RUNNABLE_S") and states[-1][1] == "DYING"


def random_bytes(seed: int) -> dict[str, list[bytes]]:
    """What ``vmcheck random`` saw under ``[kernel] seed``: AT_RANDOM, then two getrandom calls."""
    run = run_kernel("vmcheck", "random", kernel__seed=seed)
    assert run.status == 0, run.err
    seen: dict[str, list[bytes]] = {}
    for line in run.out.splitlines():
        source, value = line.split()
        seen.setdefault(source, []).append(bytes.fromhex(value))
    assert [len(v) for v in seen["AT_RANDOM"] + seen["getrandom"]] == [16, 16, 16]
    return seen


def test_the_seed_alone_decides_the_random_bytes():
    one, again, two = random_bytes(1), random_bytes(1), random_bytes(2)
    assert one == again  # reproducible
    for source in ("AT_RANDOM", "getrandom"):
        assert set(one[source]).isdisjoint(two[source]), source  # another seed, other bytes
    first, second = one["getrandom"]
    assert first != second  # successive calls differ
    for value in (first, second, *one["AT_RANDOM"]):
        assert len(set(value)) > 8, value.hex()  # spread out, not zeros or a repeated byte


def test_trace_file_from_the_command_line(tmp_path):
    traces = []
    for name in ("one.jsonl", "two.jsonl"):
        path = tmp_path / name
        result = kernkit_cli("boot", "--trace", str(path), "--", "clock")
        assert result.returncode == 0
        traces.append(path.read_text())
    assert traces[0] == traces[1]
    assert all(json.loads(line)["t"] >= 0 for line in traces[0].splitlines())


def test_rdtsc_reads_virtual_time(tmp_path):
    # a program that reads the time-stamp counter twice around a fixed loop
    import shutil
    import subprocess

    if shutil.which("musl-gcc") is None:
        import pytest

        pytest.skip("musl-gcc is not installed (apt-get install musl-tools)")
    source = tmp_path / "tsc.c"
    source.write_text(
        "#include <stdio.h>\n#include <x86intrin.h>\n"
        "int main(void){unsigned long long a=__rdtsc(); volatile unsigned s=0;"
        "for(unsigned i=0;i<1000000;i++) s+=i; unsigned long long b=__rdtsc();"
        'printf("%llu\\n", b-a); return 0;}\n'
    )
    binary = tmp_path / "tsc"
    subprocess.run(["musl-gcc", "-O1", "-static", "-o", str(binary), str(source)], check=True)
    first, second = (run_kernel(str(binary)) for _ in range(2))
    assert first.status == 0 and first.out == second.out
    assert 1_000_000 < int(first.out) < 20_000_000


def test_time_never_goes_backwards_within_a_thread():
    run = run_kernel("vmcheck", "time")
    assert run.out == "time backwards=0\n"


def test_an_rdtsc_that_straddles_two_pages_is_answered():
    """The kernel reads the trapped instruction across the page boundary to know it is rdtsc."""
    run = run_kernel("vmcheck", "tscedge")
    assert (run.status, run.out) == (0, "tscedge: rdtsc across two pages ran\n"), run.err


def test_time_never_goes_backwards_when_threads_move_between_cores():
    run = run_kernel("vmcheck", "time", machine__cores=2, also=[["vmcheck", "time"]] * 2)
    assert run.status == 0
    assert run.out.splitlines()[0] == "time backwards=0"


def test_trace_events_carry_the_time_they_happened():
    run = run_kernel("clock", trace=True)
    times = [json.loads(line)["t"] for line in run.trace.splitlines()]
    assert len(set(times)) > len(times) // 2  # not all stamped with the round's start


def test_runs_on_a_core_never_overlap_in_time():
    """A run can retire one instruction past the quantum (a syscall right at the boundary); the
    core's next round starts that far in, so an MCP trace shows no two runs of a core at once."""
    import collections

    run = run_kernel("uthread_stress", config=CONFIGS / "akaros.toml", trace=True)
    assert run.status == 0, run.err
    runs = collections.defaultdict(list)
    for line in run.trace.splitlines():
        event = json.loads(line)
        if event["ev"] == "run":
            runs[event["core"]].append((event["start"], event["end"]))
    overshoots = 0
    for spans in runs.values():
        spans.sort()
        for (_, end), (start, _) in zip(spans, spans[1:], strict=False):
            assert start >= end, (end, start)
        overshoots += sum(1 for start, end in spans if (end - start) % 100_000 == 1)
    assert overshoots  # the case this is about happened
