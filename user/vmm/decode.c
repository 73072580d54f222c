/* Decoding the guest instruction that touched an MMIO page, as Akaros's VMM does: the kernel
 * reports the page (guest_pa, guest_va) and the access (read or write), the VMM finds the
 * register, the size and the address within the page in the instruction.  Handles the moves a driver uses for device registers: 88/89 (store r8 /
 * r16-64) and 8a/8b (load), with an operand-size or REX prefix and any memory operand form. */
#include "vmm.h"

static uint64_t *gpr(struct vm_trapframe *tf, int reg)
{
	uint64_t *regs[16] = { &tf->rax, &tf->rcx, &tf->rdx, &tf->rbx, &tf->rsp, &tf->rbp, &tf->rsi, &tf->rdi,
		               &tf->r8,  &tf->r9,  &tf->r10, &tf->r11, &tf->r12, &tf->r13, &tf->r14, &tf->r15 };
	return regs[reg & 15];
}

static int32_t disp(const uint8_t *p, int size)
{
	if (size == 1)
		return (int8_t)p[0];
	return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

int decode_mmio(struct vm_trapframe *tf, const uint8_t *p, struct mmio_access *out)
{
	int i = 0, rex = 0, size16 = 0;
	if (p[i] == 0x66)
		size16 = 1, i++;
	if ((p[i] & 0xf0) == 0x40)
		rex = p[i++];
	uint8_t op = p[i++];
	if (op < 0x88 || op > 0x8b)
		return -1;
	uint8_t modrm = p[i++];
	int mod = modrm >> 6, rm = modrm & 7, dsize = mod == 1 ? 1 : mod == 2 ? 4 : 0;
	uint64_t address = 0;
	if (mod == 3)
		return -1;
	if (rm == 4) { /* SIB */
		uint8_t sib = p[i++];
		int index = ((sib >> 3) & 7) | (rex & 2 ? 8 : 0), base = (sib & 7) | (rex & 1 ? 8 : 0);
		if (index != 4)
			address += *gpr(tf, index) << (sib >> 6);
		if ((sib & 7) == 5 && mod == 0)
			dsize = 4; /* no base: disp32 */
		else
			address += *gpr(tf, base);
	} else if (mod == 0 && rm == 5) {
		dsize = 4; /* rip-relative: from the next instruction, added below */
	} else {
		address = *gpr(tf, rm | (rex & 1 ? 8 : 0));
	}
	if (dsize)
		address += (int64_t)disp(p + i, dsize);
	i += dsize;
	if (mod == 0 && rm == 5)
		address += tf->rip + i;
	out->store = op == 0x88 || op == 0x89;
	out->size = (op & 1) == 0 ? 1 : rex & 8 ? 8 : size16 ? 2 : 4;
	out->reg = gpr(tf, ((modrm >> 3) & 7) | (rex & 4 ? 8 : 0));
	out->address = address;
	out->len = i;
	return 0;
}
