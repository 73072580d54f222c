/* badguest: a bare-metal guest that misbehaves on purpose, for user/vmm/vmmcheck.c.  The VMM
 * chooses what it does in rdi: the mode in bits 0-7, a count N above them.
 *
 *   0 ok            print a line on the serial port, VMCALL exit 0
 *   1 ud2           an invalid opcode with no IDT loaded: a triple fault
 *   2 gp            a load from a non-canonical address with no IDT: #GP, a triple fault
 *   3 hole          jump into the 16 MiB hole above guest RAM: an EPT violation (fetch)
 *   4 unmapped      jump past what the guest's page tables map: #PF, a triple fault
 *   5 noncanonical  jump to a non-canonical address: #GP, a triple fault
 *   6 flood         OUT to port 0x80 forever: an exit to the VMM per instruction, no end
 *   7 out           N OUTs to port 0x80, then VMCALL exit 0 (the exit benchmark)
 *   8 spin          user/spin.c's loop N times, then VMCALL exit 0 (the MIPS benchmark)
 *   9 idt-ud2       ud2 with an IDT loaded: an exception exit (vector 6), not a triple fault */
#include "guest.h"

#define HOLE 0x1000000UL          /* guest RAM is 16 MiB; the VMM maps as much again above it */
#define UNMAPPED 0x40000000UL     /* 1 GiB: past the 32 MiB the VMM's page tables map */
#define NONCANONICAL 0x800000000000UL

static volatile uint64_t sink;
static uint64_t idt[2 * 32]; /* 16-byte gates; all not present: any vector faults */

static void jump(uint64_t target)
{
	__asm__ volatile("jmp *%0" : : "r"(target));
}

static void spin(uint64_t n)
{
	uint64_t x = 1, acc = 0;
	for (uint64_t i = 0; i < n; i++) { /* the loop of user/spin.c */
		x = x * 6364136223846793005ULL + 1442695040888963407ULL;
		acc += x >> 33;
	}
	sink = acc;
}

void guest_main(uint64_t arg)
{
	uint64_t n = arg >> 8;
	switch (arg & 0xff) {
	case 0:
		serial_puts("badguest: ok\n");
		break;
	case 1:
		__asm__ volatile("ud2");
		break;
	case 2:
		sink = *(volatile uint64_t *)NONCANONICAL;
		break;
	case 3:
		jump(HOLE + 0x1000);
		break;
	case 4:
		jump(UNMAPPED);
		break;
	case 5:
		jump(NONCANONICAL);
		break;
	case 6:
		for (uint8_t i = 0;; i++)
			outb(0x80, i);
	case 7:
		for (uint64_t i = 0; i < n; i++)
			outb(0x80, (uint8_t)i);
		break;
	case 8:
		spin(n);
		break;
	case 9: {
		struct __attribute__((packed)) {
			uint16_t limit;
			uint64_t base;
		} idtr = { sizeof idt - 1, (uint64_t)idt };
		__asm__ volatile("lidt %0; ud2" : : "m"(idtr));
		break;
	}
	default:
		serial_puts("badguest: unknown mode ");
		put_dec(arg & 0xff);
		serial_puts("\n");
		vmcall(VMCALL_EXIT, 2);
	}
	vmcall(VMCALL_EXIT, 0);
	hlt();
}
