"""The kernel's view of procinfo/procdata (plugins/akaros_abi/layout.py) matches user/parlib/ros_abi.h."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support import ROOT

from kernkit.plugins.akaros_abi import layout

PROBE = r"""
#include <stddef.h>
#include <stdio.h>
#include "ros_abi.h"
#define P(name, value) printf("%s %lu\n", name, (unsigned long)(value))
int main(void) {
    P("PROCINFO_ADDR", PROCINFO_ADDR); P("PROCDATA_ADDR", PROCDATA_ADDR);
    P("PI_MAX_VCORES", offsetof(struct procinfo, max_vcores));
    P("PI_NUM_VCORES", offsetof(struct procinfo, num_vcores));
    P("PI_IS_MCP", offsetof(struct procinfo, is_mcp));
    P("PI_TSC_FREQ", offsetof(struct procinfo, tsc_freq));
    P("PI_VCOREMAP", offsetof(struct procinfo, vcoremap));
    P("PI_PCOREMAP", offsetof(struct procinfo, pcoremap));
    P("VCORE_INFO_SIZE", sizeof(struct vcore_info));
    P("VI_PREEMPT_PENDING", offsetof(struct vcore_info, preempt_pending));
    P("PROCINFO_BYTES", sizeof(struct procinfo));
    P("PD_VCORE_ENTRY", offsetof(struct procdata, vcore_entry));
    P("PD_VCPD", offsetof(struct procdata, vcore_preempt_data));
    P("VCPD_SIZE", sizeof(struct preempt_data));
    P("VCPD_STACK", offsetof(struct preempt_data, vcore_stack));
    P("VCPD_TLS", offsetof(struct preempt_data, vcore_tls_desc));
    P("VCPD_NOTIF_DISABLED", offsetof(struct preempt_data, notif_disabled));
    P("VCPD_NOTIF_PENDING", offsetof(struct preempt_data, notif_pending));
    P("VCPD_FLAGS", offsetof(struct preempt_data, flags));
    P("VCPD_EV_HEAD", offsetof(struct preempt_data, ev_head));
    P("VCPD_EV", offsetof(struct preempt_data, ev));
    P("PROCDATA_BYTES", sizeof(struct procdata));
    P("USER_CONTEXT_SIZE", sizeof(struct user_context));
    P("RIP_OFFSET", offsetof(struct user_context, rip));
    P("FD_TAP_REQ_SIZE", sizeof(struct fd_tap_req));
    P("FD_TAP_REQ_EV_Q", offsetof(struct fd_tap_req, ev_q));
    P("EVQ_CHECK_BITS", offsetof(struct event_queue, check_bits));
    P("EVQ_NR_BITS", offsetof(struct event_queue, nr_bits));
    P("EVQ_BITMAP", offsetof(struct event_queue, bitmap));
    P("SYS_tap_fds", SYS_tap_fds);
    P("EVENT_INDIR", EVENT_INDIR);
    P("EV_EVENT", EV_EVENT);
    P("FDTAP_FILT_HANGUP", FDTAP_FILT_HANGUP);
    return 0;
}
"""


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed (apt-get install gcc)")
def test_the_header_and_the_kernel_agree_on_every_offset(tmp_path):
    (tmp_path / "probe.c").write_text(PROBE)
    subprocess.run(
        [
            "gcc",
            "-I",
            str(ROOT / "user" / "parlib"),
            "-o",
            str(tmp_path / "probe"),
            str(tmp_path / "probe.c"),
        ],
        check=True,
    )
    values = dict(
        line.split()
        for line in subprocess.run([tmp_path / "probe"], capture_output=True, text=True).stdout.splitlines()
    )
    got = {name: int(value) for name, value in values.items()}
    expected = {name: getattr(layout, name) for name in got if hasattr(layout, name)}
    assert {name: got[name] for name in expected} == expected
    assert got["PROCINFO_BYTES"] <= layout.PROCINFO_SIZE
    assert got["PROCDATA_BYTES"] <= layout.PROCDATA_SIZE
    assert got["USER_CONTEXT_SIZE"] == layout.USER_CONTEXT.size
    assert got["RIP_OFFSET"] == 8 * layout.USER_CONTEXT_FIELDS.index("rip")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc is not installed (apt-get install gcc)")
def test_the_header_and_the_kernel_agree_on_fd_taps(tmp_path):
    from kernkit.plugins.akaros_abi import SYSCALLS, taps

    (tmp_path / "probe.c").write_text(PROBE)
    subprocess.run(
        [
            "gcc",
            "-I",
            str(ROOT / "user" / "parlib"),
            "-o",
            str(tmp_path / "probe"),
            str(tmp_path / "probe.c"),
        ],
        check=True,
    )
    out = subprocess.run([tmp_path / "probe"], capture_output=True, text=True).stdout
    got = {name: int(value) for name, value in (line.split() for line in out.splitlines())}
    assert got["FD_TAP_REQ_SIZE"] == taps.TAP_REQ.size
    assert got["FD_TAP_REQ_EV_Q"] == taps.TAP_REQ.size - 16
    assert (got["EVQ_CHECK_BITS"], got["EVQ_BITMAP"]) == (taps.EVQ_CHECK_BITS, taps.EVQ_BITMAP)
    assert got["EVQ_NR_BITS"] == taps.EVQ_HEADER.size - 4
    assert got["SYS_tap_fds"] == next(nr for nr, name, *_ in SYSCALLS if name == "tap_fds")
    assert (got["EVENT_INDIR"], got["EV_EVENT"]) == (layout.EVENT_INDIR, layout.EV_EVENT)
    assert got["FDTAP_FILT_HANGUP"] == taps.FDTAP_FILT_HANGUP
