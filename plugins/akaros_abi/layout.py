"""Addresses, offsets and numbers of the Akaros personality's shared structures (see
user/parlib/ros_abi.h, which a test checks against this file)."""

from __future__ import annotations

import struct

PAGE = 4096
MAX_VCORES = 64
MAX_NR_EVENT = 50

PROCINFO_ADDR = 0x7F00_0000_0000
PROCINFO_SIZE = 1 * PAGE  # 2640 bytes used
PROCDATA_ADDR = 0x7F00_0001_0000
PROCDATA_SIZE = 17 * PAGE  # 66000 bytes used

# struct procinfo
PI_PID, PI_PPID, PI_MAX_VCORES, PI_NUM_CORES = 0, 8, 16, 24
PI_NUM_VCORES, PI_IS_MCP, PI_SEQCTR, PI_TSC_FREQ = 32, 40, 48, 56
PI_VCOREMAP, VCORE_INFO_SIZE = 64, 32
PI_PCOREMAP, PCORE_INFO_SIZE = PI_VCOREMAP + MAX_VCORES * VCORE_INFO_SIZE, 8
#: kernkit's: the signals the program starts with blocked and ignored (bit 1 << (sig - 1)), what
#: exec keeps on Linux; its parent sets them with proc_sigstate before it runs
PI_SIG_BLOCKED = PI_PCOREMAP + MAX_VCORES * PCORE_INFO_SIZE
PI_SIG_IGNORED = PI_SIG_BLOCKED + 8
# struct vcore_info
VI_PCOREID, VI_VALID, VI_PREEMPTS_SENT, VI_PREEMPTS_DONE, VI_PREEMPT_PENDING = 0, 4, 8, 12, 16

# struct procdata
PD_AMT_WANTED, PD_VCORE_ENTRY = 0, 8
PD_VCPD, VCPD_SIZE = 64, 1024
PD_KERNEL_EVTS = PD_VCPD + MAX_VCORES * VCPD_SIZE
# struct preempt_data
VCPD_UTHREAD_CTX, VCPD_VCORE_CTX, VCPD_STACK, VCPD_TLS = 0, 160, 320, 328
VCPD_NOTIF_DISABLED, VCPD_NOTIF_PENDING, VCPD_FLAGS = 336, 337, 344
VCPD_MBOX_PUBLIC, VCPD_MBOX_PRIVATE = 352, 432
#: the FXSAVE image of the uthread in uthread_ctx (struct ancillary_state)
VCPD_PREEMPT_ANC, ANCILLARY_SIZE = 512, 512

VC_K_LOCK, VC_PREEMPTED, VC_CAN_RCV_MSG, VC_UTHREAD_STEALING = 0x1, 0x2, 0x4, 0x8
VC_UTHREAD_SAVED = 0x1000

#: struct user_context, in order (20 little-endian u64).
USER_CONTEXT_FIELDS = (
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "rip", "rflags", "fs_base", "gs_base",
)  # fmt: skip
USER_CONTEXT = struct.Struct("<20Q")

RES_CORES = 0

# events
EV_NONE, EV_PREEMPT_PENDING, EV_VCORE_PREEMPT, EV_USER_IPI, EV_ALARM, EV_EVENT = 0, 1, 3, 5, 7, 8
EV_SYSCALL, EV_CHECK_MSGS, EV_POSIX_SIGNAL = 10, 11, 12
EVENT_IPI, EVENT_SPAM_PUBLIC, EVENT_INDIR, EVENT_VCORE_PRIVATE = 0x1, 0x2, 0x4, 0x8
EVENT_SPAM_INDIR, EVENT_VCORE_MUST_RUN, EVENT_NOTHROTTLE = 0x10, 0x20, 0x40
EVENT_VCORE_APPRO, EVENT_WAKEUP = 0x100, 0x200
#: struct event_msg: ev_type (u16), ev_arg1 (u16), ev_arg2 (u32), ev_arg3, ev_arg4 (u64)
EVENT_MSG = struct.Struct("<HHIQQ")
#: struct event_queue: ev_mbox, ev_flags, ev_alert_pending, pad, ev_vcore, pad, ev_handler, ev_udata
EVENT_QUEUE = struct.Struct("<QiB3xI4xQQ")
EVQ_ALERT_PENDING = 12

# mailboxes: struct event_mbox is a type (i32, padded to 8) and a union of the three kinds
EV_MBOX_UCQ, EV_MBOX_BITMAP, EV_MBOX_CEQ = 1, 2, 3
MBOX_SIZE, MBOX_BODY = 80, 8
#: struct ucq: prod_idx, spare_pg, nr_extra_pgs, cons_idx, prod_overflow, ucq_ready
UCQ = struct.Struct("<QQQQBB")
UCQ_PROD_IDX, UCQ_SPARE_PG, UCQ_NR_EXTRA_PGS, UCQ_CONS_IDX = 0, 8, 16, 24
UCQ_PROD_OVERFLOW, UCQ_READY = 32, 33
UCQ_HEADER_SIZE, MSG_CONTAINER_SIZE = 16, 32  # struct ucq_page_header, struct msg_container
UCQ_MSGS_PER_PAGE = (PAGE - UCQ_HEADER_SIZE) // MSG_CONTAINER_SIZE
#: struct evbitmap: check_bits (u8), then a bit per event type
EVBM_CHECK_BITS, EVBM_BITMAP = 0, 1
#: struct ceq: events, nr_events, last_recovered, max_event_ever, ring, ring_sz, operation,
#: ring_overflowed, overflow_recovery, pad, prod_idx, cons_pub_idx, cons_pvt_idx
CEQ = struct.Struct("<QIIQQIBBBxQQQ")
CEQ_MAX_EVENT_EVER, CEQ_RING_OVERFLOWED, CEQ_PROD_IDX = 16, 37, 40
CEQ_EVENT_SIZE = 32  # struct ceq_event: coalesce, blob_data, idx_posted, pad, user_data
CEQ_OR, CEQ_ADD = 1, 2

# asynchronous system calls: struct syscall
SYSCALL = struct.Struct("<IiqQQQ6q")
SYSCALL_SIZE = 216
SC_RETVAL, SC_FLAGS = 8, 16
SC_DONE, SC_PROGRESS, SC_UEVENT, SC_K_LOCK, SC_ABORT = 0x1, 0x2, 0x4, 0x8, 0x10
SYS_SUBMIT = 200


def vcpd(vcoreid: int) -> int:
    """Offset of vcore ``vcoreid``'s preempt data in procdata."""
    return PD_VCPD + vcoreid * VCPD_SIZE


def vcore_info(vcoreid: int) -> int:
    return PI_VCOREMAP + vcoreid * VCORE_INFO_SIZE


def pcore_info(pcoreid: int) -> int:
    return PI_PCOREMAP + pcoreid * PCORE_INFO_SIZE
