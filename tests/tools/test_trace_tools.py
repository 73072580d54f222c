"""Traces as timelines (Chrome/Perfetto JSON) and as a summary table."""

from __future__ import annotations

import json

from support import CONFIGS, kernkit_cli


def test_perfetto_trace_has_a_track_per_core_with_what_ran(tmp_path):
    path = tmp_path / "t.json"
    result = kernkit_cli(
        "boot",
        "--set",
        "machine.cores=2",
        "--trace",
        str(path),
        "--trace-format",
        "perfetto",
        "--",
        "procs",
        "threads",
        "4",
    )
    assert result.returncode == 0
    events = json.loads(path.read_text())["traceEvents"]
    tracks = {e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert tracks == {"core 0: procs 1", "core 1: procs 1"}
    runs = [e for e in events if e["ph"] == "X" and e["cat"] == "run"]
    assert {e["tid"] for e in runs} == {0, 1}
    assert all(e["name"].startswith("procs 1.") and e["dur"] > 0 for e in runs)
    syscalls = [e for e in events if e["ph"] == "X" and e["cat"] == "syscall"]
    assert {"clone", "futex", "exit_group"} <= {e["name"] for e in syscalls}
    for call in syscalls:  # each syscall is a slice inside the run that made it
        assert any(r["tid"] == call["tid"] and r["ts"] <= call["ts"] <= r["ts"] + r["dur"] + 1e-6 for r in runs)
    for core in (0, 1):  # spans on one core never overlap
        spans = sorted((e["ts"], e["ts"] + e["dur"]) for e in runs if e["tid"] == core)
        assert all(
            a_end <= b_start + 1e-6 for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False)
        )


def test_summary_counts_syscalls_and_core_use(tmp_path):
    path = tmp_path / "t.jsonl"
    kernkit_cli("boot", "--set", "machine.cores=2", "--trace", str(path), "--", "procs", "fork")
    traced = [json.loads(line) for line in path.read_text().splitlines()]
    result = kernkit_cli("trace", "summary", str(path))
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert lines[0].startswith("virtual time: ")
    parent = next(line for line in lines if line.split()[:2] == ["1", "procs"])
    count = sum(1 for e in traced if e["ev"] == "syscall" and e["pid"] == 1)
    assert int(parent.split()[2]) == count
    assert any(line.split()[:2] == ["2", "procs"] for line in lines)  # the forked child
    assert lines[-2].split()[0] == "0" or lines[-1].split()[0] in ("0", "1")


def test_converting_a_saved_trace(tmp_path):
    path = tmp_path / "t.jsonl"
    kernkit_cli("boot", "--trace", str(path))
    result = kernkit_cli("trace", "perfetto", str(path), "-o", str(tmp_path / "t.json"))
    assert result.returncode == 0
    assert json.loads((tmp_path / "t.json").read_text())["displayTimeUnit"] == "ns"


def test_bad_trace_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"t": 0, "ev": "boot"}\nnot json\n')
    result = kernkit_cli("trace", "summary", str(path))
    assert result.returncode == 2
    assert result.stderr.decode().startswith(f"kernkit: error: {path}:2: not a kernkit trace line")


def test_perfetto_shows_the_mcp_demo_vcores_kernel_messages_and_preemptions(tmp_path):
    """provision_demo on 4 cores: B holds cores 1-3, A is provisioned pcores 2 and 3 and gets
    them by preempting B's vcores 1 and 2."""
    path = tmp_path / "t.json"
    result = kernkit_cli(
        "boot",
        "--trace",
        str(path),
        "--trace-format",
        "perfetto",
        str(CONFIGS / "akaros.toml"),
        "--",
        "provision_demo",
    )
    assert result.returncode == 0, result.stderr.decode()
    events = json.loads(path.read_text())["traceEvents"]
    tracks = {e["tid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert tracks[1] == "core 1: provision_demo 2 vc0"  # B's vcore 0 never leaves pcore 1
    assert "provision_demo 3 vc0" in tracks[2] and "provision_demo 3 vc1" in tracks[3]
    assert "provision_demo 2 vc" in tracks[2] and "provision_demo 2 vc" in tracks[3]
    runs = [e for e in events if e["ph"] == "X" and e["cat"] == "run"]
    on_1 = {e["name"].rsplit(".", 1)[0] + " " + e["name"].split()[-1] for e in runs if e["tid"] == 1}
    assert on_1 == {"provision_demo 2 vc0"}
    assert all(e["args"]["vcore"] == int(e["name"].split("vc")[-1]) for e in runs if " vc" in e["name"])
    instants = [e for e in events if e["ph"] == "i"]

    def on(core: int, kind: str) -> list[str]:
        return [e["name"] for e in instants if e["tid"] == core and e["cat"] == kind]

    # a kernel message shows on the core it was sent to; grants and preemptions on the pcore
    assert "kmsg __startcore from core 0" in on(1, "kmsg")
    assert on(2, "provision") == ["provision to provision_demo 3"] == on(3, "provision")
    for core in (2, 3):
        assert "kmsg __preempt from core 0" in on(core, "kmsg")
        assert on(core, "preempt_warn") == ["preempt warning to provision_demo 2 (pid 3 is owed it)"]
        assert len(on(core, "vcore_preempt")) == 1 and on(core, "vcore_preempt")[0].endswith(
            "preempted (provision_demo 2)"
        )
        assert "grant to provision_demo 3" in on(core, "grant") and "release by provision_demo 3" in on(
            core, "release"
        )
    assert on(2, "vcore_preempt") != on(3, "vcore_preempt")  # vc1 on one, vc2 on the other
    assert {e["cat"] for e in instants} >= {"notify", "event", "change_to_m", "vcore_start"}
    # the preemption comes after the warning, on the same core, and A runs there after it
    warn = next(e["ts"] for e in instants if e["tid"] == 2 and e["cat"] == "preempt_warn")
    preempt = next(e["ts"] for e in instants if e["tid"] == 2 and e["cat"] == "vcore_preempt")
    first_a = min(e["ts"] for e in runs if e["tid"] == 2 and e["args"]["pid"] == 3)
    assert warn < preempt <= first_a
