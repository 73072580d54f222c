/* memtest: exercises the memory syscalls musl's allocator and the program
 * use: mmap/munmap (large malloc, anonymous mapping), brk and mprotect. */
#define _DEFAULT_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define BIG_SIZE   (16u << 20)
#define MAP_SIZE   (1u << 20)
#define NSMALL     1000
#define SMALL_SIZE 64
#define BRK_GROW   (64u << 10)

static int fail(const char *what)
{
    printf("memtest failed: %s\n", what);
    return 1;
}

int main(void)
{
    /* 16 MiB is far above musl's mmap threshold, so this is an mmap. */
    unsigned char *big = malloc(BIG_SIZE);
    if (!big)
        return fail("malloc 16 MiB");
    memset(big, 0x5a, BIG_SIZE);
    uint64_t sum = 0;
    for (size_t i = 0; i < BIG_SIZE; i++)
        sum += big[i];
    if (sum != (uint64_t)0x5a * BIG_SIZE)
        return fail("sum of 16 MiB buffer");
    free(big);

    unsigned char *map = mmap(NULL, MAP_SIZE, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED)
        return fail("mmap 1 MiB");
    for (size_t i = 0; i < MAP_SIZE; i += 4096)
        if (map[i] != 0)
            return fail("anonymous mapping not zero-filled");
    map[0] = 1;
    map[MAP_SIZE - 1] = 2;
    sum += map[0] + map[MAP_SIZE - 1];
    if (munmap(map, MAP_SIZE) != 0)
        return fail("munmap 1 MiB");

    /* musl's mallocng takes its metadata area from brk but the small
     * blocks themselves from many small mmaps, so this mostly stresses
     * mmap/munmap and only grows brk once. */
    static unsigned char *small[NSMALL];
    for (int i = 0; i < NSMALL; i++) {
        small[i] = malloc(SMALL_SIZE);
        if (!small[i])
            return fail("malloc small block");
        memset(small[i], i & 0xff, SMALL_SIZE);
    }
    for (int i = 0; i < NSMALL; i++) {
        if (small[i][SMALL_SIZE - 1] != (i & 0xff))
            return fail("small block contents");
        sum += small[i][0];
    }
    for (int i = 0; i < NSMALL; i++)
        free(small[i]);

    /* Grow and shrink the break explicitly.  musl's brk() and sbrk(n != 0)
     * always fail with ENOMEM by design, so use the raw syscall, which
     * returns the new break (or the old one on failure).  Nothing may call
     * malloc between growing and shrinking. */
    uintptr_t brk0 = (uintptr_t)syscall(SYS_brk, 0);
    if (brk0 == 0 || (void *)brk0 != sbrk(0))
        return fail("brk query");
    uintptr_t brk1 = (uintptr_t)syscall(SYS_brk, brk0 + BRK_GROW);
    if (brk1 != brk0 + BRK_GROW)
        return fail("brk grow");
    memset((void *)brk0, 0xa5, BRK_GROW);
    if (((volatile unsigned char *)brk0)[BRK_GROW - 1] != 0xa5)
        return fail("brk memory contents");
    if ((uintptr_t)syscall(SYS_brk, brk0) != brk0)
        return fail("brk shrink");

    long page = sysconf(_SC_PAGESIZE);
    unsigned char *pg = mmap(NULL, page, PROT_READ | PROT_WRITE,
                             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pg == MAP_FAILED)
        return fail("mmap page");
    pg[0] = 7;
    if (mprotect(pg, page, PROT_READ) != 0)
        return fail("mprotect read-only");
    if (pg[0] != 7)
        return fail("read after mprotect");
    sum += pg[0];
    munmap(pg, page);

    printf("memtest ok %llu\n", (unsigned long long)sum);
    return 0;
}
