/* Uthread mutexes, condition variables and semaphores.  Waiting means parking the uthread on the object's
 * list (in vcore context, after it has stopped) and letting the 2LS run something else; no
 * kernel entry.  A wait may have a deadline (an alarm takes the uthread off the list) and may be
 * interruptible (uthread_interrupt does); either way it comes back with the reason. */
#include "alarm.h"
#include "uthread.h"

static void push(struct uthread **head, struct uthread **tail, struct uthread *uth)
{
	uth->next = NULL;
	if (*tail)
		(*tail)->next = uth;
	else
		*head = uth;
	*tail = uth;
}

static struct uthread *pop(struct uthread **head, struct uthread **tail)
{
	struct uthread *uth = *head;
	if (uth) {
		*head = uth->next;
		if (!*head)
			*tail = NULL;
		uth->next = NULL;
	}
	return uth;
}

/* Take uth off a wait list; false if it is not on it. */
static bool unlink(struct uthread **head, struct uthread **tail, struct uthread *uth)
{
	struct uthread *prev = NULL;
	for (struct uthread *at = *head; at; prev = at, at = at->next) {
		if (at != uth)
			continue;
		if (prev)
			prev->next = at->next;
		else
			*head = at->next;
		if (*tail == at)
			*tail = prev;
		at->next = NULL;
		return true;
	}
	return false;
}

/* One wait of one uthread, on its stack: the object's lock and list, and whether (and why) it
 * was ended early.  The waiter returns only after its alarm is unset and it is unregistered
 * from uthread_interrupt, so whoever ends it early may use it until then. */
struct uth_wait {
	struct spin_pdr_lock *lock;
	struct uthread **head, **tail;
	void *obj;              /* the mutex, condition variable or semaphore */
	uth_mutex_t *mutex;     /* a condition variable's mutex */
	struct uthread *uth;
	volatile uint32_t why;  /* the first reason to end it early (UTH_WAIT_*), or 0 */
	volatile bool aborted;  /* ended early: taken off the list, or never put on it */
	bool by_interrupt;      /* uthread_interrupt may end it (else only uthread_poke) */
};

/* End w early (an alarm, or uthread_interrupt): the first caller's reason counts.  If the
 * waiter is on the list it is taken off and made runnable; if it has not got there yet, the
 * block function sees the reason and does not park it. */
static void wait_end_early(struct uth_wait *w, uint32_t why)
{
	if (!atomic_cas_u32(&w->why, 0, why))
		return;
	spin_pdr_lock(w->lock);
	bool taken = unlink(w->head, w->tail, w->uth);
	if (taken)
		w->aborted = true;
	spin_pdr_unlock(w->lock);
	if (taken)
		uthread_runnable(w->uth);
}

/* In a block function, with the object's lock held: should the waiter not be parked? */
static bool wait_ended_early(struct uth_wait *w)
{
	if (!w->why)
		return false;
	w->aborted = true;
	return true;
}

static void wait_timed_out(struct alarm_waiter *alarm)
{
	wait_end_early(alarm->data, UTH_WAIT_TIMEOUT);
}

/* Stop the calling uthread with block(uth, w) until woken, the deadline passes or (if
 * interruptible) uthread_interrupt ends the wait.  0, or why it ended early. */
static int wait_on(struct uth_wait *w, void (*block)(struct uthread *, void *), uint64_t deadline,
                   bool interruptible)
{
	struct uthread *uth = current_uthread();
	struct alarm_waiter alarm;
	w->uth = uth;
	w->why = 0;
	w->aborted = false;
	if (interruptible) {
		uth_disable_notifs();
		spin_lock(&uth->wait_lock);
		uth->waiting = w;
		if ((uth->interrupted && w->by_interrupt) || uth->poked)
			w->why = UTH_WAIT_INTERRUPTED;
		spin_unlock(&uth->wait_lock);
		uth_enable_notifs();
	}
	if (deadline) {
		init_awaiter(&alarm, wait_timed_out, w, deadline);
		set_alarm(&alarm);
	}
	uthread_yield(true, block, w);
	if (deadline)
		unset_alarm(&alarm);
	if (interruptible) {
		uth_disable_notifs();
		spin_lock(&uth->wait_lock);
		uth->waiting = NULL;
		spin_unlock(&uth->wait_lock);
		uth_enable_notifs();
	}
	return w->aborted ? (int)w->why : 0;
}

void uthread_interrupt(struct uthread *uth)
{
	uth_disable_notifs();
	spin_lock(&uth->wait_lock);
	uth->interrupted = true;
	if (uth->waiting && uth->waiting->by_interrupt)
		wait_end_early(uth->waiting, UTH_WAIT_INTERRUPTED);
	if (uth->abortable_sysc)
		sys_abort_sysc(uth->abortable_sysc); /* it finishes with -EINTR and wakes the uthread */
	spin_unlock(&uth->wait_lock);
	uth_enable_notifs();
}

void uthread_poke(struct uthread *uth)
{
	uth_disable_notifs();
	spin_lock(&uth->wait_lock);
	uth->poked = true;
	if (uth->waiting)
		wait_end_early(uth->waiting, UTH_WAIT_INTERRUPTED);
	if (uth->abortable_sysc)
		sys_abort_sysc(uth->abortable_sysc);
	spin_unlock(&uth->wait_lock);
	uth_enable_notifs();
}

void uth_mutex_init(uth_mutex_t *m)
{
	*m = (uth_mutex_t)UTH_MUTEX_INIT;
}

bool uth_mutex_trylock(uth_mutex_t *m)
{
	return !m->locked && atomic_cas_u32(&m->locked, 0, 1);
}

static void mutex_block(struct uthread *uth, void *arg)
{
	struct uth_wait *w = arg;
	uth_mutex_t *m = w->obj;
	spin_pdr_lock(&m->lock);
	if (atomic_cas_u32(&m->locked, 0, 1)) {
		/* released while we were stopping: it is ours */
		spin_pdr_unlock(&m->lock);
		uthread_runnable(uth);
		return;
	}
	if (wait_ended_early(w)) {
		spin_pdr_unlock(&m->lock);
		uthread_runnable(uth);
		return;
	}
	push(&m->waiters, &m->waiters_tail, uth);
	sched_ops->thread_has_blocked(uth, UTH_BLK_MUTEX);
	spin_pdr_unlock(&m->lock);
}

static int mutex_lock_wait(uth_mutex_t *m, uint64_t deadline, bool pokable)
{
	for (int i = 0; i < UTH_MUTEX_SPINS; i++) {
		if (uth_mutex_trylock(m))
			return 0;
		cpu_relax();
	}
	if (deadline && deadline <= read_tsc())
		return uth_mutex_trylock(m) ? 0 : UTH_WAIT_TIMEOUT;
	struct uth_wait w = { .lock = &m->lock, .head = &m->waiters, .tail = &m->waiters_tail, .obj = m };
	/* 0: the unlocker handed the mutex over, or we took it while stopping */
	return wait_on(&w, mutex_block, deadline, pokable);
}

int uth_mutex_timed_lock(uth_mutex_t *m, uint64_t deadline)
{
	return mutex_lock_wait(m, deadline, false);
}

int uth_mutex_lock_pokable(uth_mutex_t *m)
{
	return mutex_lock_wait(m, 0, true);
}

int uth_mutex_timed_lock_pokable(uth_mutex_t *m, uint64_t deadline)
{
	return mutex_lock_wait(m, deadline, true);
}

void uth_mutex_lock(uth_mutex_t *m)
{
	uth_mutex_timed_lock(m, 0);
}

void uth_mutex_unlock(uth_mutex_t *m)
{
	spin_pdr_lock(&m->lock);
	struct uthread *next = pop(&m->waiters, &m->waiters_tail);
	if (!next)
		atomic_set(&m->locked, 0);
	spin_pdr_unlock(&m->lock);
	if (next)
		uthread_runnable(next);
}

void uth_cond_var_init(uth_cond_var_t *cv)
{
	*cv = (uth_cond_var_t)UTH_COND_VAR_INIT;
}

static void cv_block(struct uthread *uth, void *arg)
{
	struct uth_wait *w = arg;
	uth_cond_var_t *cv = w->obj;
	uth_mutex_t *m = w->mutex;
	spin_pdr_lock(&cv->lock);
	bool early = wait_ended_early(w);
	if (!early) {
		push(&cv->waiters, &cv->waiters_tail, uth);
		sched_ops->thread_has_blocked(uth, UTH_BLK_CONDVAR);
	}
	spin_pdr_unlock(&cv->lock);
	uth_mutex_unlock(m);
	if (early)
		uthread_runnable(uth);
}

int uth_cond_var_timed_wait(uth_cond_var_t *cv, uth_mutex_t *m, uint64_t deadline, bool interruptible)
{
	struct uth_wait w = {
		.lock = &cv->lock, .head = &cv->waiters, .tail = &cv->waiters_tail, .obj = cv, .mutex = m,
		.by_interrupt = true,
	};
	int why = wait_on(&w, cv_block, deadline, interruptible);
	uth_mutex_lock(m);
	return why;
}

void uth_cond_var_wait(uth_cond_var_t *cv, uth_mutex_t *m)
{
	uth_cond_var_timed_wait(cv, m, 0, false);
}
void uth_cond_var_signal(uth_cond_var_t *cv)
{
	spin_pdr_lock(&cv->lock);
	struct uthread *uth = pop(&cv->waiters, &cv->waiters_tail);
	spin_pdr_unlock(&cv->lock);
	if (uth)
		uthread_runnable(uth);
}

void uth_cond_var_broadcast(uth_cond_var_t *cv)
{
	spin_pdr_lock(&cv->lock);
	struct uthread *all = cv->waiters;
	cv->waiters = cv->waiters_tail = NULL;
	spin_pdr_unlock(&cv->lock);
	while (all) {
		struct uthread *next = all->next;
		all->next = NULL;
		uthread_runnable(all);
		all = next;
	}
}

void uth_semaphore_init(uth_semaphore_t *sem, uint64_t count)
{
	*sem = (uth_semaphore_t)UTH_SEMAPHORE_INIT(count);
}

static void sem_block(struct uthread *uth, void *arg)
{
	struct uth_wait *w = arg;
	uth_semaphore_t *sem = w->obj;
	spin_pdr_lock(&sem->lock);
	if (sem->count) {
		/* an up came while we were stopping */
		sem->count--;
		spin_pdr_unlock(&sem->lock);
		uthread_runnable(uth);
		return;
	}
	if (wait_ended_early(w)) {
		spin_pdr_unlock(&sem->lock);
		uthread_runnable(uth);
		return;
	}
	push(&sem->waiters, &sem->waiters_tail, uth);
	sched_ops->thread_has_blocked(uth, UTH_BLK_MISC);
	spin_pdr_unlock(&sem->lock);
}

bool uth_semaphore_trydown(uth_semaphore_t *sem)
{
	spin_pdr_lock(&sem->lock);
	bool got = sem->count != 0;
	if (got)
		sem->count--;
	spin_pdr_unlock(&sem->lock);
	return got;
}

int uth_semaphore_timed_down(uth_semaphore_t *sem, uint64_t deadline, bool interruptible)
{
	if (uth_semaphore_trydown(sem))
		return 0;
	if (deadline && deadline <= read_tsc())
		return UTH_WAIT_TIMEOUT;
	struct uth_wait w = { .lock = &sem->lock, .head = &sem->waiters, .tail = &sem->waiters_tail, .obj = sem,
	                      .by_interrupt = true };
	/* 0: the up that woke us was ours, the count went straight to us */
	return wait_on(&w, sem_block, deadline, interruptible);
}

void uth_semaphore_down(uth_semaphore_t *sem)
{
	uth_semaphore_timed_down(sem, 0, false);
}

/* --- sleeping: a wait on a list of one that only the alarm (or an interrupt) ends ---------- */

static void sleep_block(struct uthread *uth, void *arg)
{
	struct uth_wait *w = arg;
	spin_pdr_lock(w->lock);
	if (wait_ended_early(w)) {
		spin_pdr_unlock(w->lock);
		uthread_runnable(uth);
		return;
	}
	push(w->head, w->tail, uth);
	sched_ops->thread_has_blocked(uth, UTH_BLK_MISC);
	spin_pdr_unlock(w->lock);
}

int uth_sleep_until(uint64_t deadline, bool interruptible)
{
	if (deadline <= read_tsc())
		return 0;
	struct spin_pdr_lock lock = SPIN_PDR_INITIALIZER;
	struct uthread *head = NULL, *tail = NULL;
	struct uth_wait w = { .lock = &lock, .head = &head, .tail = &tail, .by_interrupt = true };
	int why = wait_on(&w, sleep_block, deadline, interruptible);
	return why == UTH_WAIT_TIMEOUT ? 0 : why;
}

void uth_semaphore_up(uth_semaphore_t *sem)
{
	spin_pdr_lock(&sem->lock);
	struct uthread *uth = pop(&sem->waiters, &sem->waiters_tail);
	if (!uth)
		sem->count++;
	spin_pdr_unlock(&sem->lock);
	if (uth)
		uthread_runnable(uth);
}
