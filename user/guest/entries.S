/* The guest kernel's interrupt entries (user/guest/guest.c's handlers). */
/* Each saves the registers a C function may clobber, call it, iretq. */
	.macro INTERRUPT_ENTRY name, handler
	.globl \name
\name:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	cld
	call \handler
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	iretq
	.endm

	.text
	INTERRUPT_ENTRY timer_entry, on_timer
	INTERRUPT_ENTRY wakeup_entry, on_wakeup

	.section .note.GNU-stack,"",@progbits
