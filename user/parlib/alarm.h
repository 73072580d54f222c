/* Alarms: a function run in vcore context once virtual time passes a deadline (as Akaros's
 * parlib alarms).  Akaros arms one kernel timer per process through its #alarm device; here the
 * kernel timer is an asynchronous SYS_block whose completion (EV_SYSCALL) runs the alarms that
 * are due and arms the next.  An SCP, whose system calls block its only core, has no kernel
 * timer: its idle loop runs them (alarm_poll). */
#ifndef PARLIB_ALARM_H
#define PARLIB_ALARM_H

#include "parlib.h"

struct alarm_waiter {
	uint64_t deadline; /* read_tsc() value */
	void (*func)(struct alarm_waiter *);
	void *data;
	struct alarm_waiter *next;
	volatile uint32_t state; /* ALARM_IDLE, ALARM_SET, ALARM_RUNNING */
};

/* A deadline usec microseconds of virtual time from now. */
uint64_t alarm_deadline_in(uint64_t usec);
/* Microseconds from now until deadline (0 if it passed). */
uint64_t alarm_usec_until(uint64_t deadline);

void init_awaiter(struct alarm_waiter *w, void (*func)(struct alarm_waiter *), void *data,
                  uint64_t deadline);
/* Any context. */
void set_alarm(struct alarm_waiter *w);
/* Any context: true if w was taken off before it ran; false if it ran (set_alarm never called,
 * or it already fired); if its function is running on another vcore, returns once it is done,
 * so w may be freed afterwards. */
bool unset_alarm(struct alarm_waiter *w);
/* Run the alarms that are due (an SCP's idle loop); the microseconds until the next one, at
 * most max_usec. */
uint64_t alarm_poll(uint64_t max_usec);
/* sysc.c's EV_SYSCALL handler: true if sysc was one of the alarm service's kernel timers. */
bool alarm_timer_done(struct syscall *sysc);
/* Counters: kernel timers armed, alarms run. */
extern volatile uint64_t parlib_alarm_timers, parlib_alarms_run;

#endif
