/* The guest kernel's entry: the VMM starts each guest pcore here in 64-bit mode, ring 0, with
 * its paging on, rsp at the boot stack it chose and its argument in rdi.  A flat GDT is loaded
 * first: an interrupt frame holds CS and SS, and iretq needs a real code segment. */
	.section .text.start, "ax"
	.globl _start
_start:
	lgdt .Lgdt_desc(%rip)
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	pushq $0x08
	leaq 1f(%rip), %rax
	pushq %rax
	lretq
1:	xorl %ebp, %ebp
	andq $-16, %rsp
	call guest_main
2:	hlt
	jmp 2b

	.section .rodata
	.balign 8
.Lgdt:
	.quad 0
	.quad 0x00209a0000000000 /* 0x08: 64-bit code, ring 0 */
	.quad 0x0000920000000000 /* 0x10: data */
.Lgdt_desc:
	.word .Lgdt_desc - .Lgdt - 1
	.quad .Lgdt
	.section .note.GNU-stack,"",@progbits
