/* The pthreads 2LS: every pthread is a uthread, run on the process's vcores by parlib's FIFO
 * scheduler.  The program becomes an MCP before main (__parlib_preinit) and asks for a vcore per
 * live pthread, up to what the kernel allows; blocking calls block only their pthread
 * (asynchronous system calls), and locks, condition variables and joins never enter the kernel.
 * A pthread that holds its vcore past a time slice while others wait goes to the back of the run
 * queue (signal.c's sched_entry, vcore_tick.h).  Timed waits end by parlib alarms; cancellation is deferred: a cancelled pthread exits at its
 * next cancellation point, and one waiting at a point is woken (uthread_interrupt). */
#include <errno.h>
#include <pthread.h>
#include <time.h>

#include "parlib/alarm.h"
#include "parlib/uthread.h"
#include "posix.h"

_Static_assert(sizeof(((pthread_mutex_t *)0)->opaque) >= sizeof(uth_mutex_t), "pthread_mutex_t");
_Static_assert(sizeof(pthread_cond_t) >= sizeof(uth_cond_var_t), "pthread_cond_t");

static struct pthread main_thread;
static int vcore_errno; /* errno of code running in vcore context */
static volatile uint32_t nr_live = 1;
volatile unsigned long posix_sched_period = PTHREAD_SCHED_PERIOD_DEFAULT;

static struct {
	volatile uint32_t used;
	void (*destructor)(void *);
} keys[PTHREAD_KEYS_MAX];

static uth_mutex_t *mutex_of(pthread_mutex_t *m)
{
	return (uth_mutex_t *)m->opaque;
}

static uth_cond_var_t *cv_of(pthread_cond_t *cv)
{
	return (uth_cond_var_t *)cv->opaque;
}

int *__errno_location(void)
{
	struct uthread *uth = current_uthread();
	if (!uth || in_vcore_context() || !uth->tcb)
		return &vcore_errno;
	return &((struct pthread *)uth->tcb)->err;
}

/* Before main: thread 0 becomes the main pthread of an MCP on vcore 0 (an SCP if the kernel
 * refuses: pthreads then take turns on its one core). */
void __parlib_preinit(void)
{
	static struct schedule_ops pthread_sched_ops;
	pthread_sched_ops = fifo_sched_ops;
	pthread_sched_ops.sched_entry = posix_sched_entry;
	const char *period = getenv("PTHREAD_SCHED_PERIOD");
	if (period) {
		char *end;
		unsigned long usec = strtoul(period, &end, 10);
		if (*period && !*end)
			posix_sched_period = usec;
		else
			dprintf(2, "pthread: PTHREAD_SCHED_PERIOD=%s is no number of microseconds; the slice "
			           "stays %lu\n", period, posix_sched_period);
	}
	posix_signals_early(); /* before the first look at events: a kill may have come already */
	uthread_mcp_init(&pthread_sched_ops);
	main_thread.uth = current_uthread();
	main_thread.uth->tcb = &main_thread;
	posix_thread_live(&main_thread);
	posix_signals_init();
}

/* One vcore per live pthread, as far as the kernel grants. */
static void want_vcores(uint32_t live)
{
	uint32_t want = live < max_vcores() ? live : max_vcores();
	if (parlib_is_mcp && want > vcore_wanted())
		vcore_request_total(want);
}

static void run_destructors(struct pthread *self)
{
	for (int round = 0; round < 4; round++) { /* PTHREAD_DESTRUCTOR_ITERATIONS */
		bool again = false;
		for (unsigned k = 0; k < PTHREAD_KEYS_MAX; k++) {
			void *value = self->specific[k];
			if (!value || !atomic_read(&keys[k].used) || !keys[k].destructor)
				continue;
			self->specific[k] = NULL;
			keys[k].destructor(value);
			again = true;
		}
		if (!again)
			return;
	}
}

static void *start_thread(void *arg)
{
	struct pthread *self = arg;
	current_uthread()->tcb = self;
	pthread_exit(self->start(self->arg));
}

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg)
{
	struct pthread *p = calloc(1, sizeof *p);
	if (!p)
		return EAGAIN;
	p->start = start;
	p->arg = arg;
	uth_semaphore_init(&p->exited, 0);
	bool detached = attr && attr->detachstate == PTHREAD_CREATE_DETACHED;
	if (detached)
		p->state = DETACHED;
	want_vcores(atomic_add(&nr_live, 1));
	p->sigmask = pthread_self()->sigmask;
	posix_thread_live(p); /* before it can run: its own exit takes it off again */
	size_t stack = attr && attr->stacksize ? attr->stacksize : UTHREAD_STACK_SIZE;
	/* p->uth is set before anyone can join or detach: only we know p until we return */
	p->uth = uthread_create_stack(start_thread, p, stack);
	if (!p->uth) {
		posix_thread_gone(p);
		atomic_add(&nr_live, -1);
		free(p);
		return EAGAIN;
	}
	if (detached)
		uthread_detach(p->uth);
	*thread = p;
	return 0;
}

void pthread_exit(void *retval)
{
	struct pthread *self = pthread_self();
	self->cancel_state = PTHREAD_CANCEL_DISABLE; /* no cancellation inside the handlers */
	while (self->cleanup) {
		struct __pthread_cleanup *c = self->cleanup;
		self->cleanup = c->prev;
		c->fn(c->arg);
	}
	run_destructors(self);
	posix_thread_gone(self); /* no signal chooses it from here */
	atomic_add(&nr_live, -1);
	if (self != &main_thread)
		uth_semaphore_up(&self->exited); /* before EXITED: a detach may free self after it */
	if (self != &main_thread && (__atomic_fetch_or(&self->state, EXITED, __ATOMIC_SEQ_CST) & DETACHED))
		free(self); /* nobody joins it; its uthread frees itself */
	uthread_exit(retval);
}

int pthread_join(pthread_t thread, void **retval)
{
	pthread_testcancel();
	if (thread == pthread_self())
		return EDEADLK;
	if (thread == &main_thread || (thread->state & DETACHED))
		return EINVAL;
	/* Wait for its exit on a semaphore, which a signal's poke or a cancellation ends: a handler
	 * runs while it waits, then it waits on (as on Linux); then the join proper, which waits
	 * only for the exit the semaphore announced to finish. */
	struct posix_wait w;
	posix_wait_begin(&w);
	while (uth_semaphore_timed_down(&thread->exited, 0, true) == UTH_WAIT_INTERRUPTED) {
		posix_cancel_point(); /* a cancellation: exits */
		posix_wait_end(&w);
		posix_wait_begin(&w);
	}
	uthread_join(thread->uth, retval);
	free(thread);
	return 0;
}

int pthread_detach(pthread_t thread)
{
	if (thread == &main_thread)
		return 0;
	struct uthread *uth = thread->uth;
	uint32_t old = __atomic_fetch_or(&thread->state, DETACHED, __ATOMIC_SEQ_CST);
	if (old & DETACHED)
		return EINVAL;
	uthread_detach(uth);
	if (old & EXITED)
		free(thread);
	return 0;
}

pthread_t pthread_self(void)
{
	struct uthread *uth = current_uthread();
	return uth && uth->tcb ? uth->tcb : &main_thread;
}

int pthread_equal(pthread_t a, pthread_t b)
{
	return a == b;
}

int sched_yield(void)
{
	if (current_uthread() && !in_vcore_context())
		uthread_sched_yield();
	return 0;
}

int pthread_yield(void)
{
	return sched_yield();
}

unsigned long pthread_set_sched_period(unsigned long usec)
{
	return __atomic_exchange_n(&posix_sched_period, usec, __ATOMIC_SEQ_CST);
}

/* --- attributes -------------------------------------------------------------------------- */

int pthread_attr_init(pthread_attr_t *attr)
{
	attr->stacksize = UTHREAD_STACK_SIZE;
	attr->detachstate = PTHREAD_CREATE_JOINABLE;
	return 0;
}

int pthread_attr_destroy(pthread_attr_t *attr)
{
	(void)attr;
	return 0;
}

int pthread_attr_setdetachstate(pthread_attr_t *attr, int state)
{
	if (state != PTHREAD_CREATE_JOINABLE && state != PTHREAD_CREATE_DETACHED)
		return EINVAL;
	attr->detachstate = state;
	return 0;
}

int pthread_attr_getdetachstate(const pthread_attr_t *attr, int *state)
{
	*state = attr->detachstate;
	return 0;
}

int pthread_attr_setstacksize(pthread_attr_t *attr, size_t size)
{
	if (size < PTHREAD_STACK_MIN)
		return EINVAL;
	attr->stacksize = size;
	return 0;
}

int pthread_attr_getstacksize(const pthread_attr_t *attr, size_t *size)
{
	*size = attr->stacksize;
	return 0;
}

/* --- mutexes: parlib's uthread mutexes, with owner and count for the checking kinds -------- */

int pthread_mutexattr_init(pthread_mutexattr_t *attr)
{
	attr->type = PTHREAD_MUTEX_DEFAULT;
	return 0;
}

int pthread_mutexattr_destroy(pthread_mutexattr_t *attr)
{
	(void)attr;
	return 0;
}

int pthread_mutexattr_settype(pthread_mutexattr_t *attr, int type)
{
	if (type < PTHREAD_MUTEX_NORMAL || type > PTHREAD_MUTEX_ERRORCHECK)
		return EINVAL;
	attr->type = type;
	return 0;
}

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	*m = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
	uth_mutex_init(mutex_of(m));
	m->type = attr ? attr->type : PTHREAD_MUTEX_DEFAULT;
	return 0;
}

int pthread_mutex_destroy(pthread_mutex_t *m)
{
	return mutex_of(m)->locked ? EBUSY : 0;
}

/* A recursive mutex its owner holds already, or an error-checking one: handled without the
 * lock (0, or an error); -1 when the lock must be taken. */
static int relock(pthread_mutex_t *m)
{
	if (m->type == PTHREAD_MUTEX_NORMAL || m->owner != pthread_self())
		return -1;
	if (m->type == PTHREAD_MUTEX_ERRORCHECK)
		return EDEADLK;
	m->count++;
	return 0;
}

int pthread_mutex_lock(pthread_mutex_t *m)
{
	int r = relock(m);
	if (r >= 0)
		return r;
	if (!uth_mutex_trylock(mutex_of(m))) {
		/* a handler for this pthread runs while it waits, then it waits on (as on Linux) */
		struct posix_wait w;
		posix_wait_begin(&w);
		while (uth_mutex_lock_pokable(mutex_of(m)) == UTH_WAIT_INTERRUPTED) {
			posix_wait_end(&w);
			posix_wait_begin(&w);
		}
	}
	m->owner = pthread_self();
	m->count = 1;
	return 0;
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
	int r = relock(m);
	if (r == 0)
		return 0;
	if (r > 0 || !uth_mutex_trylock(mutex_of(m)))
		return EBUSY;
	m->owner = pthread_self();
	m->count = 1;
	return 0;
}

uint64_t posix_deadline(const struct timespec *abstime, int *err)
{
	if (abstime->tv_nsec < 0 || abstime->tv_nsec >= 1000000000) {
		*err = EINVAL;
		return 0;
	}
	if (abstime->tv_sec < 0)
		return 1; /* long past */
	uint64_t freq = procinfo()->tsc_freq;
	uint64_t tsc = (uint64_t)abstime->tv_sec * freq + (uint64_t)abstime->tv_nsec * (freq / 1000000) / 1000;
	return tsc ? tsc : 1;
}

int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime)
{
	int r = relock(m);
	if (r >= 0)
		return r;
	if (uth_mutex_trylock(mutex_of(m))) {
		m->owner = pthread_self();
		m->count = 1;
		return 0;
	}
	int err = 0;
	uint64_t deadline = posix_deadline(abstime, &err);
	if (err)
		return err;
	/* a handler for this pthread runs while it waits, then it waits on (as on Linux) */
	struct posix_wait w;
	posix_wait_begin(&w);
	int why;
	while ((why = uth_mutex_timed_lock_pokable(mutex_of(m), deadline)) == UTH_WAIT_INTERRUPTED) {
		posix_wait_end(&w);
		posix_wait_begin(&w);
	}
	if (why)
		return ETIMEDOUT;
	m->owner = pthread_self();
	m->count = 1;
	return 0;
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
	if (m->type != PTHREAD_MUTEX_NORMAL && m->owner != pthread_self())
		return EPERM;
	if (--m->count > 0 && m->type == PTHREAD_MUTEX_RECURSIVE)
		return 0;
	m->owner = NULL;
	m->count = 0;
	uth_mutex_unlock(mutex_of(m));
	return 0;
}

/* --- condition variables and barriers ---------------------------------------------------- */

int pthread_cond_init(pthread_cond_t *cv, const pthread_condattr_t *attr)
{
	(void)attr;
	uth_cond_var_init(cv_of(cv));
	return 0;
}

int pthread_cond_destroy(pthread_cond_t *cv)
{
	return cv_of(cv)->waiters ? EBUSY : 0;
}

static int cond_wait(pthread_cond_t *cv, pthread_mutex_t *m, uint64_t deadline)
{
	posix_cancel_point();
	unsigned long count = m->count;
	m->owner = NULL;
	m->count = 0;
	/* a signal's handler ends the wait (a spurious wake-up, never EINTR, as POSIX allows) */
	struct posix_wait w;
	posix_wait_begin(&w);
	int why = uth_cond_var_timed_wait(cv_of(cv), mutex_of(m), deadline, true);
	m->owner = pthread_self();
	m->count = count;
	if (why == UTH_WAIT_INTERRUPTED) {
		posix_cancel_point(); /* exits, the mutex held (its cleanup handlers release it) */
		posix_wait_end(&w);
	}
	return why == UTH_WAIT_TIMEOUT ? ETIMEDOUT : 0;
}

int pthread_cond_wait(pthread_cond_t *cv, pthread_mutex_t *m)
{
	return cond_wait(cv, m, 0);
}

int pthread_cond_timedwait(pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *abstime)
{
	int err = 0;
	uint64_t deadline = posix_deadline(abstime, &err);
	return err ? err : cond_wait(cv, m, deadline);
}

int pthread_cond_signal(pthread_cond_t *cv)
{
	uth_cond_var_signal(cv_of(cv));
	return 0;
}

int pthread_cond_broadcast(pthread_cond_t *cv)
{
	uth_cond_var_broadcast(cv_of(cv));
	return 0;
}

int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr, unsigned count)
{
	(void)attr;
	if (!count)
		return EINVAL;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->total = count;
	b->count = 0;
	b->cycle = 0;
	return 0;
}

int pthread_barrier_destroy(pthread_barrier_t *b)
{
	return b->count ? EBUSY : 0;
}

int pthread_barrier_wait(pthread_barrier_t *b)
{
	pthread_mutex_lock(&b->lock);
	unsigned cycle = b->cycle;
	if (++b->count == b->total) {
		b->count = 0;
		b->cycle++;
		pthread_cond_broadcast(&b->cv);
		pthread_mutex_unlock(&b->lock);
		return PTHREAD_BARRIER_SERIAL_THREAD;
	}
	while (cycle == b->cycle)
		pthread_cond_wait(&b->cv, &b->lock);
	pthread_mutex_unlock(&b->lock);
	return 0;
}

/* --- cancellation: deferred, at cancellation points ---------------------------------------- */

int pthread_cancel(pthread_t thread)
{
	if (atomic_read(&thread->state) & EXITED)
		return 0;
	atomic_set(&thread->cancel_pending, 1);
	if (thread->cancel_state == PTHREAD_CANCEL_ENABLE)
		uthread_interrupt(thread->uth); /* out of a wait at a cancellation point */
	return 0;
}

bool posix_cancel_point(void)
{
	struct uthread *uth = current_uthread();
	if (!uth || in_vcore_context())
		return false;
	struct pthread *self = pthread_self();
	if (self->cancel_state != PTHREAD_CANCEL_ENABLE)
		return false;
	if (atomic_read(&self->cancel_pending))
		pthread_exit(PTHREAD_CANCELED);
	return true;
}

bool posix_cancelling(void)
{
	struct pthread *self = pthread_self();
	return self->cancel_state == PTHREAD_CANCEL_ENABLE && atomic_read(&self->cancel_pending);
}

long posix_cancelable_sysc(long nr, long a0, long a1, long a2, long a3)
{
	posix_cancel_point();
	struct uthread *uth = current_uthread();
	if (!uth || in_vcore_context())
		return ros_syscall_blocking(nr, a0, a1, a2, a3, 0, 0);
	for (;;) {
		struct posix_wait w;
		posix_wait_begin(&w);
		long r = ros_syscall_interruptible(nr, a0, a1, a2, a3, 0, 0);
		if (r != -EINTR || !(uth->poked || uth->interrupted))
			return r; /* done, or the kernel's own EINTR */
		posix_cancel_point(); /* the cancellation that aborted it: exits */
		if (posix_wait_end(&w) == POSIX_WAIT_EINTR)
			return -EINTR;
		/* no handler, or all SA_RESTART: the call again, as Linux restarts it */
	}
}

void pthread_testcancel(void)
{
	posix_cancel_point();
}

int pthread_setcancelstate(int state, int *old)
{
	if (state != PTHREAD_CANCEL_ENABLE && state != PTHREAD_CANCEL_DISABLE)
		return EINVAL;
	struct pthread *self = pthread_self();
	if (old)
		*old = self->cancel_state;
	self->cancel_state = state;
	if (state == PTHREAD_CANCEL_ENABLE && atomic_read(&self->cancel_pending))
		uthread_interrupt(self->uth); /* its next interruptible wait ends at once */
	return 0;
}

int pthread_setcanceltype(int type, int *old)
{
	if (type != PTHREAD_CANCEL_DEFERRED && type != PTHREAD_CANCEL_ASYNCHRONOUS)
		return EINVAL;
	struct pthread *self = pthread_self();
	if (old)
		*old = self->cancel_type;
	self->cancel_type = type; /* acted on at cancellation points either way */
	return 0;
}

void __pthread_cleanup_push(struct __pthread_cleanup *c, void (*fn)(void *), void *arg)
{
	struct pthread *self = pthread_self();
	c->fn = fn;
	c->arg = arg;
	c->prev = self->cleanup;
	self->cleanup = c;
}

void __pthread_cleanup_pop(struct __pthread_cleanup *c, int execute)
{
	pthread_self()->cleanup = c->prev;
	if (execute)
		c->fn(c->arg);
}

struct posix_vfork *posix_vfork_of_self(void)
{
	return &pthread_self()->vfork;
}

/* --- once, keys, spinlocks ------------------------------------------------------------- */

int pthread_once(pthread_once_t *once, void (*init)(void))
{
	/* 0: not run, 1: running, 2: done */
	if (atomic_read(once) == 2)
		return 0;
	int expected = 0;
	if (__atomic_compare_exchange_n(once, &expected, 1, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
		init();
		atomic_set(once, 2);
		return 0;
	}
	while (atomic_read(once) != 2)
		sched_yield(); /* the initialiser may need this vcore to finish */
	return 0;
}

int pthread_key_create(pthread_key_t *key, void (*destructor)(void *))
{
	for (unsigned k = 0; k < PTHREAD_KEYS_MAX; k++) {
		if (atomic_cas_u32(&keys[k].used, 0, 1)) {
			keys[k].destructor = destructor;
			*key = k;
			return 0;
		}
	}
	return EAGAIN;
}

int pthread_key_delete(pthread_key_t key)
{
	if (key >= PTHREAD_KEYS_MAX || !atomic_read(&keys[key].used))
		return EINVAL;
	keys[key].destructor = NULL;
	atomic_set(&keys[key].used, 0);
	return 0;
}

void *pthread_getspecific(pthread_key_t key)
{
	return key < PTHREAD_KEYS_MAX ? pthread_self()->specific[key] : NULL;
}

int pthread_setspecific(pthread_key_t key, const void *value)
{
	if (key >= PTHREAD_KEYS_MAX || !atomic_read(&keys[key].used))
		return EINVAL;
	pthread_self()->specific[key] = (void *)value;
	return 0;
}

int pthread_spin_init(pthread_spinlock_t *l, int shared)
{
	(void)shared;
	*l = 0;
	return 0;
}

int pthread_spin_destroy(pthread_spinlock_t *l)
{
	return *l ? EBUSY : 0;
}

int pthread_spin_trylock(pthread_spinlock_t *l)
{
	return atomic_cas_u32(l, 0, 1) ? 0 : EBUSY;
}

int pthread_spin_lock(pthread_spinlock_t *l)
{
	while (!atomic_cas_u32(l, 0, 1))
		cpu_relax();
	return 0;
}

int pthread_spin_unlock(pthread_spinlock_t *l)
{
	atomic_set(l, 0);
	return 0;
}
