/* A tiny bare-metal guest kernel for kernkit's VMM (user/vmm): serial console on port 0x3f8,
 * CPUID, VMCALL services of the VMM, HLT. */
#ifndef GUEST_H
#define GUEST_H
#include <stdint.h>

#define COM1 0x3f8
#define VMCALL_PRINT 1 /* rdi: guest address of a NUL-terminated string */
#define VMCALL_EXIT 2  /* rdi: status */

static inline void outb(uint16_t port, uint8_t value)
{
	__asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t value;
	__asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port));
	return value;
}

static inline void cpuid(uint32_t leaf, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(0));
}

static inline long vmcall(long nr, long arg)
{
	long ret;
	__asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "D"(arg) : "memory");
	return ret;
}

static inline void hlt(void)
{
	__asm__ volatile("hlt" ::: "memory");
}

static void serial_putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20)) /* line status: transmit holding register empty */
		;
	outb(COM1, (uint8_t)c);
}

static void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static void put_dec(uint64_t v)
{
	char buf[21];
	int i = 20;
	buf[i] = 0;
	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	serial_puts(buf + i);
}
#endif
