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

struct spin_pdr_lock {
	spinlock_t lock;
};

#define SPIN_PDR_INITIALIZER { SPINLOCK_INITIALIZER }

void uth_disable_notifs(void);
void uth_enable_notifs(void);

static inline void spin_pdr_lock(struct spin_pdr_lock *l)
{
	uth_disable_notifs();
	spin_lock(&l->lock);
}

static inline void spin_pdr_unlock(struct spin_pdr_lock *l)
{
	spin_unlock(&l->lock);
	uth_enable_notifs();
}

#endif
