/* Alarms (alarm.h): a list sorted by deadline, and kernel timers (asynchronous SYS_block calls)
 * outstanding for the earliest deadlines. */
#include "alarm.h"

#include "uthread.h"

enum { ALARM_IDLE, ALARM_SET, ALARM_RUNNING };

/* One outstanding kernel timer: its struct syscall must live until the kernel finishes it. */
struct alarm_timer {
	struct syscall sysc;
	uint64_t deadline;
	struct alarm_timer *next;
};

volatile uint64_t parlib_alarm_timers, parlib_alarms_run;
static struct spin_pdr_lock alarm_lock = SPIN_PDR_INITIALIZER;
static struct alarm_waiter *alarms;  /* sorted by deadline */
static struct alarm_timer *timers;   /* outstanding kernel timers */

static uint64_t tsc_freq(void)
{
	return procinfo()->tsc_freq;
}

uint64_t alarm_deadline_in(uint64_t usec)
{
	return read_tsc() + usec * (tsc_freq() / 1000000);
}

uint64_t alarm_usec_until(uint64_t deadline)
{
	uint64_t now = read_tsc(), per_usec = tsc_freq() / 1000000;
	if (deadline <= now)
		return 0;
	return (deadline - now + per_usec - 1) / per_usec;
}

void init_awaiter(struct alarm_waiter *w, void (*func)(struct alarm_waiter *), void *data,
                  uint64_t deadline)
{
	w->deadline = deadline;
	w->func = func;
	w->data = data;
	w->next = NULL;
	w->state = ALARM_IDLE;
}

/* With alarm_lock held: is a kernel timer due at or before deadline already? */
static bool timer_covers(uint64_t deadline)
{
	for (struct alarm_timer *t = timers; t; t = t->next)
		if (t->deadline <= deadline)
			return true;
	return false;
}

static void arm_timer(uint64_t deadline);

/* Take the due alarms off the list one at a time and run them (lock not held while they run). */
static void run_due(void)
{
	for (;;) {
		spin_pdr_lock(&alarm_lock);
		struct alarm_waiter *w = alarms;
		if (!w || w->deadline > read_tsc()) {
			uint64_t next = w ? w->deadline : 0;
			bool armed = !w || timer_covers(next);
			spin_pdr_unlock(&alarm_lock);
			if (!armed)
				arm_timer(next);
			return;
		}
		alarms = w->next;
		w->state = ALARM_RUNNING;
		spin_pdr_unlock(&alarm_lock);
		atomic_add(&parlib_alarms_run, 1);
		w->func(w);
		atomic_set(&w->state, ALARM_IDLE); /* the last touch: unset_alarm waits for it */
	}
}

static void forget_timer(struct alarm_timer *timer)
{
	spin_pdr_lock(&alarm_lock);
	for (struct alarm_timer **p = &timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = timer->next;
			break;
		}
	}
	spin_pdr_unlock(&alarm_lock);
	free(timer);
}

/* A kernel timer for deadline, unless one due as early is outstanding (MCPs only). */
static void arm_timer(uint64_t deadline)
{
	if (!parlib_is_mcp || !sysc_event_queue())
		return;
	struct alarm_timer *timer = calloc(1, sizeof *timer);
	if (!timer)
		parlib_panic("alarm: out of memory");
	spin_pdr_lock(&alarm_lock);
	if (timer_covers(deadline)) {
		spin_pdr_unlock(&alarm_lock);
		free(timer);
		return;
	}
	timer->deadline = deadline;
	timer->next = timers;
	timers = timer;
	spin_pdr_unlock(&alarm_lock);
	uint64_t usec = alarm_usec_until(deadline);
	timer->sysc.num = SYS_block;
	timer->sysc.arg0 = (int64_t)(usec ? usec : 1);
	timer->sysc.u_data = timer;
	atomic_add(&parlib_alarm_timers, 1);
	ros_submit(&timer->sysc, 1);
	if (!register_evq(&timer->sysc, sysc_event_queue())) { /* finished already */
		forget_timer(timer);
		run_due();
	}
}

bool alarm_timer_done(struct syscall *sysc)
{
	spin_pdr_lock(&alarm_lock);
	struct alarm_timer *t = timers;
	while (t && &t->sysc != sysc)
		t = t->next;
	spin_pdr_unlock(&alarm_lock);
	if (!t)
		return false;
	forget_timer(t);
	run_due();
	return true;
}

void set_alarm(struct alarm_waiter *w)
{
	spin_pdr_lock(&alarm_lock);
	struct alarm_waiter **p = &alarms;
	while (*p && (*p)->deadline <= w->deadline)
		p = &(*p)->next;
	w->next = *p;
	*p = w;
	w->state = ALARM_SET;
	bool armed = timer_covers(w->deadline);
	spin_pdr_unlock(&alarm_lock);
	if (!armed)
		arm_timer(w->deadline);
}

bool unset_alarm(struct alarm_waiter *w)
{
	spin_pdr_lock(&alarm_lock);
	bool removed = false;
	if (w->state == ALARM_SET) {
		for (struct alarm_waiter **p = &alarms; *p; p = &(*p)->next) {
			if (*p == w) {
				*p = w->next;
				removed = true;
				break;
			}
		}
		w->state = ALARM_IDLE;
	}
	spin_pdr_unlock(&alarm_lock);
	while (atomic_read(&w->state) == ALARM_RUNNING)
		cpu_relax();
	return removed;
}

uint64_t alarm_poll(uint64_t max_usec)
{
	run_due();
	spin_pdr_lock(&alarm_lock);
	uint64_t next = alarms ? alarm_usec_until(alarms->deadline) : max_usec;
	spin_pdr_unlock(&alarm_lock);
	return next < max_usec ? next : max_usec;
}
