"""The kernel's view of the shared structures (plugins/akaros_abi/layout.py) matches
user/parlib/ros_abi.h: procinfo, procdata and preempt data, event messages, queues and
mailboxes (UCQ, CEQ, bitmap), struct syscall, FD tap requests, kstat and kdirent."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from support import ROOT

from kernkit.plugins.akaros_abi import SYSCALLS, dirs, fds, layout, taps

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
    P("PI_SIG_BLOCKED", offsetof(struct procinfo, sig_blocked));
    P("PI_SIG_IGNORED", offsetof(struct procinfo, sig_ignored));
    P("VCORE_INFO_SIZE", sizeof(struct vcore_info));
    P("VI_PREEMPT_PENDING", offsetof(struct vcore_info, preempt_pending));
    P("PROCINFO_BYTES", sizeof(struct procinfo));
    P("PD_VCORE_ENTRY", offsetof(struct procdata, vcore_entry));
    P("PD_VCPD", offsetof(struct procdata, vcore_preempt_data));
    P("PD_KERNEL_EVTS", offsetof(struct procdata, kernel_evts));
    P("VCPD_SIZE", sizeof(struct preempt_data));
    P("VCPD_UTHREAD_CTX", offsetof(struct preempt_data, uthread_ctx));
    P("VCPD_VCORE_CTX", offsetof(struct preempt_data, vcore_ctx));
    P("VCPD_STACK", offsetof(struct preempt_data, vcore_stack));
    P("VCPD_TLS", offsetof(struct preempt_data, vcore_tls_desc));
    P("VCPD_NOTIF_DISABLED", offsetof(struct preempt_data, notif_disabled));
    P("VCPD_NOTIF_PENDING", offsetof(struct preempt_data, notif_pending));
    P("VCPD_FLAGS", offsetof(struct preempt_data, flags));
    P("VCPD_MBOX_PUBLIC", offsetof(struct preempt_data, ev_mbox_public));
    P("VCPD_MBOX_PRIVATE", offsetof(struct preempt_data, ev_mbox_private));
    P("VCPD_PREEMPT_ANC", offsetof(struct preempt_data, preempt_anc));
    P("ANCILLARY_SIZE", sizeof(struct ancillary_state));
    P("VC_PREEMPTED", VC_PREEMPTED); P("VC_CAN_RCV_MSG", VC_CAN_RCV_MSG);
    P("VC_UTHREAD_STEALING", VC_UTHREAD_STEALING); P("VC_UTHREAD_SAVED", VC_UTHREAD_SAVED);
    P("PROCDATA_BYTES", sizeof(struct procdata));
    P("USER_CONTEXT_SIZE", sizeof(struct user_context));
    P("RIP_OFFSET", offsetof(struct user_context, rip));
    P("EVENT_MSG_SIZE", sizeof(struct event_msg));
    P("EVENT_QUEUE_SIZE", sizeof(struct event_queue));
    P("EVQ_ALERT_PENDING", offsetof(struct event_queue, ev_alert_pending));
    P("MBOX_SIZE", sizeof(struct event_mbox));
    P("MBOX_BODY", offsetof(struct event_mbox, ucq));
    P("UCQ_PROD_IDX", offsetof(struct ucq, prod_idx));
    P("UCQ_SPARE_PG", offsetof(struct ucq, spare_pg));
    P("UCQ_NR_EXTRA_PGS", offsetof(struct ucq, nr_extra_pgs));
    P("UCQ_PROD_OVERFLOW", offsetof(struct ucq, prod_overflow));
    P("UCQ_READY", offsetof(struct ucq, ucq_ready));
    P("UCQ_HEADER_SIZE", sizeof(struct ucq_page_header));
    P("MSG_CONTAINER_SIZE", sizeof(struct msg_container));
    P("UCQ_MSGS_PER_PAGE", UCQ_MSGS_PER_PAGE);
    P("EVBM_BITMAP", offsetof(struct evbitmap, bitmap));
    P("CEQ_MAX_EVENT_EVER", offsetof(struct ceq, max_event_ever));
    P("CEQ_RING_OVERFLOWED", offsetof(struct ceq, ring_overflowed));
    P("CEQ_PROD_IDX", offsetof(struct ceq, prod_idx));
    P("CEQ_CONS_PUB_IDX", offsetof(struct ceq, cons_pub_idx));
    P("CEQ_EVENT_SIZE", sizeof(struct ceq_event));
    P("CEQ_IDX_POSTED", offsetof(struct ceq_event, idx_posted));
    P("SYSCALL_SIZE", sizeof(struct syscall));
    P("SC_RETVAL", offsetof(struct syscall, retval));
    P("SC_FLAGS", offsetof(struct syscall, flags));
    P("SC_EV_Q", offsetof(struct syscall, ev_q));
    P("SC_ARG0", offsetof(struct syscall, arg0));
    P("SYS_SUBMIT", SYS_submit);
    P("FD_TAP_REQ_SIZE", sizeof(struct fd_tap_req));
    P("FD_TAP_REQ_EV_Q", offsetof(struct fd_tap_req, ev_q));
    P("KSTAT_SIZE", sizeof(struct kstat));
    P("KDIRENT_SIZE", sizeof(struct kdirent));
    P("KDIRENT_NAME", offsetof(struct kdirent, d_name));
    P("SYS_tap_fds", SYS_tap_fds);
    P("SYS_dup_fds_to", SYS_dup_fds_to); P("SYS_fcntl", SYS_fcntl);
    P("SYS_setpgid", SYS_setpgid); P("SYS_getpgid", SYS_getpgid); P("SYS_setsid", SYS_setsid);
    P("SYS_getsid", SYS_getsid); P("SYS_kill", SYS_kill);
    P("CHILDFDMAP_SIZE", sizeof(struct childfdmap)); P("PROC_DUP_FGRP", PROC_DUP_FGRP);
    P("EVENT_INDIR", EVENT_INDIR); P("EVENT_WAKEUP", EVENT_WAKEUP);
    P("EVENT_SPAM_PUBLIC", EVENT_SPAM_PUBLIC); P("EVENT_SPAM_INDIR", EVENT_SPAM_INDIR);
    P("EVENT_VCORE_PRIVATE", EVENT_VCORE_PRIVATE); P("EVENT_NOTHROTTLE", EVENT_NOTHROTTLE);
    P("EV_EVENT", EV_EVENT); P("EV_SYSCALL", EV_SYSCALL); P("EV_CHECK_MSGS", EV_CHECK_MSGS);
    P("FDTAP_FILT_HANGUP", FDTAP_FILT_HANGUP);
    P("FDTAP_FILT_RDHUP", FDTAP_FILT_RDHUP);
    return 0;
}
"""


@pytest.fixture(scope="module")
def probed(tmp_path_factory) -> dict[str, int]:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed (apt-get install gcc)")
    tmp = tmp_path_factory.mktemp("probe")
    (tmp / "probe.c").write_text(PROBE)
    subprocess.run(
        ["gcc", "-I", str(ROOT / "user" / "parlib"), "-o", str(tmp / "probe"), str(tmp / "probe.c")],
        check=True,
    )
    out = subprocess.run([tmp / "probe"], capture_output=True, text=True, check=True).stdout
    return {name: int(value) for name, value in (line.split() for line in out.splitlines())}


def test_the_header_and_the_kernel_agree_on_every_offset(probed):
    expected = {name: getattr(layout, name) for name in probed if hasattr(layout, name)}
    assert {name: probed[name] for name in expected} == expected
    assert len(expected) >= 50
    assert probed["PROCINFO_BYTES"] <= layout.PROCINFO_SIZE
    assert probed["PROCDATA_BYTES"] <= layout.PROCDATA_SIZE
    assert probed["USER_CONTEXT_SIZE"] == layout.USER_CONTEXT.size
    assert probed["RIP_OFFSET"] == 8 * layout.USER_CONTEXT_FIELDS.index("rip")
    assert probed["EVENT_MSG_SIZE"] == layout.EVENT_MSG.size
    assert probed["EVENT_QUEUE_SIZE"] == layout.EVENT_QUEUE.size
    assert probed["CEQ_CONS_PUB_IDX"] == layout.CEQ_PROD_IDX + 8
    assert probed["CEQ_IDX_POSTED"] == 16
    assert probed["SC_EV_Q"] == layout.SC_FLAGS + 8
    assert probed["SC_ARG0"] == layout.SYSCALL.size - 48


def test_the_header_and_the_kernel_agree_on_taps_stat_and_directories(probed):
    assert probed["FD_TAP_REQ_SIZE"] == taps.TAP_REQ.size
    assert probed["FD_TAP_REQ_EV_Q"] == taps.TAP_REQ.size - 16
    assert probed["SYS_tap_fds"] == next(nr for nr, name, *_ in SYSCALLS if name == "tap_fds")
    assert probed["FDTAP_FILT_HANGUP"] == taps.FDTAP_FILT_HANGUP
    assert probed["FDTAP_FILT_RDHUP"] == taps.FDTAP_FILT_RDHUP
    assert probed["SYS_dup_fds_to"] == next(nr for nr, name, *_ in SYSCALLS if name == "dup_fds_to")
    assert probed["SYS_fcntl"] == next(nr for nr, name, *_ in SYSCALLS if name == "fcntl")
    for name in ("setpgid", "getpgid", "setsid", "getsid", "kill"):
        assert probed[f"SYS_{name}"] == next(nr for nr, n, *_ in SYSCALLS if n == name)
    assert probed["CHILDFDMAP_SIZE"] == fds.CHILDFDMAP.size
    assert probed["PROC_DUP_FGRP"] == fds.PROC_DUP_FGRP
    assert probed["KSTAT_SIZE"] == 144  # Linux's struct stat, which the stat calls fill
    assert probed["KDIRENT_SIZE"] == dirs.KDIRENT_SIZE
    assert probed["KDIRENT_NAME"] == dirs.KDIRENT.size
