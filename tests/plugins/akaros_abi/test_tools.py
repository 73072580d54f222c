"""Tools around MCPs: ``prov`` (provisioning from a guest), /proc/PID/mcp and the monitor's
``vcores`` command."""

from __future__ import annotations

from support import run_kernel
from support.akaros import MCP4, booted_mcp

from kernkit.core.monitor import run_command
from kernkit.core.programs import resolve_program


def test_prov_starts_a_program_on_the_cores_provisioned_to_it():
    run = run_kernel("prov", "-c", "2-3", "--", "/bin/mcp_hello", "2", "4", **MCP4)
    assert run.status == 0, run.err
    # without provisioning FCFS would give it pcores 1 and 2
    assert "uthread 0 ran on vcore 0 (pcore 2)" in run.out
    assert "uthread 1 ran on vcore 1 (pcore 3)" in run.out


def test_prov_s_shows_the_provisioning_map():
    run = run_kernel("prov", "-c", "1,3", "--", "/bin/prov", "-s", **MCP4)
    assert run.status == 0, run.err
    rows = {line.split()[0]: line.split()[1:] for line in run.out.splitlines()[1:]}
    assert run.out.splitlines()[0].split() == ["pcore", "provisioned", "allocated"]
    child = str(run.kernel.init.pid + 1)
    assert rows == {"0": ["-", "-"], "1": [child, "-"], "2": ["-", "-"], "3": [child, "-"]}


def test_prov_p_provisions_to_a_running_process_and_pid_0_undoes_it():
    run = run_kernel("prov", "-p", "1", "-m", **MCP4)
    assert run.status == 0, run.err
    assert run.kernel.scheduler.provisioning() == {}  # gone with the process
    run = run_kernel("prov", "-c", "2", "--", "/bin/prov", "-p", "0", "-c", "2", **MCP4)
    assert run.status == 0, run.err


def test_prov_errors():
    bad_core = run_kernel("prov", "-p", "1", "-c", "7", **MCP4)
    assert (bad_core.status, bad_core.err) == (1, "prov: core 7 to pid 1: no such core (ENXIO)\n")
    core0 = run_kernel("prov", "-p", "1", "-c", "0", **MCP4)
    assert core0.status == 1 and "management core (EBUSY)" in core0.err
    gone = run_kernel("prov", "-p", "99", "-c", "1", **MCP4)
    assert gone.status == 1 and "no such process (ESRCH)" in gone.err
    malformed = run_kernel("prov", "-p", "1", "-c", "1-x", **MCP4)
    assert (malformed.status, malformed.err) == (
        2,
        "prov: bad core list '1-x' (expected cores such as 1,3-5)\n",
    )
    for args in ([], ["-p", "1"], ["-s", "-p", "1"], ["-c", "1"], ["-q"]):
        usage = run_kernel("prov", *args, **MCP4)
        assert usage.status == 2 and usage.err.startswith("usage: prov"), args
    missing = run_kernel("prov", "-c", "1", "--", "/bin/nosuch", **MCP4)
    assert missing.status == 1 and "no such program" in missing.err


def test_proc_mcp_and_the_monitor_show_an_mcp():
    kernel, stdout = booted_mcp()
    pid = kernel.init.pid
    cat = resolve_program("cat", kernel.config.base_dir)
    reader = kernel.spawn(cat, ["cat", f"/proc/{pid}/mcp", f"#proc/{pid}/status", "#proc/self/status"], [])
    for _ in range(400):
        kernel._round()
        if not reader.alive:
            break
    lines = stdout.getvalue().decode().splitlines()
    vcores = ["max_vcores 3", "vcores_wanted 1", "vcores_granted 1", "vcore 0 pcore 1 online", "cores_provisioned -"]
    assert lines[:7] == ["mcp yes", "state RUNNING_M", *vcores]
    status = lines[7:]
    assert status[:3] == [f"pid {pid}", "name akaros_rules", "state RUNNING_M"]
    assert status[6 : 6 + 6] == ["mcp yes", *vcores]  # after threads and instructions
    cat_status = status[12:]
    assert cat_status[1] == "name cat" and not any(line.startswith("vcore") for line in cat_status)
    kernel.scheduler.provision(kernel.init, 3)
    shown = run_command(kernel, "vcores")
    assert shown.splitlines() == [
        f"pid {pid} (akaros_rules) RUNNING_M: 1 of 1 vcores wanted, provisioned 3",
        "  vcore 0 pcore 1 online",
    ]
    assert run_command(kernel, f"vcores {pid}") == shown
    assert run_command(kernel, "vcores 999") == "vcores: no Akaros process 999"
    assert "vcores [PID]" in run_command(kernel, "help")
    kernel.kill(kernel.init, 9)
    kernel.shutdown()
