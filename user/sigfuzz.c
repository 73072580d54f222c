/* sigfuzz: signal operations listed on stdin, one per line (numbers in hexadecimal):
 *
 *     action SIG KIND FLAGS MASK   KIND 0 SIG_DFL, 1 SIG_IGN, 2 a counting handler, 3 a handler
 *                                  that scribbles VALUE at OFFSET of its own frame (set by
 *                                  "scribble"), else KIND itself as the handler's address
 *     scribble OFFSET VALUE        what a KIND 3 handler writes into its frame before returning
 *     mask HOW SET                 rt_sigprocmask
 *     raise SIG | kill PID SIG | tkill SIG | queue SIG VALUE
 *     altstack SIZE FLAGS          sigaltstack on a static buffer (SIZE 0: disable)
 *     sigreturn SEED               rt_sigreturn on a frame of bytes made from SEED
 *     suspend SET | pending
 *
 * and prints "OP -> RESULT" for each. Used by the fuzz tests: whatever the numbers, the kernel
 * must answer or kill only this process (SIGSEGV and a report for a frame it cannot use). */
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct kernel_sigaction {
    unsigned long handler, flags, restorer, mask;
};

static volatile long handled;
static volatile unsigned long scribble_offset, scribble_value;

static void counting(int sig)
{
    (void)sig;
    handled++;
}

static void scribbling(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)si;
    handled++;
    /* the frame starts 8 bytes below the ucontext (the return address) and runs on for the
     * siginfo and the FPU area: anything in it may be changed before rt_sigreturn reads it */
    unsigned char *frame = (unsigned char *)uc - 8;
    memcpy(frame + scribble_offset % 1100, (const void *)&scribble_value, sizeof scribble_value);
}

extern void fuzz_restorer(void);
__asm__(".text\nfuzz_restorer:\n\tmovq $15, %rax\n\tsyscall\n\thlt\n");

static long raw(long n, long a, long b, long c, long d)
{
    long ret;
    register long r10 __asm__("r10") = d;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10) : "rcx", "r11", "memory");
    return ret;
}

static unsigned char altbuf[1 << 16];
static unsigned char fake[2048] __attribute__((aligned(64)));

static long sigreturn_on(unsigned long seed)
{
    for (size_t i = 0; i < sizeof fake; i++) {
        seed = seed * 6364136223846793005UL + 1442695040888963407UL;
        fake[i] = (unsigned char)(seed >> 56);
    }
    long ret;
    __asm__ volatile("movq %%rsp, %%rbx\n\t"
                     "movq %1, %%rsp\n\t"
                     "movq $15, %%rax\n\t"
                     "syscall\n\t"
                     "movq %%rbx, %%rsp"
                     : "=a"(ret)
                     : "r"(fake + 8)
                     : "rbx", "rcx", "r11", "memory");
    return ret;
}

int main(void)
{
    char op[32];
    while (scanf("%31s", op) == 1) {
        unsigned long a = 0, b = 0, c = 0, d = 0;
        long r = -1;
        if (!strcmp(op, "action") && scanf("%lx %lx %lx %lx", &a, &b, &c, &d) == 4) {
            struct kernel_sigaction sa = {b, c | 0x04000000UL, (unsigned long)fuzz_restorer, d};
            if (b == 2)
                sa.handler = (unsigned long)counting;
            else if (b == 3)
                sa.handler = (unsigned long)scribbling, sa.flags |= SA_SIGINFO;
            if (c & 0x100) /* sometimes no SA_RESTORER at all */
                sa.flags &= ~0x04000000UL;
            r = raw(SYS_rt_sigaction, (long)a, (long)&sa, 0, 8);
        } else if (!strcmp(op, "scribble") && scanf("%lx %lx", &a, &b) == 2) {
            scribble_offset = a, scribble_value = b, r = 0;
        } else if (!strcmp(op, "mask") && scanf("%lx %lx", &a, &b) == 2) {
            r = raw(SYS_rt_sigprocmask, (long)a, (long)&b, 0, 8);
        } else if (!strcmp(op, "raise") && scanf("%lx", &a) == 1) {
            r = raw(SYS_tgkill, getpid(), (long)syscall(SYS_gettid), (long)a, 0);
        } else if (!strcmp(op, "kill") && scanf("%lx %lx", &a, &b) == 2) {
            r = raw(SYS_kill, (long)a, (long)b, 0, 0);
        } else if (!strcmp(op, "tkill") && scanf("%lx", &a) == 1) {
            r = raw(SYS_tkill, (long)syscall(SYS_gettid), (long)a, 0, 0);
        } else if (!strcmp(op, "queue") && scanf("%lx %lx", &a, &b) == 2) {
            siginfo_t info;
            memset(&info, 0, sizeof info);
            info.si_code = SI_QUEUE;
            info.si_value.sival_ptr = (void *)b;
            r = raw(SYS_rt_sigqueueinfo, getpid(), (long)a, (long)&info, 0);
        } else if (!strcmp(op, "altstack") && scanf("%lx %lx", &a, &b) == 2) {
            stack_t ss = {.ss_sp = altbuf, .ss_size = a > sizeof altbuf ? sizeof altbuf : a, .ss_flags = (int)b};
            if (!a)
                ss.ss_flags = SS_DISABLE;
            r = raw(SYS_sigaltstack, (long)&ss, 0, 0, 0);
        } else if (!strcmp(op, "sigreturn") && scanf("%lx", &a) == 1) {
            r = sigreturn_on(a);
        } else if (!strcmp(op, "suspend") && scanf("%lx", &a) == 1) {
            r = raw(SYS_rt_sigsuspend, (long)&a, 8, 0, 0);
        } else if (!strcmp(op, "pending")) {
            unsigned long set = 0;
            r = raw(SYS_rt_sigpending, (long)&set, 8, 0, 0);
            printf("pending %lx\n", set);
        } else {
            printf("bad line at %s\n", op);
            return 2;
        }
        printf("%s -> %ld (handled %ld)\n", op, r, handled);
        fflush(stdout);
    }
    printf("sigfuzz done\n");
    return 0;
}
