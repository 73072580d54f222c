/* pthread_switch [ROUNDS]: two kernel threads (musl pthreads) ping-pong through a mutex and a
 * condition variable, ROUNDS hand-overs each way (default 10000).  Every hand-over is a switch
 * through the kernel (futex wait/wake).  The Linux counterpart of uthread_switch: prints the
 * switch count and virtual cycles (rdtsc) per switch, then a JSON line. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int turn;
static long rounds;

static uint64_t read_tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

static void *player(void *arg)
{
	int me = (int)(long)arg;
	pthread_mutex_lock(&lock);
	for (long i = 0; i < rounds; i++) {
		while (turn != me)
			pthread_cond_wait(&changed, &lock);
		turn = 1 - me;
		pthread_cond_signal(&changed);
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

int main(int argc, char **argv)
{
	rounds = argc > 1 ? atol(argv[1]) : 10000;
	if (rounds < 1) {
		fprintf(stderr, "usage: pthread_switch [ROUNDS>=1]\n");
		return 2;
	}
	pthread_t a, b;
	uint64_t start = read_tsc();
	if (pthread_create(&a, NULL, player, (void *)0L) || pthread_create(&b, NULL, player, (void *)1L))
		return 1;
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	uint64_t cycles = read_tsc() - start;
	uint64_t switches = 2 * (uint64_t)rounds;
	uint64_t hundredths = (cycles * 100 + switches / 2) / switches;
	printf("pthread_switch: %llu switches, %llu virtual cycles, %llu.%02llu cycles per switch\n",
	       (unsigned long long)switches, (unsigned long long)cycles,
	       (unsigned long long)(hundredths / 100), (unsigned long long)(hundredths % 100));
	printf("{\"program\": \"pthread_switch\", \"switches\": %llu, \"cycles\": %llu, "
	       "\"cycles_per_switch\": %llu.%02llu}\n",
	       (unsigned long long)switches, (unsigned long long)cycles,
	       (unsigned long long)(hundredths / 100), (unsigned long long)(hundredths % 100));
	return 0;
}
