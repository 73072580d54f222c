/* threads: kernel-thread experiments.
 *   spin N ITER      N threads each run ITER iterations of arithmetic, then join (aggregate speed)
 *   pingpong ROUNDS  two threads hand a token back and forth through futexes; each hand-over is
 *                    one thread switch through the kernel
 *   wake N K         N threads wait on a futex; FUTEX_WAKE for K wakes exactly K of them, then
 *                    FUTEX_REQUEUE wakes one more and moves the rest to a second futex
 */
#define _GNU_SOURCE
#define FUTEX_WAIT_PRIVATE 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG (musl ships no kernel headers) */
#define FUTEX_WAKE_PRIVATE 129
#define FUTEX_REQUEUE_PRIVATE 131
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

static atomic_int gate, other, waiting, woken;

static void *sleeper(void *arg)
{
    (void)arg;
    atomic_fetch_add(&waiting, 1);
    syscall(SYS_futex, &gate, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    atomic_fetch_add(&woken, 1);
    return NULL;
}

static void pause_ms(long ms)
{
    struct timespec ts = {0, ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Wake K of N waiters, then requeue: each step reports what the call returned and how many
 * waiters have run on since (after a pause long enough for every woken thread to run). */
static int wake(int n, int k)
{
    pthread_t threads[64];
    if (n > 64)
        n = 64;
    for (long i = 0; i < n; i++)
        pthread_create(&threads[i], NULL, sleeper, NULL);
    while (atomic_load(&waiting) < n)
        pause_ms(1);
    pause_ms(20); /* the last one to count itself is in FUTEX_WAIT now */
    long r = syscall(SYS_futex, &gate, FUTEX_WAKE_PRIVATE, k, NULL, NULL, 0);
    pause_ms(20);
    printf("wake %d of %d: returned %ld, %d woken\n", k, n, r, atomic_load(&woken));
    r = syscall(SYS_futex, &gate, FUTEX_REQUEUE_PRIVATE, 1, (long)n, &other, 0);
    pause_ms(20);
    printf("requeue: returned %ld, %d woken\n", r, atomic_load(&woken));
    r = syscall(SYS_futex, &gate, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
    printf("wake the first futex again: returned %ld\n", r);
    r = syscall(SYS_futex, &other, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    printf("wake the second futex: returned %ld, %d woken\n", r, atomic_load(&woken));
    return 0;
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
    if (!strcmp(mode, "wake"))
        return wake(argc > 2 ? atoi(argv[2]) : 4, argc > 3 ? atoi(argv[3]) : 1);
    fprintf(stderr, "usage: threads spin N ITER | pingpong ROUNDS | wake N K\n");
    return 2;
}
