/* uthread_stress [VCORES [THREADS [ITERATIONS [NOTIFIES]]]]: parlib's synchronisation under
 * fire.  THREADS uthreads (default 8) on VCORES vcores (default 3) each add 1 to a counter
 * under a uth_mutex ITERATIONS times (default 2000), yielding in between, and pass a token
 * around through a condition variable; meanwhile vcore context is entered NOTIFIES times
 * (default 3000) by self-notifications sent to every vcore, interrupting uthreads wherever they
 * are -- in the middle of a context switch too.  Checks the totals and prints "ok".  With
 * VCORES 0 the process stays an SCP: the uthreads take turns on its one core and the events
 * are picked up whenever a uthread yields.  Then 64 short uthreads, one after another, each
 * filling 8 KiB of its stack: they start on the stacks the joined ones left (no mmap). */
#include "parlib/uthread.h"

static uth_mutex_t lock = UTH_MUTEX_INIT;
static uth_cond_var_t token_cv = UTH_COND_VAR_INIT;
static volatile uint64_t counter, token_passes;
static volatile uint32_t token;
static volatile uint64_t handled;
static int nr_threads;
static long iterations;

static void on_event(struct event_msg *msg, unsigned int type, void *data)
{
	(void)msg;
	(void)type;
	(void)data;
	atomic_add(&handled, 1);
}

static void *worker(void *arg)
{
	uint32_t me = (uint32_t)(long)arg;
	for (long i = 0; i < iterations; i++) {
		uth_mutex_lock(&lock);
		uint64_t c = counter;
		if (i % 7 == 0)
			uthread_sched_yield(); /* holding the mutex: others block on it */
		counter = c + 1;
		uth_mutex_unlock(&lock);
		if (i % 50 == 0) {
			/* take the token when it is ours, hand it to the next thread */
			uth_mutex_lock(&lock);
			while (token != me)
				uth_cond_var_wait(&token_cv, &lock);
			token = (me + 1) % nr_threads;
			token_passes++;
			uth_cond_var_broadcast(&token_cv);
			uth_mutex_unlock(&lock);
		}
		uthread_sched_yield();
	}
	return (void *)(long)me;
}

/* Fills 8 KiB of its stack with i * 2w and sums it: i * 1023 * 1024. */
static void *short_lived(void *arg)
{
	long i = (long)arg;
	volatile long words[1024];
	for (int w = 0; w < 1024; w++)
		words[w] = i * 2 * w;
	long sum = 0;
	for (int w = 0; w < 1024; w++)
		sum += words[w];
	return (void *)sum;
}

int main(int argc, char **argv)
{
	uint32_t vcores = argc > 1 ? atoi(argv[1]) : 3;
	nr_threads = argc > 2 ? atoi(argv[2]) : 8;
	iterations = argc > 3 ? atol(argv[3]) : 2000;
	long notifies = argc > 4 ? atol(argv[4]) : 3000;
	if (vcores > MAX_VCORES || nr_threads < 1 || nr_threads > 256 || iterations < 1 || notifies < 0) {
		dprintf(2, "usage: uthread_stress [VCORES 0..64 [THREADS 1..256 [ITERATIONS [NOTIFIES]]]]\n");
		return 2;
	}
	register_ev_handler(EV_USER_IPI, on_event, NULL);
	if (vcores == 0) {
		uthread_lib_init(NULL);
	} else if (uthread_mcp_init(NULL) < 0) {
		printf("uthread_stress: change_to_m failed\n");
		return 1;
	}
	struct uthread *threads[256];
	for (int i = 0; i < nr_threads; i++)
		threads[i] = uthread_create(worker, (void *)(long)i);
	if (vcores) {
		vcore_request_total(vcores);
		vcores = vcore_wanted();
	} else {
		vcores = 1;
	}

	/* main keeps notifying every vcore until the workers are done */
	long sent = 0;
	uint32_t v = 0;
	while (sent < notifies) {
		v = (v + 1) % vcores;
		if (vcore_notify(v, EV_USER_IPI, sent, EVENT_IPI) == 0)
			sent++;
		else if (!parlib_is_mcp)
			handle_events(0); /* a full mailbox: an SCP drains its own */
		for (volatile int spin = 0; spin < 200; spin++)
			;
		if (sent % 16 == 0)
			uthread_sched_yield();
	}
	for (int i = 0; i < nr_threads; i++) {
		void *ret;
		uthread_join(threads[i], &ret);
		if ((long)ret != i)
			parlib_panic("uthread %d returned %ld", i, (long)ret);
	}
	uint64_t reused_before = parlib_stacks_reused;
	for (long i = 0; i < 64; i++) {
		void *ret;
		struct uthread *t = uthread_create(short_lived, (void *)i);
		uthread_join(t, &ret);
		if ((long)ret != i * 1023 * 1024)
			parlib_panic("short uthread %ld returned %ld", i, (long)ret);
	}
	printf("uthread_stress: 64 short uthreads, %lu on a kept stack\n",
	       (unsigned long)(parlib_stacks_reused - reused_before));
	/* the last notifications may still be in flight: give them a moment */
	for (volatile int spin = 0; spin < 100000 && handled < (uint64_t)sent; spin++)
		if (!parlib_is_mcp)
			handle_events(0);
	struct vcore_stats st;
	vcore_stats(&st);
	printf("uthread_stress: vcore entries %lu, uthreads interrupted %lu (%lu while being "
	       "restored), notifications found pending at the end of a restore %lu\n",
	       st.entries, st.notified, st.notified_in_pop, st.pending_in_pop);
	uint64_t expected = (uint64_t)nr_threads * iterations;
	uint64_t passes = (uint64_t)nr_threads * ((iterations + 49) / 50);
	printf("uthread_stress: counter %lu of %lu, token passes %lu of %lu, "
	       "notifications sent %ld, handled %lu\n",
	       counter, expected, token_passes, passes, sent, handled);
	/* the kernel drops events for a full mailbox, so fewer may arrive than were sent */
	bool ok = counter == expected && token_passes == passes && handled <= (uint64_t)sent;
	puts(ok ? "uthread_stress: ok" : "uthread_stress: FAILED");
	return ok ? 0 : 1;
}
