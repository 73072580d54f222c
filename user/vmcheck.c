/* vmcheck: guest-visible memory and time semantics, one check per argument.
 *   protnone  read a PROT_NONE page (must be killed by SIGSEGV)
 *   restore   contents survive PROT_NONE and come back with PROT_READ
 *   jit       code written by the guest and by the kernel (read from stdin) runs as written
 *   time      rdtsc and clock_gettime agree and never go backwards, across sched_yield
 *   tscedge   an rdtsc whose two bytes straddle two pages runs (the kernel answers it)
 *   random    the 16 bytes of AT_RANDOM and of two successive getrandom calls, in hex
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

typedef int (*function)(void);

static uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

static long monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

static volatile char *page(void)
{
    return mmap(0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static int protnone(void)
{
    volatile char *p = page();
    p[0] = 42;
    mprotect((void *)p, 4096, PROT_NONE);
    printf("reading a PROT_NONE page\n");
    fflush(stdout);
    printf("read %d: not enforced\n", p[0]);
    return 1;
}

static int restore(void)
{
    volatile char *p = page();
    p[0] = 42;
    mprotect((void *)p, 4096, PROT_NONE);
    mprotect((void *)p, 4096, PROT_READ);
    printf("restore %d\n", p[0]);
    return 0;
}

static int jit(void)
{
    unsigned char *p = (unsigned char *)page();
    static const unsigned char return1[] = {0xb8, 1, 0, 0, 0, 0xc3}; /* mov eax, 1; ret */
    memcpy(p, return1, sizeof return1);
    mprotect(p, 4096, PROT_READ | PROT_EXEC);
    int first = ((function)p)();
    mprotect(p, 4096, PROT_READ | PROT_WRITE);
    if (read(0, p, 6) != 6) /* the kernel writes the next function */
        return 2;
    mprotect(p, 4096, PROT_READ | PROT_EXEC);
    printf("jit %d %d\n", first, ((function)p)());
    return 0;
}

static int tsc_edge(void)
{
    unsigned char *p = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    p[4095] = 0x0f; /* rdtsc: 0f 31, then ret */
    p[4096] = 0x31;
    p[4097] = 0xc3;
    mprotect(p, 8192, PROT_READ | PROT_EXEC);
    ((void (*)(void))(p + 4095))();
    printf("tscedge: rdtsc across two pages ran\n");
    return 0;
}

static int time_check(void)
{
    volatile long sink = 0;
    int backwards = 0;
    long previous = monotonic_ns();
    for (int round = 0; round < 50; round++) {
        for (int i = 0; i < 3000; i++)
            sink += i;
        long before = monotonic_ns();
        uint64_t tsc = rdtsc();
        long after = monotonic_ns();
        if ((long)tsc < before || after < (long)tsc || before < previous)
            backwards++;
        previous = after;
        sched_yield();
    }
    printf("time backwards=%d\n", backwards);
    return 0;
}

static void hex(const char *what, const unsigned char *bytes)
{
    printf("%s ", what);
    for (int i = 0; i < 16; i++)
        printf("%02x", bytes[i]);
    printf("\n");
}

static int random_bytes(void)
{
    unsigned char first[16], second[16];
    if (getrandom(first, sizeof first, 0) != sizeof first || getrandom(second, sizeof second, 0) != sizeof second)
        return 1;
    hex("AT_RANDOM", (const unsigned char *)getauxval(AT_RANDOM));
    hex("getrandom", first);
    hex("getrandom", second);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (!strcmp(mode, "protnone"))
        return protnone();
    if (!strcmp(mode, "restore"))
        return restore();
    if (!strcmp(mode, "jit"))
        return jit();
    if (!strcmp(mode, "time"))
        return time_check();
    if (!strcmp(mode, "tscedge"))
        return tsc_edge();
    if (!strcmp(mode, "random"))
        return random_bytes();
    fprintf(stderr, "usage: vmcheck protnone|restore|jit|time|tscedge|random\n");
    return 2;
}
