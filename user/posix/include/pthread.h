/* POSIX threads over parlib: each pthread is a uthread, scheduled on the process's vcores by the
 * pthreads 2LS (user/posix/pthread.c); the program is a many-core process from its start.
 * Blocking calls block only the calling pthread (asynchronous system calls).  Timed waits end by
 * parlib alarms (virtual time); cancellation is deferred (PTHREAD_CANCEL_ASYNCHRONOUS is
 * accepted and acts at cancellation points too).  No scheduling or process-shared attributes. */
#ifndef POSIX_PTHREAD_H
#define POSIX_PTHREAD_H

#include <sched.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct pthread *pthread_t;

typedef struct {
	size_t stacksize;
	int detachstate;
} pthread_attr_t;

/* Opaque storage for parlib's uth_mutex_t, uth_cond_var_t: zeroes are their initial state. */
typedef struct {
	uint64_t opaque[4];
	int type;
	int pad;
	void *owner;
	unsigned long count;
} pthread_mutex_t;
typedef struct {
	int type;
} pthread_mutexattr_t;
typedef struct {
	uint64_t opaque[3];
} pthread_cond_t;
typedef struct {
	int unused;
} pthread_condattr_t;
typedef struct {
	pthread_mutex_t lock;
	pthread_cond_t cv;
	unsigned count, total, cycle;
} pthread_barrier_t;
typedef struct {
	int unused;
} pthread_barrierattr_t;
typedef volatile int pthread_once_t;
typedef unsigned int pthread_key_t;
typedef volatile uint32_t pthread_spinlock_t;

#define PTHREAD_MUTEX_INITIALIZER { { 0 }, 0, 0, 0, 0 }
#define PTHREAD_COND_INITIALIZER { { 0 } }
#define PTHREAD_ONCE_INIT 0
#define PTHREAD_CREATE_JOINABLE 0
#define PTHREAD_CREATE_DETACHED 1
#define PTHREAD_MUTEX_NORMAL 0
#define PTHREAD_MUTEX_RECURSIVE 1
#define PTHREAD_MUTEX_ERRORCHECK 2
#define PTHREAD_MUTEX_DEFAULT PTHREAD_MUTEX_NORMAL
#define PTHREAD_BARRIER_SERIAL_THREAD (-1)
#define PTHREAD_KEYS_MAX 64
#define PTHREAD_STACK_MIN 16384
#define PTHREAD_CANCEL_ENABLE 0
#define PTHREAD_CANCEL_DISABLE 1
#define PTHREAD_CANCEL_DEFERRED 0
#define PTHREAD_CANCEL_ASYNCHRONOUS 1
#define PTHREAD_CANCELED ((void *)-1)

/* Cleanup handlers: a record on the pusher's stack, linked from its pthread. */
struct __pthread_cleanup {
	void (*fn)(void *);
	void *arg;
	struct __pthread_cleanup *prev;
};
void __pthread_cleanup_push(struct __pthread_cleanup *c, void (*fn)(void *), void *arg);
void __pthread_cleanup_pop(struct __pthread_cleanup *c, int execute);
#define pthread_cleanup_push(fn, arg) \
	do { \
		struct __pthread_cleanup __cleanup; \
		__pthread_cleanup_push(&__cleanup, (fn), (arg));
#define pthread_cleanup_pop(execute) \
		__pthread_cleanup_pop(&__cleanup, (execute)); \
	} while (0)

int pthread_create(pthread_t *thread, const pthread_attr_t *attr, void *(*start)(void *), void *arg);
int pthread_join(pthread_t thread, void **retval);
int pthread_detach(pthread_t thread);
__attribute__((noreturn)) void pthread_exit(void *retval);
pthread_t pthread_self(void);
int pthread_equal(pthread_t a, pthread_t b);
int pthread_yield(void);
/* Not POSIX (this layer's own): the time slice of the pthreads 2LS in microseconds of virtual
 * time, after which a pthread that has not blocked or yielded goes to the back of the run queue
 * if others wait for its vcore; 0 turns slicing off.  Returns the previous one.  The
 * PTHREAD_SCHED_PERIOD environment variable sets it at start (default
 * PTHREAD_SCHED_PERIOD_DEFAULT). */
#define PTHREAD_SCHED_PERIOD_DEFAULT 10000
unsigned long pthread_set_sched_period(unsigned long usec);

int pthread_attr_init(pthread_attr_t *attr);
int pthread_attr_destroy(pthread_attr_t *attr);
int pthread_attr_setdetachstate(pthread_attr_t *attr, int state);
int pthread_attr_getdetachstate(const pthread_attr_t *attr, int *state);
int pthread_attr_setstacksize(pthread_attr_t *attr, size_t size);
int pthread_attr_getstacksize(const pthread_attr_t *attr, size_t *size);

int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr);
int pthread_mutex_destroy(pthread_mutex_t *m);
int pthread_mutex_lock(pthread_mutex_t *m);
int pthread_mutex_trylock(pthread_mutex_t *m);
int pthread_mutex_unlock(pthread_mutex_t *m);
int pthread_mutex_timedlock(pthread_mutex_t *m, const struct timespec *abstime);
int pthread_mutexattr_init(pthread_mutexattr_t *attr);
int pthread_mutexattr_destroy(pthread_mutexattr_t *attr);
int pthread_mutexattr_settype(pthread_mutexattr_t *attr, int type);

int pthread_cond_init(pthread_cond_t *cv, const pthread_condattr_t *attr);
int pthread_cond_destroy(pthread_cond_t *cv);
int pthread_cond_wait(pthread_cond_t *cv, pthread_mutex_t *m);
int pthread_cond_signal(pthread_cond_t *cv);
int pthread_cond_broadcast(pthread_cond_t *cv);
/* abstime: CLOCK_REALTIME, which is virtual time since boot here (clock_gettime) */
int pthread_cond_timedwait(pthread_cond_t *cv, pthread_mutex_t *m, const struct timespec *abstime);

int pthread_cancel(pthread_t thread);
void pthread_testcancel(void);
int pthread_setcancelstate(int state, int *old);
int pthread_setcanceltype(int type, int *old);

int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr, unsigned count);
int pthread_barrier_destroy(pthread_barrier_t *b);
int pthread_barrier_wait(pthread_barrier_t *b);

int pthread_once(pthread_once_t *once, void (*init)(void));
int pthread_key_create(pthread_key_t *key, void (*destructor)(void *));
int pthread_key_delete(pthread_key_t key);
void *pthread_getspecific(pthread_key_t key);
int pthread_setspecific(pthread_key_t key, const void *value);

int pthread_spin_init(pthread_spinlock_t *l, int shared);
int pthread_spin_destroy(pthread_spinlock_t *l);
int pthread_spin_lock(pthread_spinlock_t *l);
int pthread_spin_trylock(pthread_spinlock_t *l);
int pthread_spin_unlock(pthread_spinlock_t *l);

#endif
