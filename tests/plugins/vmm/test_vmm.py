"""The vmm plugin: a bare-metal guest under the user-space VMM, exits, and the seed regression
(finalizing a VM context to owning_proc, not cur_proc)."""

from __future__ import annotations

import signal
import struct
import time
from pathlib import Path

import pytest
from support import kernel_process, run_kernel

from kernkit.plugins.vmm import layout, read_vmexits

ROOT = Path(__file__).resolve().parents[3]
VMM = ROOT / "configs" / "vmm.toml"
TRACED_WAIT = ["-n", "-q", "vmrunkernel", "-m", "-w", "/bin/guest"]


def test_guest_boots_under_the_vmm_and_prints_on_the_console():
    run = run_kernel("vmrunkernel", "/bin/guest", config=VMM)
    assert run.status == 0, run.err
    lines = run.out.splitlines()
    assert lines[0] == "vmrunkernel: /bin/guest loaded, entry 0x100000, 1 guest pcore"
    assert "guest: hello from guest pcore 0 (apic id 0), cpu vendor KernkitVMM, hypervisor kernkitvmm" in lines
    assert "guest: a line through vmcall" in lines
    assert "guest: total 1000 from 1 guest pcores" in lines
    exits = read_vmexits(run.kernel, run.kernel.init)
    counts = {row.split()[0]: row.split()[1:] for row in exits.splitlines()[2:]}
    assert counts["cpuid"] == ["3", "0"]  # answered in the kernel, never reflected
    assert counts["vmcall"] == ["0", "2"]  # print and exit
    assert int(counts["io"][1]) > 100  # a serial port round trip per character


def test_guest_pcores_on_vcores_count_to_a_shared_total():
    run = run_kernel(config=VMM, init__args=["-m", "-n", "3", "/bin/guest"], machine__cores=5)
    assert run.status == 0, run.err
    for gpc in range(3):
        assert f"guest: hello from guest pcore {gpc} (apic id {gpc})" in run.out
    assert "guest: total 3000 from 3 guest pcores" in run.out
    assert "gpcs 3" in read_vmexits(run.kernel, run.kernel.init)


def test_a_traced_vmm_notified_while_its_guest_is_halted_carries_on():
    """The seed scenario with the correct code: the tracer's kernel work ran on the VMM's core
    (cur_proc = the tracer, owning_proc = the VMM) when the notification finalizes the VM
    context; the VMM's guest pcore is unloaded and the guest goes on."""
    run = run_kernel("strace", *TRACED_WAIT, config=VMM, trace=True)
    assert run.status == 0, run.err
    assert "guest: waiting for an interrupt\nguest: woken up\n" in run.out
    assert "strace: pid 2 exited with status 0" in run.out
    assert '"ev":"kthread","core":1,"pid":1' in run.trace  # the tracer acted on the VMM's core
    assert '"ev":"vmexit","core":1,"pid":2,"tid":3,"gpcoreid":0,"reason":"external_interrupt"' in run.trace


def test_finalizing_to_cur_proc_brings_back_the_seed_panic():
    run = run_kernel("strace", *TRACED_WAIT, config=VMM, vmm__finalize_to="cur_proc")
    assert run.status == 70
    assert "guest: waiting for an interrupt" in run.out
    assert "woken up" not in run.out
    assert (
        "kernel panic: couldn't find a gpc: finalizing guest pcore 0 on core 1, cur_proc is pid 1 "
        "(strace); assertion failed: gpc"
    ) in run.err
    assert "    1  strace               WAITING      0" in run.err  # ps
    assert "    2  vmrunkernel          RUNNING_M    1" in run.err
    assert "<run_gpc+" in run.err  # bt: the VMM thread waits in vmm_run


def test_the_c_interface_agrees_with_the_kernel():
    header = (ROOT / "user" / "vmm" / "vmm_abi.h").read_text()
    for name, value in (
        ("SYS_vmm_add_gpcs", layout.SYS_VMM_ADD_GPCS),
        ("SYS_vmm_poke_guest", layout.SYS_VMM_POKE_GUEST),
        ("SYS_vmm_ctl", layout.SYS_VMM_CTL),
        ("SYS_vmm_run", layout.SYS_VMM_RUN),
        ("VMTF_RESUME", layout.VMTF_RESUME),
    ):
        assert f"#define {name} {value:#x}" in header or f"#define {name} {value}" in header, name
    assert "}; /* 208 bytes */" in header and layout.VM_TF_SIZE == 208
    assert "}; /* 56 bytes */" in header and layout.GPCORE_INIT.size == 56
    assert layout.GPCORE_INIT_V1.size == 48  # the original struct, still accepted
    assert "} __attribute__((aligned(64))); /* 64 bytes */" in header and layout.POSTED_DESC_SIZE == 64
    assert f"#define POSTED_OUTSTANDING_NOTIF {layout.POSTED_OUTSTANDING_NOTIF}" in header
    assert struct.calcsize("<18QQII") == layout.TF_EXIT_QUAL


@pytest.mark.parametrize("finalize_to", ["owning_proc", "cur_proc"])
def test_an_untraced_vmm_runs_the_same_either_way(finalize_to):
    run = run_kernel(config=VMM, vmm__finalize_to=finalize_to)
    assert run.status == 0, run.err
    assert "guest: total 2000 from 2 guest pcores" in run.out


def test_ctrl_c_stops_a_guest_spinning_in_fast_mode():
    """A guest that never exits runs no kernel code, yet the host timer stops it as it stops
    the machine's cores, so one Ctrl-C ends the run."""
    args = ["--set", "machine.mode=fast", "--set", "init.program=vmmcheck"]
    args += ["--set", 'init.args=["/bin/badguest","spin","1000000000000"]', str(VMM)]
    with kernel_process(*args) as proc:
        time.sleep(1.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err.decode()[-2000:]
    assert err.decode().endswith("kernkit: interrupted\n")
