/* spin: a pure user-mode CPU loop with no syscalls, used to measure how many
 * guest instructions per second the emulator executes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Storing the result into a volatile keeps the compiler from folding or
 * deleting the loop while leaving the loop body itself in registers. */
static volatile uint64_t sink;

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000000UL;
    uint64_t x = 1, acc = 0;

    for (unsigned long i = 0; i < n; i++) {
        /* Knuth's MMIX LCG constants. */
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        acc += x >> 33;
    }
    sink = acc;
    printf("spin %lu result %llu\n", n, (unsigned long long)sink);
    return 0;
}
