/* The guest kernel's entry: the VMM starts each guest pcore here in 64-bit mode, ring 0, with
 * its paging on, rsp at the boot stack it chose and the guest pcore id in rdi. */
	.section .text.start, "ax"
	.globl _start
_start:
	xorl %ebp, %ebp
	andq $-16, %rsp
	call guest_main
1:	hlt
	jmp 1b
	.section .note.GNU-stack,"",@progbits
