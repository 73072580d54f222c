/* Per-vcore ticks (vcore_tick.h). */
#include "vcore_tick.h"

#include "alarm.h"
#include "uthread.h"

struct vcore_tick {
	struct syscall sysc; /* the kernel timer: the kernel writes it until SC_DONE */
	struct event_queue *ev_q;
	uint64_t period;        /* cycles */
	uint64_t next_deadline; /* read_tsc() value */
	bool enabled, timer_out;
};

volatile uint64_t parlib_tick_timers, parlib_ticks;
/* Each is touched by its own vcore only, in vcore context. */
static struct vcore_tick *ticks[MAX_VCORES];
uint64_t __vcore_tick_usec[MAX_VCORES];

static struct vcore_tick *my_tick(void)
{
	uint32_t v = vcore_id();
	struct vcore_tick *t = ticks[v];
	if (!t) {
		t = calloc(1, sizeof *t);
		if (!t)
			parlib_panic("vcore_tick: out of memory");
		t->ev_q = get_eventq_vcpd(v, EVENT_IPI | EVENT_VCORE_PRIVATE);
		ticks[v] = t;
	}
	return t;
}

/* A kernel timer for next_deadline, unless one is out: it fires no later, since deadlines only
 * move forward by whole periods (a poll after an early one arms another for the rest). */
static void arm(struct vcore_tick *t)
{
	if (!parlib_is_mcp || (t->timer_out && !(atomic_read(&t->sysc.flags) & SC_DONE)))
		return;
	uint64_t usec = alarm_usec_until(t->next_deadline);
	memset(&t->sysc, 0, sizeof t->sysc);
	t->sysc.num = SYS_block;
	t->sysc.arg0 = (int64_t)(usec ? usec : 1);
	/* u_data stays NULL: parlib's EV_SYSCALL handler has no uthread to wake for it */
	t->timer_out = true;
	atomic_add(&parlib_tick_timers, 1);
	ros_submit(&t->sysc, 1);
	if (!register_evq(&t->sysc, t->ev_q))
		t->timer_out = false; /* done already: the next poll arms again */
}

void __vcore_tick_start(uint64_t period_usec)
{
	struct vcore_tick *t = my_tick();
	uint64_t period = period_usec * (procinfo()->tsc_freq / 1000000);
	t->period = period ? period : 1;
	t->next_deadline = read_tsc() + t->period;
	t->enabled = period_usec != 0;
	__vcore_tick_usec[vcore_id()] = period_usec;
	if (t->enabled)
		arm(t);
}

void vcore_tick_disable(void)
{
	uint32_t v = vcore_id();
	if (ticks[v])
		ticks[v]->enabled = false;
	__vcore_tick_usec[v] = 0;
}

uint32_t vcore_tick_poll(void)
{
	struct vcore_tick *t = ticks[vcore_id()];
	if (!t || !t->enabled)
		return 0;
	uint64_t now = read_tsc();
	uint32_t n = 0;
	if (now >= t->next_deadline) {
		uint64_t periods = (now - t->next_deadline) / t->period + 1;
		t->next_deadline += periods * t->period;
		n = periods > 0xffffffffu ? 0xffffffffu : (uint32_t)periods;
		atomic_add(&parlib_ticks, 1);
	}
	arm(t);
	return n;
}
