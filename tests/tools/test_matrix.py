"""kernkit matrix: variants x workloads in parallel, statuses, reports, history."""

from __future__ import annotations

import json
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from support import CONFIGS, kernkit_cli, kernkit_process, read_until

from kernkit.tools.matrix.spec import load_matrix


def write(path, text):
    path.write_text(text)
    return path


HELLO = '[[workload]]\nname = "hello"\nprogram = "hello"\nexpect_output = "Hello from kernkit!\\n"\n'


def test_example_matrix_expands_product_minus_excludes_plus_includes():
    matrix = load_matrix(CONFIGS / "matrix.toml")
    assert len(matrix.cells) == (3 * 2 - 1 + 1) * 3
    assert "hello[cores=2,timeslice_us=1000]" in {c.id for c in matrix.cells}
    assert "hello[cores=1,timeslice_us=1000]" not in {c.id for c in matrix.cells}
    assert "fork[cores=2,mode=fast]" in {c.id for c in matrix.cells}


def test_example_matrix_passes_and_writes_reports(tmp_path):
    result = kernkit_cli(
        "matrix",
        str(CONFIGS / "matrix.toml"),
        "--json",
        str(tmp_path / "r.json"),
        "--junit",
        str(tmp_path / "r.xml"),
        "--db",
        str(tmp_path / "h.db"),
    )
    assert result.returncode == 0, result.stdout.decode()
    assert result.stdout.decode().splitlines()[-1] == "summary: 18 PASS of 18 cells"
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["schema"] == "kernkit-matrix/1" and report["summary"]["PASS"] == 18
    cell = next(c for c in report["cells"] if c["id"] == "threads[cores=4,timeslice_us=1000]")
    assert cell["status"] == "PASS" and cell["instructions"] > 0 and len(cell["trace_hash"]) == 64
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite.get("tests") == "18" and suite.get("failures") == "0"
    case = suite.find("testcase[@name='hello[cores=4,timeslice_us=10000]']")
    assert {p.get("name"): p.get("value") for p in case.iter("property")}["machine.cores"] == "4"


def test_statuses_pass_fail_error_miss(tmp_path):
    matrix = write(
        tmp_path / "m.toml",
        f'''base = "{CONFIGS / "minimal.toml"}"
[axes]
"machine.cores" = [1, 0]
{HELLO}
[[workload]]
name = "wrong"
program = "exitcode"
args = ["4"]
[[workload]]
name = "runaway"
program = "spin"
args = ["1000000000000"]
timeout_s = 1
''',
    )
    result = kernkit_cli(
        "matrix", str(matrix), "-j", "2", "--json", str(tmp_path / "r.json"), "--db", str(tmp_path / "h.db")
    )
    assert result.returncode == 1
    cells = {c["id"]: c for c in json.loads((tmp_path / "r.json").read_text())["cells"]}
    assert cells["hello[cores=1]"]["status"] == "PASS"
    assert cells["wrong[cores=1]"]["status"] == "FAIL"
    assert cells["wrong[cores=1]"]["reason"] == "exit status 4, expected 0"
    assert cells["hello[cores=0]"]["status"] == "ERROR"
    assert "machine.cores: must be positive, got 0" in cells["hello[cores=0]"]["reason"]
    assert cells["runaway[cores=1]"]["status"] == "MISS"
    assert cells["runaway[cores=1]"]["reason"] == "no result within 1 s of host time"


def test_filter_and_compare_with_the_previous_run(tmp_path):
    db = str(tmp_path / "h.db")
    base = f'base = "{CONFIGS / "minimal.toml"}"\n[axes]\n"machine.cores" = [1, 2]\n'
    matrix = write(tmp_path / "m.toml", base + HELLO)
    first = kernkit_cli("matrix", str(matrix), "--db", db, "--compare", "last")
    assert b"no previous run to compare" in first.stdout
    write(matrix, base + HELLO.replace("Hello from kernkit!", "Goodbye"))
    second = kernkit_cli("matrix", str(matrix), "--db", db, "--compare", "last", "--filter", "*cores=2*")
    lines = second.stdout.decode().splitlines()
    assert lines[0].startswith("[1/1] FAIL  hello[cores=2]")
    assert (
        "now failing  hello[cores=2]: FAIL (output differs from expect_output: "
        "line 1 is 'Hello from kernkit!\\n', expected 'Goodbye\\n')"
    ) in lines


def test_compare_reports_a_regression_with_its_numbers(tmp_path):
    """A run that costs three times the instructions (a longer loop) is a regression, named with
    the figures before and after; a run that costs less or the same is not."""
    db = str(tmp_path / "h.db")
    spin = (
        f'base = "{CONFIGS / "minimal.toml"}"\n[[workload]]\nname = "spin"\nprogram = "spin"\nargs = ["%d"]\n'
    )
    matrix = tmp_path / "m.toml"
    figures = []
    for rounds in (100_000, 300_000, 300_000, 100_000):
        write(matrix, spin % rounds)
        result = kernkit_cli(
            "matrix", str(matrix), "--db", db, "--compare", "last", "--json", str(tmp_path / "r.json")
        )
        assert result.returncode == 0, result.stdout.decode()
        (cell,) = json.loads((tmp_path / "r.json").read_text())["cells"]
        figures.append((cell, result.stdout.decode().splitlines()))
    (before, _), (after, lines) = figures[0], figures[1]
    assert after["instructions"] > 2.9 * before["instructions"]
    regressions = [line for line in lines if line.startswith("regression")]
    assert regressions == [
        f"regression   spin: {metric} {before[metric]} -> {after[metric]} "
        f"(+{(after[metric] - before[metric]) / before[metric]:.0%})"
        for metric in ("virtual_ns", "instructions")
    ]
    assert figures[2][1][-1] == figures[3][1][-1] == "no changes since the previous run"


def test_malformed_matrix_is_a_one_line_error(tmp_path):
    matrix = write(tmp_path / "m.toml", '[axes]\n"machine.cores" = 2\n' + HELLO)
    result = kernkit_cli("matrix", str(matrix))
    assert result.returncode == 2
    assert result.stderr.decode() == (
        f'kernkit: error: {matrix}: axes: expected a table of non-empty lists, e.g. "machine.cores" = [1, 2]\n'
    )


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.add(int(entry.name))
    return found


@pytest.mark.parametrize(
    ("signum", "word"),
    [(signal.SIGINT, b"interrupted"), (signal.SIGTERM, b"terminated"), (signal.SIGHUP, b"hung up")],
    ids=["SIGINT", "SIGTERM", "SIGHUP"],
)
def test_a_stop_signal_ends_cleanly_and_keeps_finished_results(tmp_path, signum, word):
    """Ctrl-C, SIGTERM and SIGHUP alike: the finished cell is in the JSON and the history, the
    workers are gone at once, and the status says which signal (128 + N)."""
    matrix = write(
        tmp_path / "m.toml",
        f'''base = "{CONFIGS / "minimal.toml"}"
[axes]
"machine.cores" = [1, 2, 3, 4]
{HELLO}
[[workload]]
name = "slow"
program = "spin"
args = ["300000000"]
''',
    )
    with kernkit_process(
        "matrix", str(matrix), "-j", "1", "--json", str(tmp_path / "r.json"), "--db", str(tmp_path / "h.db")
    ) as process:
        read_until(process.stdout, b"[1/8] ")  # hello[cores=1] is done; the slow cell runs now
        workers = _children(process.pid)
        assert workers
        process.send_signal(signum)
        out, err = process.communicate(timeout=60)
        alive = {pid for pid in workers if Path(f"/proc/{pid}").exists()}
    assert process.returncode == 128 + signum, err
    assert word in err and b"Traceback" not in err
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["summary"]["PASS"] == 1 and report["summary"]["SKIP"] == 7
    assert report["cells"][0]["id"] == "hello[cores=1]" and report["cells"][0]["status"] == "PASS"
    with sqlite3.connect(tmp_path / "h.db") as db:
        assert db.execute("select count(*) from runs").fetchone()[0] == 1
    assert not alive, f"workers still running: {alive}"  # gone on their own, before the clean-up


def test_html_report_renders_in_a_real_browser(tmp_path):
    import shutil

    import pytest

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    html = tmp_path / "r.html"
    result = kernkit_cli(
        "matrix",
        str(CONFIGS / "matrix.toml"),
        "--html",
        str(html),
        "--filter",
        "hello*",
        "--db",
        str(tmp_path / "h.db"),
    )
    assert result.returncode == 0
    assert "http" not in html.read_text().split("<body>")[0]  # nothing fetched from elsewhere
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    dom = subprocess.run([browser, *flags, "--dump-dom", html.as_uri()], capture_output=True, timeout=120)
    text = dom.stdout.decode()
    assert "kernkit matrix: matrix.toml" in text and "6 PASS" in text
    assert text.count('class="status"') == 6
    shot = tmp_path / "r.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=1000,700", html.as_uri()],
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_cells_run_on_a_dask_cluster(tmp_path):
    import pytest

    distributed = pytest.importorskip("distributed", reason="pip install distributed (kernkit[dask])")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        result = kernkit_cli(
            "matrix",
            str(CONFIGS / "matrix.toml"),
            "--executor",
            "dask",
            "--scheduler",
            cluster.scheduler_address,
            "--json",
            str(tmp_path / "r.json"),
            "--db",
            str(tmp_path / "h.db"),
        )
    assert result.returncode == 0, result.stdout.decode()[-1500:] + result.stderr.decode()[-1500:]
    local = kernkit_cli(
        "matrix",
        str(CONFIGS / "matrix.toml"),
        "--json",
        str(tmp_path / "l.json"),
        "--db",
        str(tmp_path / "h.db"),
    )
    assert local.returncode == 0
    dask_cells = {c["id"]: c for c in json.loads((tmp_path / "r.json").read_text())["cells"]}
    local_cells = {c["id"]: c for c in json.loads((tmp_path / "l.json").read_text())["cells"]}
    assert {c["status"] for c in dask_cells.values()} == {"PASS"}
    deterministic = [i for i in local_cells if "mode=fast" not in i]
    assert all(dask_cells[i]["trace_hash"] == local_cells[i]["trace_hash"] for i in deterministic)


def test_dask_needs_a_scheduler():
    result = kernkit_cli("matrix", str(CONFIGS / "matrix.toml"), "--executor", "dask")
    assert result.returncode == 2
    assert result.stderr.decode() == "kernkit: error: --executor dask needs --scheduler tcp://HOST:PORT\n"


def test_progress_bar_shows_counts_and_cells_that_did_not_pass(tmp_path):
    matrix = write(
        tmp_path / "m.toml",
        f'base = "{CONFIGS / "minimal.toml"}"\n'
        + HELLO
        + '[[workload]]\nname = "bad"\nprogram = "exitcode"\n',
    )
    result = kernkit_cli("matrix", str(matrix), "--progress", "bar", "--db", str(tmp_path / "h.db"))
    out = result.stdout.decode()
    assert "1 FAIL 1 PASS" in out and "2/2" in out
    assert re.search(r"\[\d/2\] FAIL  bad +exit status 3, expected 0", out)
    assert out.splitlines()[-1].endswith("summary: 1 PASS, 1 FAIL of 2 cells")


def test_virtual_time_budget_and_chosen_metrics(tmp_path):
    matrix = write(
        tmp_path / "m.toml",
        f'''base = "{CONFIGS / "minimal.toml"}"
[[workload]]
name = "runaway"
program = "spin"
args = ["100000000"]
expect_status = 124
max_virtual_ms = 2
metrics = ["instructions"]
''',
    )
    result = kernkit_cli(
        "matrix", str(matrix), "--json", str(tmp_path / "r.json"), "--db", str(tmp_path / "h.db")
    )
    assert result.returncode == 0, result.stdout.decode()
    (cell,) = json.loads((tmp_path / "r.json").read_text())["cells"]
    assert cell["status"] == "PASS" and cell["instructions"] == 2_000_000  # 2 ms at 1e9 instructions/s
    assert cell["syscalls"] is None and cell["virtual_ns"] is None


def test_expected_failures_skips_options_and_argv0(tmp_path):
    matrix = write(
        tmp_path / "m.toml",
        f'''base = "{CONFIGS / "minimal.toml"}"
[[workload]]
name = "still-broken"
program = "exitcode"
args = ["4"]
xfail = "exits 4 until someone fixes it"
[[workload]]
name = "fixed-now"
program = "hello"
expect_output = "Hello from kernkit!\\n"
xfail = "was broken"
[[workload]]
name = "absent"
program = "hello"
skip = "needs a program this machine lacks"
[[workload]]
name = "renamed"
program = "echo_args"
argv0 = "another-name"
options = {{ "machine.cores" = 2, "init.env" = ["ONLY=this"] }}
expect_output = "argc=1\\nargv[0]=another-name\\nenv=ONLY=this\\n"
''',
    )
    result = kernkit_cli(
        "matrix", str(matrix), "--json", str(tmp_path / "r.json"), "--junit", str(tmp_path / "r.xml"),
        "--db", str(tmp_path / "h.db"),
    )  # fmt: skip
    assert result.returncode == 1  # the expected failure that passes fails the run
    cells = {c["id"]: c for c in json.loads((tmp_path / "r.json").read_text())["cells"]}
    assert cells["still-broken"]["status"] == "XFAIL"
    assert cells["still-broken"]["reason"] == "exits 4 until someone fixes it: exit status 4, expected 0"
    assert cells["fixed-now"]["status"] == "XPASS"
    assert cells["fixed-now"]["reason"] == "passes, but is marked expected-fail (was broken)"
    assert (
        cells["absent"]["status"] == "SKIP"
        and cells["absent"]["reason"] == "needs a program this machine lacks"
    )
    assert cells["renamed"]["status"] == "PASS", cells["renamed"]
    suite = ET.parse(tmp_path / "r.xml").getroot().find("testsuite")
    assert suite.get("failures") == "1" and suite.get("skipped") == "2"
    assert suite.find("testcase[@name='fixed-now']/failure") is not None
    assert suite.find("testcase[@name='still-broken']/skipped").get("message").startswith("XFAIL: exits 4")
    write(matrix, matrix.read_text().replace('xfail = "was broken"\n', ""))
    again = kernkit_cli("matrix", str(matrix), "--db", str(tmp_path / "h.db"), "--compare", "last")
    assert again.returncode == 0, again.stdout.decode()
    assert "now passing  fixed-now: was an expected failure" not in again.stdout.decode()
    assert "fixed        fixed-now: was XPASS" in again.stdout.decode()


def test_cells_report_the_calls_that_answered_enosys(tmp_path):
    from kernkit.tools.matrix.worker import run_cell

    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox is needed (apt-get install busybox-static)")
    cell = load_matrix(
        write(
            tmp_path / "m.toml",
            f'base = "{CONFIGS / "minimal.toml"}"\n[[workload]]\nname = "bb"\nprogram = "{busybox}"\n'
            'args = ["echo", "hi"]\nargv0 = "busybox"\nexpect_output = "hi\\n"\n',
        )
    ).cells[0]
    result = run_cell(cell.as_dict())
    assert result["status"] == "PASS", result
    assert result["enosys"]["334"] >= 1  # rseq: glibc registers none and goes on


def test_a_host_command_talks_to_the_guest_through_a_forward(tmp_path):
    from kernkit.tools.matrix.worker import run_cell

    busybox = shutil.which("busybox")
    if busybox is None:
        pytest.skip("busybox is needed (apt-get install busybox-static)")
    client = (
        "import socket, sys, time\n"
        "for _ in range(300):\n"
        "    try:\n"
        "        s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
        "        s.sendall(b'ping from the host\\n'); s.shutdown(socket.SHUT_WR)\n"
        "        data = b''.join(iter(lambda: s.recv(100), b''))\n"
        "        if data: print('host got', data.decode().strip()); break\n"
        "    except OSError: pass\n"
        "    time.sleep(0.1)\n"
    )
    matrix = write(
        tmp_path / "m.toml",
        f'''base = "{CONFIGS / "minimal.toml"}"
[[workload]]
name = "nc"
program = "{busybox}"
argv0 = "busybox"
args = ["sh", "-c", "echo pong | busybox nc -l -p 8080"]
options = {{ "namespace.root" = {{ "/bin/busybox" = "{busybox}" }}, "net.forward" = [{{ host = "127.0.0.1:0", guest = 8080 }}] }}
host_command = ["{sys.executable}", "-c", {json.dumps(client)}, "{{port}}"]
expect_output = "ping from the host\\nhost got pong\\n"
timeout_s = 120
''',
    )
    result = run_cell(load_matrix(matrix).cells[0].as_dict())
    assert result["status"] == "PASS", result


def test_unittest_outputs_are_judged_by_the_tests_that_pass():
    from kernkit.tools.matrix.judge import judge_tests, unittest_results

    expected = (
        "test_a (test.test_x.T.test_a) ... ok\n"
        "test_b (test.test_x.T.test_b)\nDocstring line ... ok\n"
        "test_c (test.test_x.T.test_c) ... skipped 'no network'\n"
        "test_d (test.test_x.T.test_d) ... FAIL\n"
    )
    assert unittest_results(expected) == {
        "test.test_x.T.test_a": "passed",
        "test.test_x.T.test_b": "passed",
        "test.test_x.T.test_c": "skipped",
        "test.test_x.T.test_d": "failed",
    }
    assert judge_tests(expected, expected).status == "PASS"
    half = expected.replace("test_b)\nDocstring line ... ok", "test_b)\nDocstring line ... ERROR")
    verdict = judge_tests(expected, half)
    assert verdict.status == "FAIL"
    assert verdict.reason.startswith("1 of the 2 tests expected to pass pass (50%")
    assert verdict.details["tests"] == {
        "passed": 1, "failed": 2, "skipped": 1, "expected_passed": 2, "expected_passed_passing": 1,
    }  # fmt: skip


def test_a_missing_matrix_file_is_called_a_matrix_file(tmp_path):
    result = kernkit_cli("matrix", str(tmp_path / "nosuch.toml"))
    assert result.returncode == 2
    assert result.stderr.decode() == f"kernkit: error: {tmp_path / 'nosuch.toml'}: no such matrix file\n"
    result = kernkit_cli("matrix", "/dev/zero")
    assert result.stderr.decode() == "kernkit: error: /dev/zero: not a regular file; a matrix is a TOML file\n"
