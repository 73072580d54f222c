/* Interrupts into guest pcores, as Akaros's VMM sends them: set the vector's bit in the guest
 * pcore's posted-interrupt descriptor, then the outstanding-notification bit, then poke it
 * (the kernel takes the bits before the guest runs again and wakes it if it halted in the
 * kernel); a VMM thread waiting for its guest pcore's halt to end is signalled too. */
#include "vmm.h"

struct posted_irq_desc posted[MAX_GPCS];
extern int nr_gpcs;

static struct { /* all-zero is UTH_MUTEX_INIT / UTH_COND_VAR_INIT */
	uth_mutex_t mtx;
	uth_cond_var_t cv;
} halts[MAX_GPCS];

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
	if (!(__atomic_fetch_or(&desc->control, 1, __ATOMIC_SEQ_CST) & 1)) {
		ros_syscall(SYS_vmm_poke_guest, gpcoreid, 0, 0, 0, 0, 0);
		uth_mutex_lock(&halts[gpcoreid].mtx);
		uth_cond_var_signal(&halts[gpcoreid].cv);
		uth_mutex_unlock(&halts[gpcoreid].mtx);
	}
	return 0;
}

void wait_for_posted(int gpcoreid)
{
	uth_mutex_lock(&halts[gpcoreid].mtx);
	while (!interrupt_posted(gpcoreid))
		uth_cond_var_wait(&halts[gpcoreid].cv, &halts[gpcoreid].mtx);
	uth_mutex_unlock(&halts[gpcoreid].mtx);
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
