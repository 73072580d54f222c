/* syscall_loop: measures the syscall round trip.  getpid() goes through
 * syscall(SYS_getpid) so every iteration really enters the kernel, whatever
 * the libc does about caching the pid. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 0) : 100000UL;

    for (unsigned long i = 0; i < n; i++)
        syscall(SYS_getpid);
    printf("done %lu\n", n);
    return 0;
}
