/* threads: kernel-thread experiments.
 *   spin N ITER      N threads each run ITER iterations of arithmetic, then join (aggregate speed)
 *   pingpong ROUNDS  two threads hand a token back and forth through futexes; each hand-over is
 *                    one thread switch through the kernel
 *   wake N K         N threads wait on a futex; FUTEX_WAKE for K wakes exactly K of them, then
 *                    FUTEX_REQUEUE wakes one more and moves the rest to a second futex; each
 *                    woken FUTEX_WAIT returns 0
 *   futex            the futex calls' errors, timeouts (relative and absolute, both clocks) and
 *                    FUTEX_CMP_REQUEUE's limit (on words in a shared mapping), one line each
 */
#define _GNU_SOURCE
#define FUTEX_WAIT_PRIVATE 128 /* FUTEX_WAIT | FUTEX_PRIVATE_FLAG (musl ships no kernel headers) */
#define FUTEX_WAKE_PRIVATE 129
#define FUTEX_REQUEUE_PRIVATE 131
#define FUTEX_CMP_REQUEUE_PRIVATE 132
#define FUTEX_WAIT_BITSET_PRIVATE 137
#define FUTEX_CLOCK_REALTIME 256
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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

static atomic_int waiting, woken, returned_0;
/* the futex words the sleepers wait on and the second one requeues move them to */
static atomic_int words_of_wake[2], *gate = &words_of_wake[0], *other = &words_of_wake[1];

static void *sleeper(void *arg)
{
    (void)arg;
    atomic_fetch_add(&waiting, 1);
    long r = syscall(SYS_futex, gate, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    atomic_fetch_add(&woken, 1);
    if (r == 0) /* a woken wait returns 0 (the waker's count is its own) */
        atomic_fetch_add(&returned_0, 1);
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
    long r = syscall(SYS_futex, gate, FUTEX_WAKE_PRIVATE, k, NULL, NULL, 0);
    pause_ms(20);
    printf("wake %d of %d: returned %ld, %d woken\n", k, n, r, atomic_load(&woken));
    r = syscall(SYS_futex, gate, FUTEX_REQUEUE_PRIVATE, 1, (long)n, other, 0);
    pause_ms(20);
    printf("requeue: returned %ld, %d woken\n", r, atomic_load(&woken));
    r = syscall(SYS_futex, gate, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
    printf("wake the first futex again: returned %ld\n", r);
    r = syscall(SYS_futex, other, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    printf("wake the second futex: returned %ld, %d woken\n", r, atomic_load(&woken));
    printf("woken waits that returned 0: %d of %d\n", atomic_load(&returned_0), n);
    return 0;
}

static long clock_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static const char *outcome(long r)
{
    static char text[32];
    if (r >= 0) {
        snprintf(text, sizeof text, "%ld", r);
        return text;
    }
    return errno == EINVAL ? "EINVAL" : errno == EAGAIN ? "EAGAIN" : errno == ETIMEDOUT ? "ETIMEDOUT"
         : errno == ENOSYS ? "ENOSYS" : errno == EFAULT ? "EFAULT" : strerror(errno);
}

static long futex(void *word, int op, long val, const struct timespec *timeout, void *word2, long val3)
{
    return syscall(SYS_futex, word, op, val, timeout, word2, val3);
}

/* A timed wait that nobody wakes: what it returned and whether it waited as long as asked. */
static void timed(const char *what, int op, clockid_t clock, long wait_ns, int absolute)
{
    static atomic_int word;
    long start = clock_ns(clock);
    long when = absolute ? start + wait_ns : wait_ns;
    struct timespec ts = {when / 1000000000L, when % 1000000000L};
    long r = futex(&word, op, 0, &ts, NULL, -1);
    long waited = clock_ns(clock) - start;
    printf("%s: %s, waited as asked: %s (%ld us)\n", what, outcome(r),
           waited >= (wait_ns > 0 ? wait_ns : 0) ? "yes" : "no", waited / 1000);
}

static int futex_checks(void)
{
    static atomic_int words[2];
    char *bytes = (char *)&words[0];
    /* first: a wake before the process ever waited on any futex */
    printf("wake with nobody waiting: %s\n", outcome(futex(&words[0], FUTEX_WAKE_PRIVATE, 5, NULL, NULL, 0)));
    printf("an unaligned word: %s\n", outcome(futex(bytes + 1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0)));
    printf("wait for a value the word does not hold: %s\n",
           outcome(futex(&words[0], FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0)));
    struct timespec ms = {0, 1000000L};
    printf("a value compared in 32 bits (2^32 is 0): %s\n",
           outcome(futex(&words[0], FUTEX_WAIT_PRIVATE, 1L << 32, &ms, NULL, 0)));
    printf("wake after waits, with nobody waiting: %s\n",
           outcome(futex(&words[0], FUTEX_WAKE_PRIVATE, 5, NULL, NULL, 0)));
    printf("an unknown operation: %s\n", outcome(futex(&words[0], 99, 0, NULL, NULL, 0)));
    struct timespec bad = {0, 1000000000L};
    printf("a timeout of 1e9 ns in tv_nsec: %s\n", outcome(futex(&words[0], FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0)));
    bad.tv_sec = -1;
    bad.tv_nsec = 0;
    printf("a negative timeout: %s\n", outcome(futex(&words[0], FUTEX_WAIT_PRIVATE, 0, &bad, NULL, 0)));
    printf("a timeout at a bad address: %s\n",
           outcome(futex(&words[0], FUTEX_WAIT_PRIVATE, 0, (void *)8, NULL, 0)));
    printf("cmp_requeue with a changed value: %s\n",
           outcome(futex(&words[0], FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &words[1], 7)));
    static atomic_int pair[2] = {5, 9}; /* a word, and the next one: only the first is compared */
    printf("wait on a word beside another: %s\n", outcome(futex(&pair[0], FUTEX_WAIT_PRIVATE, 5, &ms, NULL, 0)));
    printf("cmp_requeue with the value the word holds: %s\n",
           outcome(futex(&pair[0], FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &words[1], 5)));
    char *page = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(page + 4096, 4096);
    printf("wait on the last word of a page: %s\n",
           outcome(futex(page + 4092, FUTEX_WAIT_PRIVATE, 0, &ms, NULL, 0)));
    struct timespec zero = {0, 0};
    printf("a zero timeout: %s\n", outcome(futex(&words[0], FUTEX_WAIT_PRIVATE, 0, &zero, NULL, 0)));
    timed("wait 3 ms", FUTEX_WAIT_PRIVATE, CLOCK_MONOTONIC, 3000000, 0);
    timed("wait_bitset until 3 ms from now (monotonic)", FUTEX_WAIT_BITSET_PRIVATE, CLOCK_MONOTONIC, 3000000, 1);
    timed("wait_bitset until 3 ms from now (realtime)", FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME,
          CLOCK_REALTIME, 3000000, 1);
    timed("wait_bitset until a time past", FUTEX_WAIT_BITSET_PRIVATE, CLOCK_MONOTONIC, -5000000, 1);

    /* five waiters; cmp_requeue wakes one and moves at most two; the words are in a shared
     * mapping, where the process's own (private) futex calls must still find each other */
    gate = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (gate == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    other = gate + 1;
    pthread_t threads[5];
    for (long i = 0; i < 5; i++)
        pthread_create(&threads[i], NULL, sleeper, NULL);
    while (atomic_load(&waiting) < 5)
        pause_ms(1);
    pause_ms(20);
    long r = futex(gate, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)2L, other, 0);
    pause_ms(20);
    printf("cmp_requeue wake 1, move at most 2: %s, %d woken\n", outcome(r), atomic_load(&woken));
    r = futex(gate, FUTEX_CMP_REQUEUE_PRIVATE, 0, (void *)10L, other, 0);
    pause_ms(20);
    printf("cmp_requeue wake none, move the rest beside the waiters moved before: %s, %d woken\n", outcome(r),
           atomic_load(&woken));
    r = futex(other, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0);
    pause_ms(20);
    printf("wake the second futex: %s, %d woken\n", outcome(r), atomic_load(&woken));
    r = futex(gate, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0);
    for (int i = 0; i < 5; i++)
        pthread_join(threads[i], NULL);
    printf("wake the first: %s, %d woken\n", outcome(r), atomic_load(&woken));
    printf("woken waits that returned 0: %d of 5\n", atomic_load(&returned_0));
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
    if (!strcmp(mode, "futex"))
        return futex_checks();
    if (!strcmp(mode, "wake"))
        return wake(argc > 2 ? atoi(argv[2]) : 4, argc > 3 ? atoi(argv[3]) : 1);
    fprintf(stderr, "usage: threads spin N ITER | pingpong ROUNDS | wake N K | futex\n");
    return 2;
}
