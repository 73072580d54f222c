/* A pthread program as a user would bring one: only POSIX headers.  The test builds it against
 * parlib's POSIX layer (an MCP, pthreads on vcores) and natively with musl, and compares.
 *   pthread_user         once, keys and destructors, barriers, per-thread errno, recursive and
 *                        error-checking mutexes, detached threads, condition variables
 *   pthread_user sleep   one thread sleeps 2 ms while another computes for 1 ms: the elapsed time */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define WORKERS 4

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t key;
static pthread_barrier_t barrier;
static pthread_mutex_t recursive, lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static int inits, destroyed, total, detached_done;

static void init(void)
{
	inits++;
}

static void destroy(void *value)
{
	pthread_mutex_lock(&lock);
	destroyed += (int)(long)value;
	pthread_mutex_unlock(&lock);
}

static void *worker(void *arg)
{
	long i = (long)arg;
	pthread_once(&once, init);
	pthread_setspecific(key, (void *)(i + 1));
	errno = 100 + (int)i;
	pthread_barrier_wait(&barrier); /* everyone has set errno and the key before anyone checks */
	long kept = errno == 100 + i && pthread_getspecific(key) == (void *)(i + 1);
	pthread_mutex_lock(&recursive);
	pthread_mutex_lock(&recursive);
	total += (int)i + 1;
	pthread_mutex_unlock(&recursive);
	pthread_mutex_unlock(&recursive);
	return (void *)kept;
}

static void *detached(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&lock);
	detached_done = 1;
	pthread_cond_signal(&done_cv);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static long now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000L + ts.tv_nsec / 1000;
}

static void *sleeper(void *arg)
{
	(void)arg;
	usleep(2000);
	return NULL;
}

static void *computer(void *arg)
{
	long start = now_us();
	volatile unsigned long x = 1;
	while (now_us() - start < 1000)
		x = x * 6364136223846793005UL + 1;
	*(long *)arg = now_us();
	return NULL;
}

static int sleep_check(void)
{
	pthread_t a, b;
	long start = now_us(), computed = 0;
	pthread_create(&a, NULL, sleeper, NULL);
	pthread_create(&b, NULL, computer, &computed);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("{\"elapsed_us\": %ld, \"computed_at_us\": %ld}\n", now_us() - start, computed - start);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "sleep"))
		return sleep_check();
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&recursive, &attr);
	pthread_key_create(&key, destroy);
	pthread_barrier_init(&barrier, NULL, WORKERS);
	pthread_t threads[WORKERS];
	for (long i = 0; i < WORKERS; i++)
		pthread_create(&threads[i], NULL, worker, (void *)i);
	long kept = 0;
	for (int i = 0; i < WORKERS; i++) {
		void *r;
		pthread_join(threads[i], &r);
		kept += (long)r;
	}
	printf("once ran %d time(s); errno and keys kept in %ld/%d threads; total %d; destructors saw %d\n",
	       inits, kept, WORKERS, total, destroyed);

	pthread_mutex_t checking;
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
	pthread_mutex_init(&checking, &attr);
	pthread_mutex_lock(&checking);
	int again = pthread_mutex_lock(&checking);
	pthread_mutex_unlock(&checking);
	int unheld = pthread_mutex_unlock(&checking);
	printf("error-checking mutex: relock %s, unlock unheld %s\n", again == EDEADLK ? "EDEADLK" : "?",
	       unheld == EPERM ? "EPERM" : "?");

	pthread_attr_t detach;
	pthread_attr_init(&detach);
	pthread_attr_setdetachstate(&detach, PTHREAD_CREATE_DETACHED);
	pthread_t d;
	pthread_create(&d, &detach, detached, NULL);
	pthread_mutex_lock(&lock);
	while (!detached_done)
		pthread_cond_wait(&done_cv, &lock);
	pthread_mutex_unlock(&lock);
	printf("detached thread ran\n");
	errno = 0;
	int wrote = (int)write(99, "x", 1);
	printf("write to a closed descriptor: %d, errno %s\n", wrote, errno == EBADF ? "EBADF" : "?");
	return 0;
}
