/* fault: triggers one kind of CPU fault (or a syscall EFAULT) on request, to
 * test how the kernel reports and handles guest faults. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static void announce(const char *mode)
{
    printf("fault: about to %s\n", mode);
    /* stdout may be a pipe (fully buffered); flush before the process dies. */
    fflush(stdout);
}

static int usage(void)
{
    fprintf(stderr, "usage: fault null|write-ro|write-after-read|exec-stack|exec-data|kernel|noncanonical|top|jump|ud2|div0|hlt|efault\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();

    const char *mode = argv[1];

    if (strcmp(mode, "null") == 0) {
        announce(mode);
        /* Both the pointer and the access are volatile so the compiler can
         * neither see that p is NULL nor drop or replace the load. */
        volatile int *volatile p = NULL;
        return *p;
    } else if (strcmp(mode, "write-ro") == 0) {
        announce(mode);
        /* The literal lives in .rodata.  A volatile pointer alone is not
         * enough: GCC drops the plain store as dead, so the store itself
         * goes through a pointer to volatile. */
        volatile char *volatile s = (volatile char *)"read-only";
        s[0] = 'R';
        return 0;
    } else if (strcmp(mode, "exec-stack") == 0) {
        /* a "ret" in a stack buffer: readable and writable, never executable */
        volatile unsigned char code[16] = {0xc3};
        announce(mode);
        ((void (*)(void))(uintptr_t)code)();
        return 0;
    } else if (strcmp(mode, "exec-data") == 0) {
        /* a "ret" in an anonymous read-write mapping */
        unsigned char *code = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        code[0] = 0xc3;
        announce(mode);
        ((void (*)(void))(uintptr_t)code)();
        return 0;
    } else if (strcmp(mode, "kernel") == 0 || strcmp(mode, "noncanonical") == 0) {
        /* the first kernel address, and the first address past the user half (not canonical) */
        announce(mode);
        volatile long *volatile p = (long *)(mode[0] == 'k' ? 0xffff800000000000UL : 0x0000800000000000UL);
        return (int)*p;
    } else if (strcmp(mode, "top") == 0) {
        /* the last page below the user limit: canonical, never mapped */
        announce(mode);
        volatile long *volatile p = (long *)0x00007ffffffff000UL;
        return (int)*p;
    } else if (strcmp(mode, "write-after-read") == 0) {
        /* a read-only page brought in by a read (demand paging), then written */
        volatile char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        announce(mode);
        if (page[0] != 0)
            return 1;
        page[0] = 'w';
        return 0;
    } else if (strcmp(mode, "jump") == 0) {
        announce(mode);
        void (*volatile fn)(void) = (void (*)(void))0x12345000UL;
        fn();
        return 0;
    } else if (strcmp(mode, "ud2") == 0) {
        announce(mode);
        __builtin_trap();
    } else if (strcmp(mode, "div0") == 0) {
        announce(mode);
        volatile int zero = 0;
        volatile int one = 1;
        return one / zero;
    } else if (strcmp(mode, "hlt") == 0) {
        announce(mode);
        /* Privileged: raises #GP at CPL 3. */
        __asm__ volatile("hlt");
        return 0;
    } else if (strcmp(mode, "efault") == 0) {
        announce(mode);
        long r = syscall(SYS_write, 1, (void *)0x10, 5);
        printf("efault ret=%ld errno=%d\n", r, r < 0 ? errno : 0);
        return 0;
    }
    return usage();
}
