/* The VMM interface of kernkit's vmm plugin (plugins/vmm/layout.py must agree; a test checks).
 * See docs/vmm.md. */
#ifndef KERNKIT_VMM_ABI_H
#define KERNKIT_VMM_ABI_H
#include <stdint.h>

#define SYS_vmm_add_gpcs 34
#define SYS_vmm_poke_guest 38
#define SYS_vmm_ctl 40
#define SYS_vmm_run 500 /* kernkit's: run a guest pcore until an exit the VMM must handle */

#define VMM_CTL_GET_EXITS 1
#define VMM_CTL_SET_EXITS 2
#define VMM_CTL_EXIT_HALT 0x1 /* reflect HLT (else the guest pcore sleeps until poked) */

/* Exit reasons: Intel's, plus kernkit's above 0xffff. */
#define EXIT_REASON_EXCEPTION_NMI 0
#define EXIT_REASON_EXTERNAL_INTERRUPT 1
#define EXIT_REASON_TRIPLE_FAULT 2
#define EXIT_REASON_CPUID 10
#define EXIT_REASON_HLT 12
#define EXIT_REASON_VMCALL 18
#define EXIT_REASON_IO_INSTRUCTION 30
#define EXIT_REASON_EPT_VIOLATION 48
#define EXIT_REASON_GUEST_IN_USE 0x10000
#define EXIT_REASON_EXIT_LIMIT 0x10002 /* the guest pcore made [vmm] max_exits exits: stopped */

/* I/O exit qualification: size-1 in bits 0-2, IN in bit 3, the port in bits 16-31. */
#define IO_QUAL_SIZE(q) (((q) & 7) + 1)
#define IO_QUAL_IN(q) (((q) >> 3) & 1)
#define IO_QUAL_PORT(q) ((uint16_t)((q) >> 16))

/* vmm_add_gpcs(nr, inits, sizeof(struct vmm_gpcore_init)); a size of 48 (or 0) reads the
 * original struct, without posted_irq_desc: such guest pcores take no interrupts. */
struct vmm_gpcore_init {
	uint64_t mem_base; /* the VMM's address of guest-physical 0 (page aligned, writable) */
	uint64_t mem_size; /* bytes of guest-physical memory */
	uint64_t entry;    /* guest rip */
	uint64_t stack;    /* guest rsp */
	uint64_t cr3;      /* guest-physical paging root; 0: guest-virtual = guest-physical */
	uint64_t arg;      /* guest rdi */
	uint64_t posted_irq_desc; /* struct posted_irq_desc * (64-byte aligned, writable), or 0 */
}; /* 56 bytes */

/* Posted interrupts (Intel's descriptor): to interrupt a guest pcore with vector v, set bit v,
 * then the outstanding-notification bit, then vmm_poke_guest.  The kernel moves the requested
 * bits into the guest pcore before it runs and delivers the highest through the guest's IDT
 * when RFLAGS.IF is set. */
#define POSTED_OUTSTANDING_NOTIF 256
struct posted_irq_desc {
	uint64_t pir[4];   /* requested vectors */
	uint64_t control;  /* bit 0 (descriptor bit 256): outstanding notification */
	uint64_t rsvd[3];
} __attribute__((aligned(64))); /* 64 bytes */

#define VMTF_RESUME 0x1 /* set by the kernel in every tf it writes: vmm_run loads its registers */

struct vm_trapframe {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t cr3;
	uint32_t exit_reason, gpcoreid;
	uint64_t exit_qual;
	uint64_t intrinfo; /* exception vector (bits 0-31); for an OUT, the value in bits 32-63 */
	uint64_t guest_va, guest_pa;
	uint64_t insn_len;
	uint64_t flags;
}; /* 208 bytes */
#endif
