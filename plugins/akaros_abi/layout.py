"""Addresses and offsets of the Akaros personality's shared pages (see user/parlib/ros_abi.h)."""

from __future__ import annotations

import struct

PAGE = 4096
MAX_VCORES = 64
EV_MBOX_SLOTS = 8

PROCINFO_ADDR = 0x7F00_0000_0000
PROCINFO_SIZE = 1 * PAGE  # 2624 bytes used
PROCDATA_ADDR = 0x7F00_0001_0000
PROCDATA_SIZE = 9 * PAGE  # 64 + 64 * 512 bytes

# struct procinfo
PI_PID, PI_PPID, PI_MAX_VCORES, PI_NUM_CORES = 0, 8, 16, 24
PI_NUM_VCORES, PI_IS_MCP, PI_SEQCTR, PI_TSC_FREQ = 32, 40, 48, 56
PI_VCOREMAP, VCORE_INFO_SIZE = 64, 32
PI_PCOREMAP, PCORE_INFO_SIZE = PI_VCOREMAP + MAX_VCORES * VCORE_INFO_SIZE, 8
# struct vcore_info
VI_PCOREID, VI_VALID, VI_PREEMPTS_SENT, VI_PREEMPTS_DONE, VI_PREEMPT_PENDING = 0, 4, 8, 12, 16

# struct procdata
PD_AMT_WANTED, PD_VCORE_ENTRY = 0, 8
PD_VCPD, VCPD_SIZE = 64, 512
# struct preempt_data
VCPD_UTHREAD_CTX, VCPD_STACK, VCPD_TLS = 0, 160, 168
VCPD_NOTIF_DISABLED, VCPD_NOTIF_PENDING, VCPD_FLAGS = 176, 177, 184
VCPD_EV_HEAD, VCPD_EV_TAIL, VCPD_EV = 192, 196, 200
EVENT_MSG = struct.Struct("<IIQ")

VC_PREEMPTED, VC_UTHREAD_SAVED = 0x1, 0x2

#: struct user_context, in order (20 little-endian u64).
USER_CONTEXT_FIELDS = (
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "rip", "rflags", "fs_base", "gs_base",
)  # fmt: skip
USER_CONTEXT = struct.Struct("<20Q")

RES_CORES = 0
EV_NONE, EV_PREEMPT_PENDING, EV_VCORE_PREEMPT, EV_USER_IPI, EV_EVENT = 0, 1, 3, 5, 8
EV_POSIX_SIGNAL = 12
EVENT_IPI, EVENT_WAKEUP, EVENT_INDIR = 0x1, 0x2, 0x4


def vcpd(vcoreid: int) -> int:
    """Offset of vcore ``vcoreid``'s preempt data in procdata."""
    return PD_VCPD + vcoreid * VCPD_SIZE


def vcore_info(vcoreid: int) -> int:
    return PI_VCOREMAP + vcoreid * VCORE_INFO_SIZE


def pcore_info(pcoreid: int) -> int:
    return PI_PCOREMAP + pcoreid * PCORE_INFO_SIZE
