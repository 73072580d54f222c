/* sysfuzz: issues the raw system calls listed on stdin, one per line:
 *     NR A0 A1 A2 A3 A4 A5      (hexadecimal)
 * and prints "NR -> RESULT" for each.  Used by the fuzz test: whatever the
 * numbers and pointers, the kernel must answer or kill only this process. */
#define _GNU_SOURCE
#include <stdio.h>
#include <unistd.h>

static long raw_syscall(long n, long a, long b, long c, long d, long e, long f)
{
    long ret;
    register long r10 __asm__("r10") = d;
    register long r8 __asm__("r8") = e;
    register long r9 __asm__("r9") = f;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

int main(void)
{
    unsigned long v[7];
    while (scanf("%lx %lx %lx %lx %lx %lx %lx", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) == 7) {
        long ret = raw_syscall((long)v[0], (long)v[1], (long)v[2], (long)v[3], (long)v[4], (long)v[5],
                               (long)v[6]);
        printf("%lx -> %ld\n", v[0], ret);
        fflush(stdout);
    }
    printf("sysfuzz done\n");
    return 0;
}
