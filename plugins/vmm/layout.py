"""The VMM's binary interface (user/vmm/vmm_abi.h is the C side; a test checks they agree).

System calls (Akaros's numbers, plus one of kernkit's own):

- ``vmm_add_gpcs(nr, struct vmm_gpcore_init *inits, size)`` (34): add ``nr`` guest pcores; their
  ids follow the ones the process already has. ``size`` is the size of one init struct: 56 (with
  a posted-interrupt descriptor), or 48 / 0 for the original struct (no interrupts). Returns ``nr``.
- ``vmm_poke_guest(gpcoreid)`` (38): the guest pcore looks at its posted-interrupt descriptor
  again, and wakes if it is halted in the kernel.
- ``vmm_ctl(cmd, arg)`` (40): ``VMM_CTL_GET_EXITS`` / ``VMM_CTL_SET_EXITS``: which optional
  exits are reflected (``VMM_CTL_EXIT_HALT``).
- ``vmm_run(gpcoreid, struct vm_trapframe *tf)`` (500, kernkit's): run the guest pcore until an
  exit the kernel reflects; the exit is written into ``tf`` and its reason returned.
"""

from __future__ import annotations

import struct

SYS_VMM_ADD_GPCS = 34
SYS_VMM_POKE_GUEST = 38
SYS_VMM_CTL = 40
SYS_VMM_RUN = 500

VMM_CTL_GET_EXITS, VMM_CTL_SET_EXITS = 1, 2
VMM_CTL_EXIT_HALT = 0x1
VMM_CTL_ALL_EXITS = VMM_CTL_EXIT_HALT

#: struct vmm_gpcore_init: mem_base (the VMM's address of guest-physical 0), mem_size, entry,
#: stack, cr3 (guest-physical paging root; 0: guest-virtual = guest-physical), arg (rdi),
#: posted_irq_desc (the VMM's address of the guest pcore's posted-interrupt descriptor, or 0).
GPCORE_INIT = struct.Struct("<7Q")
GPCORE_INIT_FIELDS = ("mem_base", "mem_size", "entry", "stack", "cr3", "arg", "posted_irq_desc")
#: The original struct, without posted_irq_desc (vmm_add_gpcs with size 48 or 0).
GPCORE_INIT_V1 = struct.Struct("<6Q")
#: Posted-interrupt descriptor (Intel's layout): 256 request bits (one per vector), then the
#: outstanding-notification bit (256); 64 bytes, 64-byte aligned, writable memory of the VMM.
POSTED_DESC_SIZE = 64
POSTED_OUTSTANDING_NOTIF = 256

#: struct vm_trapframe: 18 registers (rax..r15, rip, rflags), cr3, exit_reason (u32),
#: gpcoreid (u32), exit_qual, intrinfo, guest_va, guest_pa, insn_len, flags.
VM_TF_REGISTERS = (
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
    "rip", "rflags",
)  # fmt: skip
VM_TF = struct.Struct("<18QQIIQQQQQQ")
VM_TF_SIZE = VM_TF.size  # 208
#: The fields after the registers (cr3 .. flags), packed after them in one exit's trapframe.
VM_TF_TAIL = struct.Struct("<QIIQQQQQQ")
#: rip, rflags, cr3, exit_reason, gpcoreid (from TF_RIP), and flags (at TF_FLAGS): what vmm_run checks.
TF_STATE = struct.Struct("<QQQII")
TF_FLAGS_FIELD = struct.Struct("<Q")
TF_RIP, TF_RFLAGS = 128, 136
TF_CR3, TF_EXIT_REASON, TF_GPCOREID = 144, 152, 156
TF_EXIT_QUAL, TF_INTRINFO, TF_GUEST_VA, TF_GUEST_PA, TF_INSN_LEN, TF_FLAGS = 160, 168, 176, 184, 192, 200
#: tf flags: VMTF_RESUME, set in every tf the kernel writes: vmm_run loads the registers from a tf
#: that has it (a tf without it starts the guest pcore where it is, e.g. fresh from its init).
VMTF_RESUME = 0x1

RFLAGS_FIXED = 0x2
#: rflags bits a guest context may set (VM, VIF, VIP and reserved bits may not be).
RFLAGS_ALLOWED = 0x0025_7FD7
MAX_GPCS = 64
