/* threads: kernel-thread experiments.
 *   spin N ITER      N threads each run ITER iterations of arithmetic, then join (aggregate speed)
 *   pingpong ROUNDS  two threads hand a token back and forth through futexes; each hand-over is
 *                    one thread switch through the kernel
 */
#define _GNU_SOURCE
#define FUTEX_WAIT_PRIVATE 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG (musl ships no kernel headers) */
#define FUTEX_WAKE_PRIVATE 129
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long iterations;
static atomic_int turn;
static long rounds;

static void *spin(void *arg)
{
    volatile unsigned long x = (unsigned long)arg;
    for (long i = 0; i < iterations; i++)
        x = x * 6364136223846793005UL + 1442695040888963407UL;
    return (void *)(unsigned long)(x & 0xff);
}

static void futex_wait(atomic_int *word, int value)
{
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, value, NULL, NULL, 0);
}

static void futex_wake(atomic_int *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static void *player(void *arg)
{
    int me = (int)(long)arg;
    for (long i = 0; i < rounds; i++) {
        while (atomic_load(&turn) != me)
            futex_wait(&turn, 1 - me);
        atomic_store(&turn, 1 - me);
        futex_wake(&turn);
    }
    return NULL;
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "spin")) {
        int n = argc > 2 ? atoi(argv[2]) : 4;
        iterations = argc > 3 ? atol(argv[3]) : 1000000;
        pthread_t threads[64];
        if (n > 64)
            n = 64;
        for (long i = 0; i < n; i++)
            pthread_create(&threads[i], NULL, spin, (void *)i);
        for (int i = 0; i < n; i++)
            pthread_join(threads[i], NULL);
        printf("spin: %d threads x %ld iterations\n", n, iterations);
        return 0;
    }
    if (!strcmp(mode, "pingpong")) {
        rounds = argc > 2 ? atol(argv[2]) : 10000;
        pthread_t a, b;
        long start = now_ns();
        pthread_create(&a, NULL, player, (void *)0L);
        pthread_create(&b, NULL, player, (void *)1L);
        pthread_join(a, NULL);
        pthread_join(b, NULL);
        long elapsed = now_ns() - start;
        printf("pingpong: %ld rounds, %ld switches, %ld virtual ns per switch\n", rounds, 2 * rounds,
               elapsed / (2 * rounds));
        return 0;
    }
    fprintf(stderr, "usage: threads spin N ITER | pingpong ROUNDS\n");
    return 2;
}
