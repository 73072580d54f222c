/* vmrunkernel's pieces: interrupts (posted), the 8259 + PIT timer, the virtio-mmio console
 * and the MMIO instruction decoder; guest memory is guestmem.h's, shared with vmmcheck. */
#ifndef VMRUNKERNEL_VMM_H
#define VMRUNKERNEL_VMM_H
#include "parlib/uthread.h"
#include "vmm/guestmem.h"
#include "vmm/vmm_abi.h"

#define MAX_GPCS 16
#define VIRTIO_MMIO_BASE GUEST_MEM /* the first page of the hole after RAM */
#define VIRTIO_MMIO_SIZE 0x200

extern int quiet;

/* Post @vector to guest pcore @gpcoreid and poke it (interrupts.c); 0, or -1 for a bad
 * guest pcore or vector. */
int vmm_interrupt_guest(int gpcoreid, unsigned int vector);
/* A posted interrupt the kernel has not taken yet. */
bool interrupt_posted(int gpcoreid);
extern struct posted_irq_desc posted[MAX_GPCS];

/* Virtual time in nanoseconds (rdtsc); sleep until @deadline (sys_block). */
uint64_t now_ns(void);
void sleep_until(uint64_t deadline);

/* The 8259 (ports 0x20, 0x21) and the PIT's channel 0 (0x40, 0x43), wired to guest pcore 0
 * (timer.c).  Guest pcore 0's VMM thread and the timer thread share it under a lock. */
bool timer_port(uint16_t port);
uint8_t timer_in(uint16_t port);
void timer_out(uint16_t port, uint8_t value);
void timer_poll(void);            /* raise IRQ 0 if the PIT's deadline has passed */
uint64_t timer_next_tick(void);   /* the deadline of an unmasked running PIT, or 0 */
void *timer_thread(void *arg);    /* MCP: raise the ticks while guest pcore 0 halts in the kernel */
void timer_stop(void);            /* the timer thread returns */

/* The virtio-mmio console (virtio_console.c): 32-bit register reads and writes at @offset
 * from VIRTIO_MMIO_BASE; transmitted bytes go to stdout. */
uint32_t virtio_console_load(uint64_t offset);
void virtio_console_store(uint64_t offset, uint32_t value);

/* A guest MMIO access, decoded from the instruction at rip (decode.c): mov r -> m (store) or
 * mov m -> r (load), 1, 2, 4 or 8 bytes, at guest-virtual @address. */
struct mmio_access {
	int store, size, len;
	uint64_t *reg;
	uint64_t address;
};
int decode_mmio(struct vm_trapframe *tf, const uint8_t *insn, struct mmio_access *out);
#endif
