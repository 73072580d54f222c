/* pagetouch: the cost of first touches. Maps N anonymous pages (argv[1]) and writes one byte
 * to each, so each write is the first touch of its page; prints the sum read back. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 1000;
    volatile unsigned char *p = mmap(0, (size_t)n * 4096, PROT_READ | PROT_WRITE,
                                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("pagetouch: mmap");
        return 1;
    }
    for (long i = 0; i < n; i++)
        p[i * 4096] = (unsigned char)(i | 1);
    long sum = 0;
    for (long i = 0; i < n; i += 512)
        sum += p[i * 4096];
    printf("pagetouch %ld pages, sum %ld\n", n, sum);
    return 0;
}
