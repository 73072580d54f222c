/* Per-vcore ticks (Akaros's vcore_tick): a vcore that enables its tick is interrupted every
 * period of virtual time while it runs a uthread, and a 2LS asks in vcore context how many
 * periods passed (vcore_tick_poll), to take the CPU from a uthread that does not give it up.
 * The kernel timer is an asynchronous SYS_block of the vcore's own whose EV_SYSCALL goes to that
 * vcore only (EVENT_IPI into its private mailbox), as Akaros points an #alarm's event queue at
 * one vcore.  A poll judges by read_tsc(), not by the events, so a late or stray timer event
 * costs a vcore entry and nothing else.  MCPs only: an SCP has no kernel timer (alarm.h). */
#ifndef PARLIB_VCORE_TICK_H
#define PARLIB_VCORE_TICK_H

#include "parlib.h"
#include "vcore.h"

/* The period each vcore ticks with, in microseconds (0: off); vcore_tick.c's. */
extern uint64_t __vcore_tick_usec[MAX_VCORES];
void __vcore_tick_start(uint64_t period_usec);

/* Vcore context: tick every period_usec from now on this vcore (a no-op if it already ticks
 * with that period: a 2LS calls it each time it runs a uthread, so that path is a compare). */
static inline void vcore_tick_enable(uint64_t period_usec)
{
	if (__vcore_tick_usec[vcore_id()] != period_usec)
		__vcore_tick_start(period_usec);
}
/* Vcore context: stop ticking on this vcore (a timer still out fires once, harmlessly). */
void vcore_tick_disable(void);
/* Vcore context: how many periods ended since the last poll (0 if the tick is off); arms the
 * kernel timer for the next one. */
uint32_t vcore_tick_poll(void);
/* Counters: kernel timers armed, ticks seen by polls. */
extern volatile uint64_t parlib_tick_timers, parlib_ticks;

#endif
