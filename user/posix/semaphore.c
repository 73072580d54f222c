/* POSIX semaphores: parlib's uthread semaphores, with deadlines and cancellation. */
#include <errno.h>
#include <semaphore.h>

#include "parlib/uthread.h"
#include "posix.h"

_Static_assert(sizeof(sem_t) >= sizeof(uth_semaphore_t), "sem_t");

static uth_semaphore_t *sem_of(sem_t *sem)
{
	return (uth_semaphore_t *)sem->opaque;
}

int sem_init(sem_t *sem, int pshared, unsigned int value)
{
	if (pshared || value > SEM_VALUE_MAX) {
		errno = pshared ? ENOSYS : EINVAL; /* no process-shared semaphores */
		return -1;
	}
	uth_semaphore_init(sem_of(sem), value);
	return 0;
}

int sem_destroy(sem_t *sem)
{
	(void)sem;
	return 0;
}

static int sem_down(sem_t *sem, uint64_t deadline)
{
	posix_cancel_point();
	for (;;) {
		struct posix_wait w;
		posix_wait_begin(&w);
		int why = uth_semaphore_timed_down(sem_of(sem), deadline, true);
		if (!why)
			return 0;
		if (why == UTH_WAIT_TIMEOUT) {
			errno = ETIMEDOUT;
			return -1;
		}
		posix_cancel_point();
		/* a handler without SA_RESTART ends the wait, as Linux's futex wait under musl */
		if (posix_wait_end(&w) == POSIX_WAIT_EINTR) {
			errno = EINTR;
			return -1;
		}
	}
}

int sem_wait(sem_t *sem)
{
	return sem_down(sem, 0);
}

int sem_timedwait(sem_t *sem, const struct timespec *abstime)
{
	if (uth_semaphore_trydown(sem_of(sem)))
		return 0;
	int err = 0;
	uint64_t deadline = posix_deadline(abstime, &err);
	if (err) {
		errno = err;
		return -1;
	}
	return sem_down(sem, deadline);
}

int sem_trywait(sem_t *sem)
{
	if (uth_semaphore_trydown(sem_of(sem)))
		return 0;
	errno = EAGAIN;
	return -1;
}

int sem_post(sem_t *sem)
{
	uth_semaphore_up(sem_of(sem));
	return 0;
}

int sem_getvalue(sem_t *sem, int *value)
{
	*value = (int)sem_of(sem)->count;
	return 0;
}
