/* Spinlocks.
 *
 * spinlock_t is for vcore context (notifications already off).  A spin_pdr_lock may also be
 * taken in uthread context: it turns notifications off while held, so vcore context never
 * interrupts the holder on its own vcore (where it could spin on the same lock forever). */
#ifndef PARLIB_SPINLOCK_H
#define PARLIB_SPINLOCK_H

#include "arch.h"

typedef struct {
	volatile uint32_t locked;
} spinlock_t;

#define SPINLOCK_INITIALIZER { 0 }

static inline bool spin_trylock(spinlock_t *l)
{
	return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_lock(spinlock_t *l)
{
	while (!spin_trylock(l))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			cpu_relax();
}

static inline void spin_unlock(spinlock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* PDR locks ("preemption detection and recovery"): a spinlock that may be taken in uthread
 * context too (it turns notifications off while held, so vcore context never interrupts the
 * holder on its own vcore), and that records which vcore holds it.  A waiter whose holder's
 * vcore was preempted would spin for ever (the holder has no core); instead it gives its own
 * core to the holder (ensure_vcore_runs: SYS_change_vcore), which finishes its critical section
 * and lets go. */
#define SPINPDR_UNLOCKED 0u /* so that zeroed memory (a UCQ the kernel set up) is unlocked */

struct spin_pdr_lock {
	volatile uint32_t lock; /* the holder's vcore id + 1, or SPINPDR_UNLOCKED */
	uint32_t pad;
};

#define SPIN_PDR_INITIALIZER { SPINPDR_UNLOCKED, 0 }

void uth_disable_notifs(void);
void uth_enable_notifs(void);
/* vcore.c: is vcoreid's core taken by the kernel, and if so, give it ours for a while. */
bool vcore_is_preempted(uint32_t vcoreid);
void ensure_vcore_runs(uint32_t vcoreid);
/* How many times a PDR lock's waiter found the holder preempted and handed it its core. */
extern volatile uint64_t parlib_pdr_recoveries;

static inline void spin_pdr_init(struct spin_pdr_lock *l)
{
	l->lock = SPINPDR_UNLOCKED;
}

static inline uint32_t __pdr_me(void)
{
	uint32_t id;
	__asm__ volatile("movl %%fs:40, %0" : "=r"(id)); /* vcore_id(), without vcore.h */
	return id + 1;
}

static inline bool spin_pdr_trylock(struct spin_pdr_lock *l)
{
	uth_disable_notifs();
	uint32_t expected = SPINPDR_UNLOCKED;
	if (__atomic_compare_exchange_n(&l->lock, &expected, __pdr_me(), false, __ATOMIC_ACQUIRE,
	                                __ATOMIC_RELAXED))
		return true;
	uth_enable_notifs();
	return false;
}

static inline void spin_pdr_lock(struct spin_pdr_lock *l)
{
	uth_disable_notifs();
	uint32_t me = __pdr_me();
	for (;;) {
		uint32_t holder = __atomic_load_n(&l->lock, __ATOMIC_RELAXED);
		if (holder == SPINPDR_UNLOCKED) {
			if (__atomic_compare_exchange_n(&l->lock, &holder, me, false, __ATOMIC_ACQUIRE,
			                                __ATOMIC_RELAXED))
				return;
			continue;
		}
		if (holder != me && vcore_is_preempted(holder - 1))
			ensure_vcore_runs(holder - 1);
		cpu_relax();
	}
}

static inline void spin_pdr_unlock(struct spin_pdr_lock *l)
{
	__atomic_store_n(&l->lock, SPINPDR_UNLOCKED, __ATOMIC_RELEASE);
	uth_enable_notifs();
}

#endif
