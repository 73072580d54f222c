/* POSIX semaphores over parlib's uthread semaphores (a waiting thread blocks only itself). */
#ifndef POSIX_SEMAPHORE_H
#define POSIX_SEMAPHORE_H

#include <stdint.h>
#include <time.h>

typedef struct {
	uint64_t opaque[4];
} sem_t;

#define SEM_VALUE_MAX 0x7fffffff

int sem_init(sem_t *sem, int pshared, unsigned int value);
int sem_destroy(sem_t *sem);
int sem_wait(sem_t *sem);      /* a cancellation point */
int sem_trywait(sem_t *sem);
int sem_timedwait(sem_t *sem, const struct timespec *abstime);
int sem_post(sem_t *sem);
int sem_getvalue(sem_t *sem, int *value);

#endif
