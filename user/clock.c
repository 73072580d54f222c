/* clock: checks CLOCK_MONOTONIC, uname and nanosleep. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <sys/utsname.h>
#include <time.h>

static volatile uint64_t sink;

static int64_t ts_ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

int main(void)
{
    struct timespec t0, t1;

    if (clock_gettime(CLOCK_MONOTONIC, &t0) != 0) {
        printf("clock_gettime failed\n");
        return 1;
    }
    for (uint64_t i = 0; i < 10000000; i++)
        sink += i;
    if (clock_gettime(CLOCK_MONOTONIC, &t1) != 0) {
        printf("clock_gettime failed\n");
        return 1;
    }
    printf("clock monotonic advanced: %s\n", ts_ns(&t1) > ts_ns(&t0) ? "yes" : "no");

    struct utsname u;
    if (uname(&u) == 0)
        printf("uname sysname=%s machine=%s\n", u.sysname, u.machine);
    else
        printf("uname failed\n");

    struct timespec req = { .tv_sec = 0, .tv_nsec = 1000000 };
    if (nanosleep(&req, NULL) == 0)
        printf("nanosleep ok\n");
    else
        printf("nanosleep failed\n");

    printf("elapsed_ns=%lld\n", (long long)(ts_ns(&t1) - ts_ns(&t0)));
    return 0;
}
