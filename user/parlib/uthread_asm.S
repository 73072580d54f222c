/* Context switches in user space: no kernel entry.
 *
 * Offsets: struct sw_context {rbx 0, rbp 8, r12 16, r13 24, r14 32, r15 40, rsp 48, rip 56};
 * struct user_context {rax 0, rbx 8, rcx 16, rdx 24, rsi 32, rdi 40, rbp 48, rsp 56, r8 64 ..
 * r15 120, rip 128, rflags 136, fs_base 144, gs_base 152}, which is also the start of struct
 * uthread (hw_ctx); vcore TLS (fs) and preempt_data offsets as in vcore.h.
 *
 * Re-enabling notifications is the last step of running a uthread and must be restartable: a
 * notification may arrive right after notif_disabled is cleared, and the kernel then saves the
 * registers at that point as the uthread's context.  So before clearing it, everything the
 * remaining instructions need lives in registers or on the uthread's own stack *above* rsp, and
 * everything else is already restored.  A context saved there is later restored like any other
 * (its helper slots go below its rsp, so they never overlap the live ones).  Programs using
 * parlib are built with -mno-red-zone: nothing below a uthread's rsp is live.
 *
 * If a notification came while they were off (notif_pending), the uthread must not run on as
 * if nothing happened.  Rather than asking the kernel (SYS_vc_entry), the code turns them off
 * again, saves the registers as the uthread's full context -- resuming at the final ret -- and
 * enters vcore context itself, which handles the events and resumes the uthread. */

#define VC_TLS_CURRENT_UTHREAD 16
#define VC_TLS_VCPD 24
#define VC_TLS_STACK_TOP 32
#define VCPD_NOTIF_DISABLED 336 /* as vcore.h (vcore.c checks them) */
#define VCPD_NOTIF_PENDING 337

/* Notifications are on and one is pending: off again, save everything into current_uthread's
 * hw_ctx with rip = \resume and rsp as it is, and run vcore context on the vcore stack.
 * Flags and rdi need not be kept: the code at \resume restores them from the stack. */
.macro ENTER_VCORE_CONTEXT resume
	mov %fs:VC_TLS_VCPD, %rdi
	movb $1, VCPD_NOTIF_DISABLED(%rdi)
	mov %fs:VC_TLS_CURRENT_UTHREAD, %rdi
	mov %rax, 0(%rdi)
	mov %rbx, 8(%rdi)
	mov %rcx, 16(%rdi)
	mov %rdx, 24(%rdi)
	mov %rsi, 32(%rdi)
	mov %rbp, 48(%rdi)
	mov %rsp, 56(%rdi)
	mov %r8, 64(%rdi)
	mov %r9, 72(%rdi)
	mov %r10, 80(%rdi)
	mov %r11, 88(%rdi)
	mov %r12, 96(%rdi)
	mov %r13, 104(%rdi)
	mov %r14, 112(%rdi)
	mov %r15, 120(%rdi)
	lea \resume(%rip), %rax
	mov %rax, 128(%rdi)
	movq $0x202, 136(%rdi)
	mov %fs:VC_TLS_STACK_TOP, %rsp
	xor %ebp, %ebp
	call __uthread_notified_in_pop
	ud2
.endm

	.text

/* void __uthread_switch_to_vcore(struct sw_context *save, void (*fn)(void *), void *arg,
 *                                uint64_t vcore_stack_top)
 * Saves the caller as a context that resumes by returning from this call, then calls fn(arg)
 * on the vcore stack (fn never returns).  Notifications must already be disabled. */
	.globl __uthread_switch_to_vcore
	.type __uthread_switch_to_vcore, @function
__uthread_switch_to_vcore:
	mov (%rsp), %rax
	mov %rax, 56(%rdi)
	lea 8(%rsp), %rax
	mov %rax, 48(%rdi)
	mov %rbx, 0(%rdi)
	mov %rbp, 8(%rdi)
	mov %r12, 16(%rdi)
	mov %r13, 24(%rdi)
	mov %r14, 32(%rdi)
	mov %r15, 40(%rdi)
	mov %rcx, %rsp
	xor %ebp, %ebp
	mov %rdx, %rdi
	call *%rsi
	ud2
	.size __uthread_switch_to_vcore, . - __uthread_switch_to_vcore

/* void __pop_sw_ctx(struct sw_context *ctx, int enable_notifs)
 * Resumes a context saved by __uthread_switch_to_vcore.  The resume address is stored just
 * below the saved rsp (where the call had put it) and reached with ret. */
	.globl __pop_sw_ctx
	.type __pop_sw_ctx, @function
__pop_sw_ctx:
	mov 0(%rdi), %rbx
	mov 8(%rdi), %rbp
	mov 16(%rdi), %r12
	mov 24(%rdi), %r13
	mov 32(%rdi), %r14
	mov 40(%rdi), %r15
	mov 48(%rdi), %rdx
	mov 56(%rdi), %rcx
	lea -8(%rdx), %rsp
	mov %rcx, (%rsp)
	test %esi, %esi
	jz 1f
	mov %fs:VC_TLS_VCPD, %rdi
	movb $0, VCPD_NOTIF_DISABLED(%rdi)
	lock orq $0, (%rsp)		/* full barrier: the clear before the read below */
	/* restartable from here: only callee-saved registers and the return address matter */
	mov %fs:VC_TLS_VCPD, %rdi
	testb $1, VCPD_NOTIF_PENDING(%rdi)
	jnz 2f
1:	ret
2:	ENTER_VCORE_CONTEXT 1b
	.globl __pop_sw_ctx_end
__pop_sw_ctx_end:
	.size __pop_sw_ctx, . - __pop_sw_ctx

/* void __pop_hw_ctx(struct user_context *ctx)
 * Restores every register of ctx.  The C caller has written four words below ctx->rsp:
 *   rsp-8: rip   rsp-16: rflags   rsp-24: the context's rdi   rsp-32: enable notifications? */
	.globl __pop_hw_ctx
	.type __pop_hw_ctx, @function
__pop_hw_ctx:
	mov %rdi, %rsp
	pop %rax
	pop %rbx
	pop %rcx
	pop %rdx
	pop %rsi
	add $8, %rsp			/* rdi comes from the helper slot */
	pop %rbp
	pop %rdi			/* the context's rsp */
	pop %r8
	pop %r9
	pop %r10
	pop %r11
	pop %r12
	pop %r13
	pop %r14
	pop %r15
	lea -32(%rdi), %rsp		/* onto the uthread's stack, at the helper slots */
	pop %rdi			/* enable notifications? */
	test %rdi, %rdi
	jz 2f
	mov %fs:VC_TLS_VCPD, %rdi
	movb $0, VCPD_NOTIF_DISABLED(%rdi)
	lock orq $0, (%rsp)
	/* restartable from here: rdi, rflags and rip are in the slots above rsp */
	mov %fs:VC_TLS_VCPD, %rdi
	testb $1, VCPD_NOTIF_PENDING(%rdi)
	jnz 3f
2:	pop %rdi
	popfq
	ret
3:	ENTER_VCORE_CONTEXT 2b
	.globl __pop_hw_ctx_end
__pop_hw_ctx_end:
	.size __pop_hw_ctx, . - __pop_hw_ctx

/* Where the kernel starts a vcore: rsp = its stack, fs base = its TLS, rdi = vcoreid. */
	.globl __vcore_entry_asm
	.type __vcore_entry_asm, @function
__vcore_entry_asm:
	xor %ebp, %ebp
	and $-16, %rsp
	call __vcore_entry_c
	ud2
	.size __vcore_entry_asm, . - __vcore_entry_asm

/* void __vcore_reenter_on(uint64_t stack_top, void (*fn)(void)): fn() on a fresh stack. */
	.globl __vcore_reenter_on
	.type __vcore_reenter_on, @function
__vcore_reenter_on:
	mov %rdi, %rsp
	xor %ebp, %ebp
	call *%rsi
	ud2
	.size __vcore_reenter_on, . - __vcore_reenter_on

	.section .note.GNU-stack, "", @progbits
