/* guest: prints through the serial port, asks CPUID who it runs on, says hello through a
 * VMCALL and through the virtio-mmio console, adds to a shared total with atomic operations,
 * takes its own timer (the 8259 and the PIT the VMM emulates) and halts.  When several guest
 * pcores run at the same time, guest pcore 0 halts until the last sibling to finish wakes it
 * with an IPI, and prints the total. */
#include "guest.h"

#define COUNT 1000
#define TICKS 3
#define SLOW_COUNT 0xffff  /* the PIT's slowest rate, about 18 Hz: programmed first */
#define TIMER_COUNT 0x2e00 /* then about 100 Hz (101.3), written as its high byte alone */
#define SETTLE 1000000     /* pause loops between the two: the VMM's timer waits for the first */
/* arg (the VMM's choice): the guest pcore id in bits 0-15, how many there are in 16-31, and: */
#define GUEST_WAIT (1UL << 40)     /* HLT once with interrupts off (the kernel halts us) */
#define GUEST_TIMER (1UL << 41)    /* the VMM serves the 8259 and the PIT: take 3 ticks */
#define GUEST_TOGETHER (1UL << 42) /* the guest pcores run at the same time */

struct gate {
	uint16_t offset_low, selector, flags, offset_mid;
	uint32_t offset_high, reserved;
};

static struct gate idt[256] __attribute__((aligned(16)));
static volatile uint64_t total;
static volatile uint64_t finished;
static volatile uint64_t zero_waits;
static volatile uint64_t ticks;
static volatile uint64_t wakeups;
static char vendor[13];
static char hypervisor[13];
static const char virtio_line[] = "guest: a line through the virtio-mmio console\n";

void timer_entry(void);
void wakeup_entry(void);

void on_timer(void)
{
	ticks++;
	serial_puts("guest: tick ");
	put_dec(ticks);
	serial_puts("\n");
	outb(0x20, 0x20); /* EOI to the 8259 */
}

void on_wakeup(void)
{
	wakeups++;
}

static void set_gate(int vector, void (*handler)(void))
{
	uint64_t at = (uint64_t)handler;
	idt[vector] = (struct gate){ .offset_low = (uint16_t)at, .selector = 0x08, .flags = 0x8e00,
		                     .offset_mid = (uint16_t)(at >> 16), .offset_high = (uint32_t)(at >> 32) };
}

static void load_idt(void)
{
	struct __attribute__((packed)) {
		uint16_t limit;
		uint64_t base;
	} idtr = { sizeof idt - 1, (uint64_t)idt };
	set_gate(VECTOR_TIMER, timer_entry);
	set_gate(VECTOR_WAKEUP, wakeup_entry);
	__asm__ volatile("lidt %0" : : "m"(idtr));
}

/* The 8259 based at VECTOR_TIMER, only IRQ 0 unmasked; the PIT's channel 0 at its slowest
 * rate, then at about 100 Hz: the first tick comes at the new rate, not at the old deadline,
 * and the high byte written alone zeroes the low byte (as the 8254 does). */
static void take_ticks(void)
{
	outb(0x20, 0x11); /* ICW1: init, ICW4 follows */
	outb(0x21, VECTOR_TIMER);
	outb(0x21, 0x04);
	outb(0x21, 0x01);
	outb(0x21, 0xfe);
	outb(0x43, 0x34); /* channel 0, low then high byte, mode 2 (rate generator) */
	outb(0x40, (uint8_t)SLOW_COUNT);
	outb(0x40, (uint8_t)(SLOW_COUNT >> 8));
	for (int i = 0; i < SETTLE; i++)
		__asm__ volatile("pause");
	outb(0x43, 0x24); /* channel 0, high byte only, mode 2 */
	outb(0x40, (uint8_t)(TIMER_COUNT >> 8));
	cli();
	while (ticks < TICKS)
		sti_hlt();
	cli();
	outb(0x21, 0xff); /* mask IRQ 0 */
	outb(0x43, 0x30); /* channel 0, mode 0, no count: stopped */
	serial_puts("guest: timer off after ");
	put_dec(ticks);
	serial_puts(" ticks\n");
}

static void print_total(uint64_t nr_gpcs)
{
	serial_puts("guest: total ");
	put_dec(total);
	serial_puts(" from ");
	put_dec(nr_gpcs);
	serial_puts(" guest pcores\n");
}

void guest_main(uint64_t arg)
{
	uint64_t gpcoreid = arg & 0xffff, nr_gpcs = (arg >> 16) & 0xffff;
	uint32_t a, b, c, d;
	if (!nr_gpcs)
		nr_gpcs = 1;
	load_idt();
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
	if (gpcoreid == 0) {
		vmcall(VMCALL_PRINT, (long)"guest: a line through vmcall\n");
		if (virtio_console_write(virtio_line, sizeof virtio_line - 1) < 0)
			serial_puts("guest: no virtio-mmio console\n");
	}
	if (arg & GUEST_WAIT) { /* the VMM asked for a wait: HLT until something interrupts us */
		serial_puts("guest: waiting for an interrupt\n");
		for (volatile uint64_t i = 0; i < 500000; i++) /* a while without exits */
			;
		outb(0x80, 0x42); /* a POST code, as firmware writes before it idles */
		hlt();
		serial_puts("guest: woken up\n");
	}
	int together = (arg & GUEST_TOGETHER) && nr_gpcs > 1;
	if (together && gpcoreid != 0) /* start counting once guest pcore 0 is about to wait */
		while (!__atomic_load_n(&zero_waits, __ATOMIC_ACQUIRE))
			;
	for (int i = 0; i < COUNT; i++)
		__atomic_fetch_add(&total, 1, __ATOMIC_SEQ_CST);
	uint64_t done = __atomic_add_fetch(&finished, 1, __ATOMIC_SEQ_CST);
	if (together && gpcoreid == 0) {
		__atomic_store_n(&zero_waits, 1, __ATOMIC_RELEASE);
		cli();
		while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < nr_gpcs)
			sti_hlt();
		cli();
		serial_puts("guest: guest pcore 0 woken by ");
		put_dec(wakeups);
		serial_puts(wakeups == 1 ? " interrupt from a sibling\n" : " interrupts from siblings\n");
		print_total(nr_gpcs);
	} else if (together && done == nr_gpcs) {
		vmcall2(VMCALL_IPI, 0, VECTOR_WAKEUP);
	} else if (!together && done == nr_gpcs) {
		print_total(nr_gpcs);
	}
	if (gpcoreid == 0 && (arg & GUEST_TIMER))
		take_ticks();
	vmcall(VMCALL_EXIT, 0);
	hlt();
}
