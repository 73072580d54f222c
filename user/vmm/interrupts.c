/* Interrupts into guest pcores, as Akaros's VMM sends them: set the vector's bit in the guest
 * pcore's posted-interrupt descriptor, then the outstanding-notification bit, then poke it
 * (the kernel takes the bits before the guest runs again and wakes it if it halted in the
 * kernel). */
#include "vmm.h"

struct posted_irq_desc posted[MAX_GPCS];
extern int nr_gpcs;

bool interrupt_posted(int gpcoreid)
{
	return __atomic_load_n(&posted[gpcoreid].control, __ATOMIC_ACQUIRE) & 1;
}

int vmm_interrupt_guest(int gpcoreid, unsigned int vector)
{
	if (gpcoreid < 0 || gpcoreid >= nr_gpcs || vector < 32 || vector >= POSTED_OUTSTANDING_NOTIF)
		return -1;
	struct posted_irq_desc *desc = &posted[gpcoreid];
	__atomic_fetch_or(&desc->pir[vector / 64], 1UL << (vector % 64), __ATOMIC_SEQ_CST);
	/* a notification already outstanding was poked by whoever set it */
	if (!(__atomic_fetch_or(&desc->control, 1, __ATOMIC_SEQ_CST) & 1))
		ros_syscall(SYS_vmm_poke_guest, gpcoreid, 0, 0, 0, 0, 0);
	return 0;
}

uint64_t now_ns(void)
{
	uint64_t tsc = read_tsc(), freq = procinfo()->tsc_freq;
	return tsc / freq * 1000000000UL + tsc % freq * 1000000000UL / freq;
}

void sleep_until(uint64_t deadline)
{
	uint64_t now = now_ns();
	if (deadline > now)
		sys_block((deadline - now + 999) / 1000);
}
