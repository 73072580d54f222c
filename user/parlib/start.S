/* Process entry and the note that marks an ELF as an Akaros-personality program. */

/* PT_NOTE: name "kernkit", type 1, desc "akaros".  Name and desc are NUL-terminated and padded
 * to 4 bytes, as ELF notes are. */
	.section .note.kernkit, "a", @note
	.balign 4
	.long 2f - 1f		/* namesz */
	.long 4f - 3f		/* descsz */
	.long 1			/* type */
1:	.asciz "kernkit"
2:	.balign 4
3:	.asciz "akaros"
4:	.balign 4

/* The kernel starts the process with rsp at argc (the SysV initial stack) and fs base 0. */
	.text
	.globl _start
	.type _start, @function
_start:
	xor %ebp, %ebp
	mov %rsp, %rdi
	and $-16, %rsp
	call __parlib_start
	hlt
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
