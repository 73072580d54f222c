/* A tiny bare-metal guest kernel for kernkit's VMM (user/vmm): serial console on port 0x3f8,
 * CPUID, VMCALL services of the VMM, HLT. */
#ifndef GUEST_H
#define GUEST_H
#include <stdint.h>

#define COM1 0x3f8
#define VMCALL_PRINT 1 /* rdi: guest address of a NUL-terminated string */
#define VMCALL_EXIT 2  /* rdi: status */
#define VMCALL_IPI 3   /* rdi: destination guest pcore, rsi: vector */

#define VECTOR_TIMER 0x20  /* IRQ 0, with the 8259 based at 0x20 */
#define VECTOR_WAKEUP 0xf0 /* the IPI a sibling sends to guest pcore 0 */
#define VIRTIO_MMIO_BASE 0x1000000UL /* the virtio-mmio console, in the hole after RAM */

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

static inline long vmcall2(long nr, long arg0, long arg1)
{
	long ret;
	__asm__ volatile("vmcall" : "=a"(ret) : "a"(nr), "D"(arg0), "S"(arg1) : "memory");
	return ret;
}

static inline void cli(void)
{
	__asm__ volatile("cli" ::: "memory");
}

/* sti; hlt: the interrupt shadow of sti makes the pair atomic, no wake-up is lost. */
static inline void sti_hlt(void)
{
	__asm__ volatile("sti; hlt" ::: "memory");
}

static inline void mmio_write32(uint64_t address, uint32_t value)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(value), "r"(address) : "memory");
}

static inline uint32_t mmio_read32(uint64_t address)
{
	uint32_t value;
	__asm__ volatile("movl (%1), %0" : "=r"(value) : "r"(address) : "memory");
	return value;
}

static inline void hlt(void)
{
	__asm__ volatile("hlt" ::: "memory");
}

static inline void serial_putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20)) /* line status: transmit holding register empty */
		;
	outb(COM1, (uint8_t)c);
}

static inline void serial_puts(const char *s)
{
	while (*s)
		serial_putc(*s++);
}

static inline void put_dec(uint64_t v)
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
int virtio_console_write(const char *s, uint32_t len); /* virtio.c: 0, or -1: no device */
#endif
