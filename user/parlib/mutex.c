/* Uthread mutexes, condition variables and semaphores.  Waiting means parking the uthread on the object's
 * list (in vcore context, after it has stopped) and letting the 2LS run something else; no
 * kernel entry. */
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
	uth_mutex_t *m = arg;
	spin_pdr_lock(&m->lock);
	if (atomic_cas_u32(&m->locked, 0, 1)) {
		/* released while we were stopping: it is ours */
		spin_pdr_unlock(&m->lock);
		uthread_runnable(uth);
		return;
	}
	push(&m->waiters, &m->waiters_tail, uth);
	sched_ops->thread_has_blocked(uth, UTH_BLK_MUTEX);
	spin_pdr_unlock(&m->lock);
}

void uth_mutex_lock(uth_mutex_t *m)
{
	for (int i = 0; i < UTH_MUTEX_SPINS; i++) {
		if (uth_mutex_trylock(m))
			return;
		cpu_relax();
	}
	uthread_yield(true, mutex_block, m);
	/* the unlocker handed the mutex over: we hold it */
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

struct cv_wait {
	uth_cond_var_t *cv;
	uth_mutex_t *m;
};

static void cv_block(struct uthread *uth, void *arg)
{
	/* arg lives on the waiter's stack, which is in use again once the waiter is woken */
	struct cv_wait *w = arg;
	uth_cond_var_t *cv = w->cv;
	uth_mutex_t *m = w->m;
	spin_pdr_lock(&cv->lock);
	push(&cv->waiters, &cv->waiters_tail, uth);
	sched_ops->thread_has_blocked(uth, UTH_BLK_CONDVAR);
	spin_pdr_unlock(&cv->lock);
	uth_mutex_unlock(m);
}

void uth_cond_var_wait(uth_cond_var_t *cv, uth_mutex_t *m)
{
	struct cv_wait w = { cv, m };
	uthread_yield(true, cv_block, &w);
	uth_mutex_lock(m);
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
	uth_semaphore_t *sem = arg;
	spin_pdr_lock(&sem->lock);
	if (sem->count) {
		/* an up came while we were stopping */
		sem->count--;
		spin_pdr_unlock(&sem->lock);
		uthread_runnable(uth);
		return;
	}
	push(&sem->waiters, &sem->waiters_tail, uth);
	sched_ops->thread_has_blocked(uth, UTH_BLK_MISC);
	spin_pdr_unlock(&sem->lock);
}

void uth_semaphore_down(uth_semaphore_t *sem)
{
	spin_pdr_lock(&sem->lock);
	if (sem->count) {
		sem->count--;
		spin_pdr_unlock(&sem->lock);
		return;
	}
	spin_pdr_unlock(&sem->lock);
	uthread_yield(true, sem_block, sem);
	/* the up that woke us was ours: the count went straight to us */
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
