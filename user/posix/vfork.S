/* fork from a pthread program: the calling pthread goes on as the child, in the parent's memory,
 * until it execs (the new process's pid) or exits; then it resumes as the parent, returning from
 * fork a second time (fork is declared returns_twice).  struct posix_vfork (posix.h): rbx 0,
 * rbp 8, r12 16, r13 24, r14 32, r15 40, rsp 48, rip 56, in_child 64. */
	.text

/* pid_t fork(void): 0 now (the child); the child's pid later (posix_vfork_resume). */
	.globl fork
	.type fork, @function
fork:
	sub $8, %rsp
	call posix_vfork_of_self	/* clobbers only caller-saved registers */
	add $8, %rsp
	mov %rbx, 0(%rax)
	mov %rbp, 8(%rax)
	mov %r12, 16(%rax)
	mov %r13, 24(%rax)
	mov %r14, 32(%rax)
	mov %r15, 40(%rax)
	lea 8(%rsp), %rcx
	mov %rcx, 48(%rax)
	mov (%rsp), %rcx
	mov %rcx, 56(%rax)
	movb $1, 64(%rax)
	xor %eax, %eax
	ret
	.size fork, . - fork

/* void posix_vfork_resume(struct posix_vfork *v, long pid): return pid from fork.  The registers
 * are a struct sw_context's, which parlib's __pop_sw_ctx restores (notifications left alone); it
 * leaves rax as it is. */
	.globl posix_vfork_resume
	.type posix_vfork_resume, @function
posix_vfork_resume:
	movb $0, 64(%rdi)
	mov %rsi, %rax
	xor %esi, %esi
	jmp __pop_sw_ctx
	.size posix_vfork_resume, . - posix_vfork_resume

	.globl vfork
	.set vfork, fork

	.section .note.GNU-stack, "", @progbits
