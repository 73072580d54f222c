/* guest: prints through the serial port, asks CPUID who it runs on, says hello through a
 * VMCALL, and halts.  With several guest pcores, each adds to a shared total with atomic
 * operations; the last one to finish prints it. */
#include "guest.h"

#define COUNT 1000
#define GUEST_WAIT (1UL << 40)

static volatile uint64_t total;
static volatile uint64_t finished;
static char vendor[13];
static char hypervisor[13];

/* arg (the VMM's choice): the guest pcore id in bits 0-15, how many there are above. */
void guest_main(uint64_t arg)
{
	uint64_t gpcoreid = arg & 0xffff, nr_gpcs = (arg >> 16) & 0xffff;
	uint32_t a, b, c, d;
	cpuid(0, &a, &b, &c, &d);
	((uint32_t *)vendor)[0] = b;
	((uint32_t *)vendor)[1] = d;
	((uint32_t *)vendor)[2] = c;
	cpuid(1, &a, &b, &c, &d);
	int is_guest = (c >> 31) & 1;
	uint32_t apic = b >> 24;
	cpuid(0x40000000, &a, &b, &c, &d);
	((uint32_t *)hypervisor)[0] = b;
	((uint32_t *)hypervisor)[1] = c;
	((uint32_t *)hypervisor)[2] = d;
	serial_puts("guest: hello from guest pcore ");
	put_dec(gpcoreid);
	serial_puts(" (apic id ");
	put_dec(apic);
	serial_puts("), cpu vendor ");
	serial_puts(vendor);
	serial_puts(is_guest ? ", hypervisor " : ", no hypervisor");
	if (is_guest)
		serial_puts(hypervisor);
	serial_puts("\n");
	if (gpcoreid == 0)
		vmcall(VMCALL_PRINT, (long)"guest: a line through vmcall\n");
	if (arg & GUEST_WAIT) { /* the VMM asked for a wait: HLT until something interrupts us */
		serial_puts("guest: waiting for an interrupt\n");
		for (volatile uint64_t i = 0; i < 500000; i++) /* a while without exits */
			;
		outb(0x80, 0x42); /* a POST code, as firmware writes before it idles */
		hlt();
		serial_puts("guest: woken up\n");
	}
	for (int i = 0; i < COUNT; i++)
		__atomic_fetch_add(&total, 1, __ATOMIC_SEQ_CST);
	if (__atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST) == (nr_gpcs ? nr_gpcs : 1)) {
		serial_puts("guest: total ");
		put_dec(total);
		serial_puts(" from ");
		put_dec(nr_gpcs ? nr_gpcs : 1);
		serial_puts(" guest pcores\n");
	}
	vmcall(VMCALL_EXIT, 0);
	hlt();
}
