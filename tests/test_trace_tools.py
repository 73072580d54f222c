"""Traces as timelines (Chrome/Perfetto JSON) and as a summary table."""

from __future__ import annotations

import json

from conftest import kernkit_cli


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
    assert tracks == {"core 0", "core 1"}
    runs = [e for e in events if e["ph"] == "X"]
    assert {e["tid"] for e in runs} == {0, 1}
    assert all(e["name"].startswith("procs 1.") and e["dur"] > 0 for e in runs)
    syscalls = [e for e in events if e["ph"] == "i" and e["cat"] == "syscall"]
    assert {"clone", "futex", "exit_group"} <= {e["name"] for e in syscalls}
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
