/* The FIFO 2LS: one run queue shared by all vcores.  An interrupted uthread resumes at once on
 * its vcore; a vcore with nothing to run spins a while, then gives its core back (or keeps
 * spinning, with FIFO_IDLE_SPIN).  Making a uthread runnable asks the kernel again for the
 * vcores the program wanted if idle ones have yielded meanwhile. */
#include "alarm.h"
#include "uthread.h"
#include "vcore_tick.h"

#define IDLE_SPINS 2000

static struct spin_pdr_lock rq_lock = SPIN_PDR_INITIALIZER;
static struct uthread *rq_head, *rq_tail;
static volatile uint32_t nr_queued;
static enum fifo_idle idle_policy = FIFO_IDLE_YIELD;

void fifo_set_idle(enum fifo_idle policy)
{
	idle_policy = policy;
}

uint32_t fifo_nr_queued(void)
{
	return atomic_read(&nr_queued);
}

static void enqueue(struct uthread *uth)
{
	spin_pdr_lock(&rq_lock);
	uth->next = NULL;
	if (rq_tail)
		rq_tail->next = uth;
	else
		rq_head = uth;
	rq_tail = uth;
	atomic_add(&nr_queued, 1);
	spin_pdr_unlock(&rq_lock);
}

/* inlined: the uthread switch path goes through it */
static inline __attribute__((always_inline)) struct uthread *dequeue(void)
{
	if (!atomic_read(&nr_queued))
		return NULL;
	spin_pdr_lock(&rq_lock); /* vcore context only */
	struct uthread *uth = rq_head;
	if (uth) {
		rq_head = uth->next;
		if (!rq_head)
			rq_tail = NULL;
		uth->next = NULL;
		atomic_add(&nr_queued, -1);
	}
	spin_pdr_unlock(&rq_lock);
	return uth;
}

static void fifo_idle(void)
{
	uint32_t v = vcore_id();
	volatile struct preempt_data *vcpd = vcpd_of(v);
	for (int i = 0; i < IDLE_SPINS; i++) {
		if (atomic_read(&nr_queued))
			return;
		if (vcpd->notif_pending) {
			handle_events(v);
			return;
		}
		cpu_relax();
	}
	if (!parlib_is_mcp) {
		/* An SCP cannot give its only core away: wait for an event or an alarm to make work. */
		uint64_t usec = alarm_poll(1000);
		if (usec)
			sys_block(usec);
		alarm_poll(0);
		handle_events(v);
		return;
	}
	vcore_tick_disable(); /* no slices to end while nothing runs; the next uthread starts one */
	if (idle_policy == FIFO_IDLE_YIELD)
		vcore_yield(false);
}

static void fifo_sched_entry(void)
{
	if (current_uthread())
		run_current_uthread(); /* a notification interrupted it: carry on */
	for (;;) {
		struct uthread *uth = dequeue();
		if (uth)
			run_uthread(uth);
		fifo_idle();
	}
}

/* fifo_sched_entry's choice, for a 2LS that runs it itself (kept apart: this path is the uthread
 * switch's, and a call here costs it cycles). */
struct uthread *fifo_next_uthread(void)
{
	struct uthread *uth = current_uthread();
	while (!uth) {
		uth = dequeue();
		if (!uth)
			fifo_idle();
	}
	return uth;
}

static void fifo_thread_runnable(struct uthread *uth)
{
	enqueue(uth);
	if (parlib_is_mcp)
		vcore_request_back();
}

static void fifo_thread_paused(struct uthread *uth)
{
	enqueue(uth);
}

static void fifo_thread_blockon_sysc(struct uthread *uth, void *sysc)
{
	if (!register_evq(sysc, sysc_event_queue()))
		fifo_thread_runnable(uth); /* it finished while we were stopping */
}

static void fifo_thread_has_blocked(struct uthread *uth, int flags)
{
	(void)uth; /* the sync object holds it until thread_runnable */
	(void)flags;
}

static void fifo_thread_exited(struct uthread *uth)
{
	(void)uth;
}

static bool fifo_has_runnable(void)
{
	return atomic_read(&nr_queued) != 0;
}

struct schedule_ops fifo_sched_ops = {
	.sched_entry = fifo_sched_entry,
	.thread_runnable = fifo_thread_runnable,
	.thread_paused = fifo_thread_paused,
	.thread_blockon_sysc = fifo_thread_blockon_sysc,
	.thread_has_blocked = fifo_thread_has_blocked,
	.thread_exited = fifo_thread_exited,
	.has_runnable = fifo_has_runnable,
};
