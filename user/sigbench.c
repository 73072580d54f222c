/* sigbench: signal costs for bench/signals.py.
 *
 *     sigbench roundtrip N   kill(getpid(), SIGUSR1) to a handler and back, N times
 *     sigbench itimer MS S   a MS-millisecond ITIMER_REAL for S seconds: the SIGALRMs counted
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static volatile long count;

static void tick(int sig)
{
    (void)sig;
    count++;
}

static long elapsed_ns(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000000000L + now.tv_nsec - start->tv_nsec;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = tick;
    if (argc == 3 && !strcmp(argv[1], "roundtrip")) {
        long n = atol(argv[2]);
        sigaction(SIGUSR1, &sa, NULL);
        pid_t me = getpid();
        for (long i = 0; i < n; i++)
            kill(me, SIGUSR1);
        printf("roundtrip %ld handled %ld\n", n, count);
        return count == n ? 0 : 1;
    }
    if (argc == 4 && !strcmp(argv[1], "itimer")) {
        long ms = atol(argv[2]), seconds = atol(argv[3]);
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval every = {{ms / 1000, ms % 1000 * 1000}, {ms / 1000, ms % 1000 * 1000}};
        struct timespec start;
        clock_gettime(CLOCK_MONOTONIC, &start);
        setitimer(ITIMER_REAL, &every, NULL);
        while (elapsed_ns(&start) < seconds * 1000000000L)
            pause();
        printf("itimer %ld ms for %ld s: %ld signals\n", ms, seconds, count);
        return 0;
    }
    fprintf(stderr, "usage: sigbench roundtrip N | itimer MS SECONDS\n");
    return 2;
}
