/* sigtest: what a program observes of signals, timers, process groups and limits.
 *
 *     sigtest GROUP
 *
 * Each group prints one line per observation, in an order and with values that do not depend
 * on pids, addresses or timing, so that the output is the same on Linux (the oracle: the tests
 * run this program natively too) and under kernkit, built with musl and with glibc. Groups:
 * frame flags masks order wait eintr kill chld stop faults timers posixtimers jobs limits. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/times.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#define say(...) (printf(__VA_ARGS__), fflush(stdout))
/* "label: result" and, for a failure, "errno N": the call runs before errno is read */
#define show(label, call)                                                                      \
    do {                                                                                       \
        errno = 0;                                                                             \
        long result_ = (long)(call);                                                           \
        int errno_ = errno;                                                                    \
        if (result_ < 0)                                                                       \
            say("%s: %ld errno %d\n", label, result_, errno_);                                \
        else                                                                                   \
            say("%s: %ld\n", label, result_);                                                 \
    } while (0)

#pragma GCC diagnostic ignored "-Winfinite-recursion" /* overflowing the stack on purpose */
#pragma GCC diagnostic ignored "-Warray-bounds"        /* faulting on purpose */

static void on(int sig, void (*handler)(int, siginfo_t *, void *), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = handler;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(sig, &sa, NULL);
}

static void plain(int sig, void (*handler)(int), int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

static void block(int sig, int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(how, &set, NULL);
}

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void spin_ms(long ms) /* burn CPU time (virtual: instructions) */
{
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    do {
        for (volatile int i = 0; i < 1000; i++)
            ;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    } while ((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 < ms);
}

static int child_status(pid_t pid)
{
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

static void show_status(const char *what, int status)
{
    if (WIFEXITED(status))
        say("%s: exited %d\n", what, WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        say("%s: killed by %d core %d\n", what, WTERMSIG(status), WCOREDUMP(status) ? 1 : 0);
    else if (WIFSTOPPED(status))
        say("%s: stopped by %d\n", what, WSTOPSIG(status));
    else if (WIFCONTINUED(status))
        say("%s: continued\n", what);
}

/* --- frame: siginfo, ucontext, registers, FPU state, and a handler that moves the pc ------- */

static volatile long seen_r12, seen_r15, seen_rbx, seen_code, seen_pid_ok, seen_aligned, seen_onmask;
static volatile long seen_xmm0, seen_mxcsr, seen_magic, seen_fpstate_ok, seen_flags_ss, seen_cs, seen_rax;
static volatile unsigned long seen_sigmask;

struct fxsave {
    uint16_t cwd, swd, ftw, fop;
    uint64_t rip, rdp;
    uint32_t mxcsr, mxcsr_mask;
    uint32_t st[32];
    uint32_t xmm[64];
    uint32_t padding[12];
    uint32_t sw_reserved[12];
};

static void frame_handler(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    seen_code = si->si_code;
    seen_pid_ok = si->si_pid == getpid() && si->si_signo == sig;
    seen_r12 = g[REG_R12];
    seen_r15 = g[REG_R15];
    seen_rbx = g[REG_RBX];
    seen_rax = g[REG_RAX]; /* the interrupted kill's result */
    seen_cs = g[REG_CSGSFS] & 0xffff;
    seen_aligned = ((uintptr_t)__builtin_frame_address(0) & 15) == 0;
    struct fxsave *fx = (struct fxsave *)uc->uc_mcontext.fpregs;
    seen_fpstate_ok = fx != NULL && ((uintptr_t)fx & 63) == 0;
    seen_xmm0 = fx ? fx->xmm[0] : 0;
    seen_mxcsr = fx ? fx->mxcsr & 0xffc0 : 0; /* the control bits, not the sticky flags */
    seen_magic = fx ? fx->sw_reserved[0] == 0x46505853 : 0;
    seen_flags_ss = (uc->uc_flags & 2) != 0; /* UC_SIGCONTEXT_SS */
    memcpy((void *)&seen_sigmask, &uc->uc_sigmask, sizeof seen_sigmask);
    sigset_t now;
    sigprocmask(SIG_BLOCK, NULL, &now);
    seen_onmask = sigismember(&now, sig);
    /* the handler's own SSE state starts afresh; whatever it does is undone by sigreturn */
    __asm__ volatile("pxor %%xmm0, %%xmm0" ::: "xmm0");
    g[REG_R12] = 0x1200; /* changes what the thread resumes with */
}

static long kill_with_registers(void)
{
    long r12 = 0x1212, out;
    register long rbx __asm__("rbx") = 0xb0b0;
    __asm__ volatile("movq %[r12], %%r12\n\t"
                     "movq $0x1515, %%r15\n\t"
                     "syscall\n\t"
                     "movq %%r12, %[out]"
                     : [out] "=r"(out), "+r"(rbx)
                     : [r12] "r"(r12), "a"((long)SYS_kill), "D"((long)getpid()), "S"((long)SIGUSR1)
                     : "rcx", "r11", "r12", "r15", "memory");
    return out;
}

static void jump_handler(int sig, siginfo_t *si, void *ucv)
{
    (void)sig, (void)si;
    extern char resume_label[];
    ((ucontext_t *)ucv)->uc_mcontext.gregs[REG_RIP] = (greg_t)resume_label;
}

static void group_frame(void)
{
    on(SIGUSR1, frame_handler, 0);
    uint32_t pattern[4] = {0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00};
    __asm__ volatile("movdqu %0, %%xmm0" ::"m"(pattern) : "xmm0");
    long r12_after = kill_with_registers();
    uint32_t back[4];
    __asm__ volatile("movdqu %%xmm0, %0" : "=m"(back));
    say("si_code %ld (SI_USER), si_pid and si_signo right %ld\n", seen_code, seen_pid_ok);
    say("r12 %#lx r15 %#lx rbx %#lx cs %#lx\n", seen_r12, seen_r15, seen_rbx, seen_cs);
    say("handler stack 16-aligned %ld, signal blocked in its handler %ld\n", seen_aligned, seen_onmask);
    say("fpstate present and 64-aligned %ld, xsave magic %ld, mxcsr control %#lx, xmm0 word %#lx\n",
        seen_fpstate_ok, seen_magic, seen_mxcsr, seen_xmm0);
    say("uc_flags has UC_SIGCONTEXT_SS %ld, uc_sigmask had SIGUSR1 %d\n", seen_flags_ss,
        (int)((seen_sigmask >> (SIGUSR1 - 1)) & 1));
    say("saved rax (kill's result) %ld\n", seen_rax);
    say("r12 after sigreturn %#lx (the handler's edit), xmm0 restored %d\n", r12_after,
        memcmp(back, pattern, sizeof back) == 0);

    on(SIGUSR2, jump_handler, 0);
    int stepped = 1;
    __asm__ volatile("syscall\n\t"
                     "movl $2, %[stepped]\n\t" /* skipped: the handler moves the pc past it */
                     ".globl resume_label\nresume_label:"
                     : [stepped] "+m"(stepped)
                     : "a"((long)SYS_kill), "D"((long)getpid()), "S"((long)SIGUSR2)
                     : "rcx", "r11", "memory");
    say("resumed where the handler pointed, past an instruction: %d\n", stepped == 1);
}

/* --- flags: SA_NODEFER, SA_RESETHAND, SA_ONSTACK, no SA_RESTORER ------------------------- */

static volatile int depth, max_depth, calls;
static void nested(int sig)
{
    calls++;
    depth++;
    if (depth > max_depth)
        max_depth = depth;
    if (calls == 1)
        raise(sig);
    depth--;
}

static char altstack[1 << 16];
static volatile long on_alt, alt_flags;
static void alt_handler(int sig)
{
    (void)sig;
    char here;
    on_alt = &here > altstack && &here < altstack + sizeof altstack;
    stack_t now;
    sigaltstack(NULL, &now);
    alt_flags = now.ss_flags;
}

static sigjmp_buf overflow_jump;
static volatile long overflow_seen;
static void overflow_handler(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc, (void)si;
    char here;
    overflow_seen = &here > altstack && &here < altstack + sizeof altstack;
    siglongjmp(overflow_jump, 1);
}

static int recurse(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    return recurse(n + 1) + pad[0];
}

static void group_flags(void)
{
    plain(SIGUSR1, nested, 0);
    calls = depth = max_depth = 0;
    raise(SIGUSR1);
    say("without SA_NODEFER: %d calls, deepest %d\n", calls, max_depth);
    plain(SIGUSR1, nested, SA_NODEFER);
    calls = depth = max_depth = 0;
    raise(SIGUSR1);
    say("with SA_NODEFER: %d calls, deepest %d\n", calls, max_depth);

    plain(SIGUSR2, nested, SA_RESETHAND);
    calls = 0;
    pid_t pid = fork();
    if (pid == 0) {
        calls = 1; /* so the handler does not raise again */
        raise(SIGUSR2);
        struct sigaction old;
        sigaction(SIGUSR2, NULL, &old);
        say("SA_RESETHAND: handler back to SIG_DFL %d\n", old.sa_handler == SIG_DFL);
        raise(SIGUSR2);
        _exit(0);
    }
    show_status("second SIGUSR2 after SA_RESETHAND", child_status(pid));

    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    say("sigaltstack %d\n", sigaltstack(&ss, NULL));
    stack_t small = {.ss_sp = altstack, .ss_size = 100, .ss_flags = 0};
    show("a 100-byte alternate stack (ENOMEM)", sigaltstack(&small, NULL));
    plain(SIGUSR1, alt_handler, SA_ONSTACK);
    raise(SIGUSR1);
    say("SA_ONSTACK: ran on the alternate stack %ld, sigaltstack says SS_ONSTACK %d\n", on_alt,
        alt_flags == SS_ONSTACK);
    plain(SIGUSR1, alt_handler, 0);
    raise(SIGUSR1);
    say("without SA_ONSTACK: on the alternate stack %ld\n", on_alt);

    pid = fork();
    if (pid == 0) {
        on(SIGSEGV, overflow_handler, SA_ONSTACK);
        if (sigsetjmp(overflow_jump, 1) == 0)
            recurse(0);
        say("stack overflow caught on the alternate stack %ld\n", overflow_seen);
        _exit(0);
    }
    show_status("overflow child", child_status(pid));

    pid = fork();
    if (pid == 0) { /* a handler without SA_RESTORER: x86-64 Linux cannot return from it */
        struct {
            void *handler;
            unsigned long flags;
            void *restorer;
            unsigned long mask;
        } raw = {(void *)nested, 0, NULL, 0};
        syscall(SYS_rt_sigaction, SIGUSR1, &raw, NULL, 8);
        raise(SIGUSR1);
        _exit(0);
    }
    show_status("no SA_RESTORER", child_status(pid));
}

/* --- masks: per-thread masks, pending sets, the thread that takes a process signal ------- */

static volatile pid_t took_tid;
static void took(int sig)
{
    (void)sig;
    took_tid = (pid_t)syscall(SYS_gettid);
}

static pid_t worker_tid;
static volatile int worker_go, worker_done;
static void *worker(void *arg)
{
    (void)arg;
    worker_tid = (pid_t)syscall(SYS_gettid);
    block(SIGUSR2, SIG_BLOCK);
    worker_go = 1;
    while (!worker_done)
        sched_yield();
    return NULL;
}

static void group_masks(void)
{
    plain(SIGUSR1, took, 0);
    plain(SIGUSR2, took, 0);
    block(SIGUSR1, SIG_BLOCK);
    raise(SIGUSR1);
    raise(SIGUSR1);
    sigset_t pending;
    sigpending(&pending);
    say("blocked SIGUSR1 pending %d, SIGUSR2 pending %d\n", sigismember(&pending, SIGUSR1),
        sigismember(&pending, SIGUSR2));
    took_tid = 0;
    block(SIGUSR1, SIG_UNBLOCK);
    say("taken as soon as unblocked %d\n", took_tid != 0);
    took_tid = 0;
    sigpending(&pending);
    say("two raises while blocked: delivered once, nothing left %d\n", !sigismember(&pending, SIGUSR1));

    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    while (!worker_go)
        sched_yield();
    pid_t me = (pid_t)syscall(SYS_gettid);
    block(SIGUSR1, SIG_BLOCK);
    took_tid = 0;
    kill(getpid(), SIGUSR1); /* the main thread blocks it: the worker takes it */
    while (!took_tid)
        sched_yield();
    say("process signal blocked by main: taken by the worker %d\n", took_tid == worker_tid);
    block(SIGUSR1, SIG_UNBLOCK);
    took_tid = 0;
    kill(getpid(), SIGUSR2); /* the worker blocks it: the main thread takes it */
    while (!took_tid)
        sched_yield();
    say("process signal blocked by the worker: taken by main %d\n", took_tid == me);
    took_tid = 0;
    syscall(SYS_tgkill, getpid(), worker_tid, SIGUSR1);
    while (!took_tid)
        sched_yield();
    say("tgkill to the worker: taken by the worker %d\n", took_tid == worker_tid);
    worker_done = 1;
    pthread_join(thread, NULL);
}

/* --- order: several pending signals, real-time queueing ------------------------------------ */

static volatile int order[16], norder;
static volatile int values[8], nvalues;
static void note(int sig)
{
    order[norder++] = sig;
}
static void note_value(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    values[nvalues++] = si->si_value.sival_int;
}

static void group_order(void)
{
    sigset_t both;
    sigemptyset(&both);
    sigaddset(&both, SIGUSR1);
    sigaddset(&both, SIGUSR2);
    sigaddset(&both, SIGTERM);
    plain(SIGUSR1, note, 0);
    plain(SIGUSR2, note, 0);
    plain(SIGTERM, note, 0);
    sigprocmask(SIG_BLOCK, &both, NULL);
    raise(SIGTERM);
    raise(SIGUSR2);
    raise(SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &both, NULL);
    say("three pending signals unblocked at once, handlers ran in order:");
    for (int i = 0; i < norder; i++)
        say(" %d", order[i]);
    say("\n");

    int rt = SIGRTMIN + 2;
    on(rt, note_value, 0);
    block(rt, SIG_BLOCK);
    for (int i = 1; i <= 3; i++)
        sigqueue(getpid(), rt, (union sigval){.sival_int = i * 10});
    block(rt, SIG_UNBLOCK);
    say("real-time signals queued and taken in order:");
    for (int i = 0; i < nvalues; i++)
        say(" %d", values[i]);
    say("\n");
}

/* --- wait: sigsuspend, sigtimedwait, pause, signalfd ---------------------------------------- */

static volatile int hits;
static void count_hit(int sig)
{
    (void)sig;
    hits++;
}

static void group_wait(void)
{
    plain(SIGALRM, count_hit, 0);
    block(SIGALRM, SIG_BLOCK);
    struct itimerval soon = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &soon, NULL);
    sigset_t none;
    sigemptyset(&none);
    int r = sigsuspend(&none);
    say("sigsuspend: %d errno %d (EINTR), handler ran %d\n", r, errno, hits);
    sigset_t after;
    sigprocmask(SIG_BLOCK, NULL, &after);
    say("mask back after sigsuspend: SIGALRM blocked %d\n", sigismember(&after, SIGALRM));

    sigset_t wanted;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGUSR1);
    block(SIGUSR1, SIG_BLOCK);
    struct timespec short_wait = {0, 20 * 1000 * 1000};
    r = sigtimedwait(&wanted, NULL, &short_wait);
    say("sigtimedwait timeout: %d errno %d (EAGAIN)\n", r, errno);
    union sigval v = {.sival_int = 42};
    sigqueue(getpid(), SIGUSR1, v);
    siginfo_t info;
    r = sigtimedwait(&wanted, &info, &short_wait);
    say("sigtimedwait: %d code %d (SI_QUEUE) value %d from us %d\n", r, info.si_code, info.si_value.sival_int,
        info.si_pid == getpid());

    pid_t pid = fork();
    if (pid == 0) { /* waits for SIGUSR1 with no timeout; the parent sends it */
        r = sigwaitinfo(&wanted, &info);
        say("child sigwaitinfo: %d, sent by its parent %d\n", r, info.si_pid == getppid());
        _exit(0);
    }
    usleep(20000);
    kill(pid, SIGUSR1);
    show_status("sigwaitinfo child", child_status(pid));

    hits = 0;
    block(SIGALRM, SIG_UNBLOCK);
    struct itimerval tick = {{0, 0}, {0, 30000}};
    setitimer(ITIMER_REAL, &tick, NULL);
    r = pause();
    say("pause: %d errno %d handler %d\n", r, errno, hits);

    block(SIGUSR2, SIG_BLOCK);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGUSR2);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK);
    struct signalfd_siginfo record;
    show("signalfd empty (EAGAIN)", read(fd, &record, sizeof record));
    struct pollfd p = {fd, POLLIN, 0};
    say("poll before: %d\n", poll(&p, 1, 0));
    raise(SIGUSR2);
    int ready = poll(&p, 1, 0);
    say("poll after raise: %d revents POLLIN %d\n", ready, (p.revents & POLLIN) != 0);
    ssize_t n = read(fd, &record, sizeof record);
    say("signalfd read %zd: signo %u code %d (SI_TKILL) pid ok %d\n", n, record.ssi_signo, record.ssi_code,
        record.ssi_pid == (uint32_t)getpid());
    sigpending(&mask);
    say("taken by the read: still pending %d\n", sigismember(&mask, SIGUSR2));
    close(fd);
}

/* --- eintr: blocking calls interrupted, or restarted ----------------------------------------- */

static int wake_fd = -1;
static void wake_writer(int sig)
{
    (void)sig;
    hits++;
    if (wake_fd >= 0)
        write(wake_fd, "w", 1);
}

static void group_eintr(void)
{
    struct itimerval once = {{0, 0}, {0, 50000}};
    int fds[2];
    char c;
    pipe(fds);
    plain(SIGALRM, count_hit, 0);
    hits = 0;
    setitimer(ITIMER_REAL, &once, NULL);
    ssize_t r = read(fds[0], &c, 1);
    say("read without SA_RESTART: %zd errno %d (EINTR) handler %d\n", r, errno, hits);

    wake_fd = fds[1];
    plain(SIGALRM, wake_writer, SA_RESTART);
    hits = 0;
    setitimer(ITIMER_REAL, &once, NULL);
    r = read(fds[0], &c, 1);
    say("read with SA_RESTART: %zd byte %c handler %d\n", r, r == 1 ? c : '?', hits);

    hits = 0;
    setitimer(ITIMER_REAL, &once, NULL);
    struct timespec req = {2, 0}, rem = {0, 0};
    long start = now_ms();
    int s = nanosleep(&req, &rem);
    long slept = now_ms() - start;
    long left = rem.tv_sec * 1000 + rem.tv_nsec / 1000000;
    say("nanosleep with SA_RESTART: %d errno %d (EINTR), remaining in (1800, 2000) ms %d, "
        "remaining + slept about 2 s %d\n",
        s, errno, left > 1800 && left < 2000, left + slept > 1900 && left + slept < 2100);

    hits = 0;
    setitimer(ITIMER_REAL, &once, NULL);
    struct pollfd p = {fds[0], POLLIN, 0};
    int n = poll(&p, 1, 5000);
    say("poll with SA_RESTART: %d errno %d (EINTR)\n", n, errno);

    /* a stop and continue does not end a sleep early */
    pid_t pid = fork();
    if (pid == 0) {
        long t0 = now_ms();
        struct timespec nap = {0, 300 * 1000 * 1000};
        int z = nanosleep(&nap, NULL);
        long took = now_ms() - t0;
        say("child nanosleep across SIGSTOP/SIGCONT: %d, slept at least 300 ms %d\n", z, took >= 300);
        _exit(0);
    }
    usleep(50000);
    kill(pid, SIGSTOP);
    int status;
    waitpid(pid, &status, WUNTRACED);
    show_status("sleeper", status);
    kill(pid, SIGCONT);
    show_status("sleeper", child_status(pid));
}

/* --- kill: the calls that send, and their errors ----------------------------------------------- */

static volatile int last_code, last_value;
static void record(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    last_code = si->si_code;
    last_value = si->si_value.sival_int;
}

static void group_kill(void)
{
    on(SIGUSR1, record, 0);
    say("kill(0 signal): %d\n", kill(getpid(), 0));
    show("kill with signal 65 (EINVAL)", kill(getpid(), 65));
    show("kill of no such process (ESRCH)", kill(999999, SIGUSR1));
    kill(getpid(), SIGUSR1);
    say("kill: si_code %d (SI_USER)\n", last_code);
    syscall(SYS_tkill, (long)syscall(SYS_gettid), SIGUSR1);
    say("tkill: si_code %d (SI_TKILL)\n", last_code);
    syscall(SYS_tgkill, getpid(), (long)syscall(SYS_gettid), SIGUSR1);
    say("tgkill: si_code %d (SI_TKILL)\n", last_code);
    show("tgkill with a wrong tgid (ESRCH)", syscall(SYS_tgkill, getpid() + 100000, (long)syscall(SYS_gettid), SIGUSR1));
    siginfo_t info;
    memset(&info, 0, sizeof info);
    info.si_code = SI_QUEUE;
    info.si_value.sival_int = 7;
    info.si_pid = getpid();
    syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &info);
    say("rt_sigqueueinfo: si_code %d value %d\n", last_code, last_value);
    info.si_code = SI_USER;
    pid_t pid = fork();
    if (pid == 0) {
        pause();
        _exit(0);
    }
    show("rt_sigqueueinfo posing as kill() to another process (EPERM)", syscall(SYS_rt_sigqueueinfo, pid, SIGUSR1, &info));
    kill(pid, SIGKILL);
    show_status("SIGKILLed child", child_status(pid));
    struct sigaction sa = {.sa_handler = SIG_IGN};
    show("sigaction on SIGKILL (EINVAL)", sigaction(SIGKILL, &sa, NULL));
    show("sigaction on signal 0", sigaction(0, &sa, NULL));
}

/* --- chld: SIGCHLD with si_*, wait statuses, default actions, the core bit -------------------- */

static volatile int chld_code, chld_status, chld_pid_ok, chld_count;
static volatile pid_t expect_pid;
static void on_chld(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    chld_count++;
    chld_code = si->si_code;
    chld_status = si->si_status;
    chld_pid_ok = si->si_pid == expect_pid;
}

static pid_t spawn_exit(int how)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (how == 0)
            _exit(3);
        if (how == 1)
            raise(SIGTERM);
        if (how == 2)
            *(volatile int *)0 = 1;
        if (how == 3)
            abort();
        _exit(99);
    }
    return pid;
}

static void group_chld(void)
{
    on(SIGCHLD, on_chld, 0);
    block(SIGCHLD, SIG_BLOCK);
    sigset_t none;
    sigemptyset(&none);
    const char *names[] = {"exit 3", "SIGTERM", "SIGSEGV", "abort"};
    struct rlimit zero = {0, RLIM_INFINITY}, lots = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_CORE, &zero);
    for (int how = 0; how < 4; how++) {
        chld_count = 0;
        expect_pid = spawn_exit(how);
        while (!chld_count)
            sigsuspend(&none);
        say("SIGCHLD for %s: si_code %d si_status %d si_pid right %d\n", names[how], chld_code, chld_status,
            chld_pid_ok);
        show_status(names[how], child_status(expect_pid));
    }
    if (setrlimit(RLIMIT_CORE, &lots) == 0) {
        chld_count = 0;
        expect_pid = spawn_exit(2);
        while (!chld_count)
            sigsuspend(&none);
        say("with RLIMIT_CORE: si_code %d (CLD_DUMPED)\n", chld_code);
        show_status("SIGSEGV, core allowed", child_status(expect_pid));
        unlink("core");
    }
    block(SIGCHLD, SIG_UNBLOCK);

    pid_t pid = spawn_exit(0);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    int r = waitid(P_PID, pid, &info, WEXITED | WNOWAIT);
    say("waitid WNOWAIT: %d signo %d code %d status %d pid right %d\n", r, info.si_signo, info.si_code,
        info.si_status, info.si_pid == pid);
    r = waitid(P_PID, pid, &info, WEXITED);
    say("waitid again: %d status %d\n", r, info.si_status);
    r = waitid(P_ALL, 0, &info, WEXITED | WNOHANG);
    say("waitid with no child: %d errno %d (ECHILD)\n", r, errno);

    plain(SIGCHLD, SIG_IGN, 0);
    pid = spawn_exit(0);
    int status;
    r = waitpid(pid, &status, 0);
    say("SIGCHLD ignored: the child was reaped already, waitpid %d errno %d (ECHILD)\n", r, errno);
    plain(SIGCHLD, SIG_DFL, 0);

    int fds[2];
    pipe(fds);
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        close(fds[1]);
        _exit(0);
    }
    child_status(pid);
    close(fds[0]);
    pid = fork();
    if (pid == 0) {
        write(fds[1], "x", 1);
        _exit(0);
    }
    show_status("writer to a pipe without reader", child_status(pid));
    plain(SIGPIPE, SIG_IGN, 0);
    show("with SIGPIPE ignored, write (EPIPE)", write(fds[1], "x", 1));
    plain(SIGPIPE, SIG_DFL, 0);
    close(fds[1]);
}

/* --- stop: stop and continue, as a parent sees them ------------------------------------------- */

static void group_stop(void)
{
    on(SIGCHLD, on_chld, 0);
    int fds[2];
    pipe(fds);
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0); /* a job of its own: its group is not orphaned, so SIGTSTP stops it */
        close(fds[1]);
        char c;
        int n = 0;
        while (read(fds[0], &c, 1) == 1)
            n++;
        _exit(n);
    }
    setpgid(pid, pid);
    close(fds[0]);
    expect_pid = pid;
    int status;
    kill(pid, SIGSTOP);
    waitpid(pid, &status, WUNTRACED);
    show_status("after SIGSTOP", status);
    say("SIGCHLD: code %d (CLD_STOPPED) status %d\n", chld_code, chld_status);
    say("waitpid WUNTRACED again, nothing new: %d\n", waitpid(pid, &status, WUNTRACED | WNOHANG));
    write(fds[1], "a", 1); /* read only once it runs again */
    block(SIGCHLD, SIG_BLOCK);
    kill(pid, SIGCONT);
    waitpid(pid, &status, WCONTINUED);
    show_status("after SIGCONT", status);
    sigset_t none;
    sigemptyset(&none);
    while (chld_code != CLD_CONTINUED) /* Linux sends it when the child runs again */
        sigsuspend(&none);
    block(SIGCHLD, SIG_UNBLOCK);
    say("SIGCHLD: code %d (CLD_CONTINUED)\n", chld_code);
    kill(pid, SIGTSTP);
    waitpid(pid, &status, WUNTRACED);
    show_status("after SIGTSTP", status);
    kill(pid, SIGCONT);
    write(fds[1], "b", 1);
    close(fds[1]);
    show_status("at the end", child_status(pid));

    on(SIGCHLD, on_chld, SA_NOCLDSTOP);
    chld_count = 0;
    pid = fork();
    if (pid == 0) {
        raise(SIGSTOP);
        _exit(0);
    }
    waitpid(pid, &status, WUNTRACED);
    say("SA_NOCLDSTOP: SIGCHLDs for a stop %d\n", chld_count);
    kill(pid, SIGCONT);
    child_status(pid);
    say("and one for the exit %d\n", chld_count);
}

/* --- faults: delivered to handlers, which fix them and resume -------------------------------- */

static volatile uintptr_t fault_addr, fault_rip;
static volatile int fault_code, fault_sig;

static void fix_by_mapping(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    fault_sig = sig;
    fault_code = si->si_code;
    fault_addr = (uintptr_t)si->si_addr;
    fault_rip = uc->uc_mcontext.gregs[REG_RIP];
    uintptr_t page = (uintptr_t)si->si_addr & ~(uintptr_t)4095;
    if (si->si_code == SEGV_ACCERR)
        mprotect((void *)page, 4096, PROT_READ | PROT_WRITE);
    else
        mmap((void *)page, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

static void skip_instruction(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    fault_sig = sig;
    fault_code = si->si_code;
    fault_addr = (uintptr_t)si->si_addr;
    fault_rip = uc->uc_mcontext.gregs[REG_RIP];
    uc->uc_mcontext.gregs[REG_RIP] += 2; /* every instruction faulted on here is 2 bytes */
}

extern char ud2_at[], div_at[], hlt_at[];

static void group_faults(void)
{
    on(SIGSEGV, fix_by_mapping, 0);
    volatile int *wild = (volatile int *)0xdead123;
    *wild = 5;
    say("write to 0xdead123: signal %d code %d (SEGV_MAPERR) si_addr %#lx, then it went through: %d\n", fault_sig,
        fault_code, (unsigned long)fault_addr, *wild);
    volatile char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro[100] = 'x';
    say("write to a read-only page: code %d (SEGV_ACCERR) at offset %ld, then %c\n", fault_code,
        (long)(fault_addr - (uintptr_t)ro), ro[100]);

    on(SIGILL, skip_instruction, 0);
    __asm__ volatile(".globl ud2_at\nud2_at: ud2");
    say("ud2: signal %d code %d (ILL_ILLOPN) si_addr is the instruction %d, pc too %d\n", fault_sig, fault_code,
        fault_addr == (uintptr_t)ud2_at, fault_rip == (uintptr_t)ud2_at);
    on(SIGFPE, skip_instruction, 0);
    __asm__ volatile("xor %%edx, %%edx\n\tmov $1, %%eax\n\txor %%ecx, %%ecx\n\t.globl div_at\ndiv_at: idiv %%ecx" ::
                         : "eax", "ecx", "edx");
    say("idiv by zero: signal %d code %d (FPE_INTDIV) si_addr is the instruction %d\n", fault_sig, fault_code,
        fault_addr == (uintptr_t)div_at);
    on(SIGSEGV, skip_instruction, 0);
    __asm__ volatile(".globl hlt_at\nhlt_at: hlt; nop");
    say("hlt: signal %d code %d (SI_KERNEL) si_addr %#lx, pc at it %d\n", fault_sig, fault_code,
        (unsigned long)fault_addr, fault_rip == (uintptr_t)hlt_at);
    on(SIGTRAP, skip_instruction, 0);
    fault_rip = 0;
    __asm__ volatile("int3; nop; nop");
    say("int3: signal %d code %d (SI_KERNEL)\n", fault_sig, fault_code);

    pid_t pid = fork();
    if (pid == 0) {
        block(SIGSEGV, SIG_BLOCK); /* a blocked fault signal kills anyway */
        *(volatile int *)16 = 1;
        _exit(0);
    }
    show_status("fault with SIGSEGV blocked", child_status(pid));
    pid = fork();
    if (pid == 0) {
        plain(SIGSEGV, SIG_IGN, 0); /* so does an ignored one */
        *(volatile int *)16 = 1;
        _exit(0);
    }
    show_status("fault with SIGSEGV ignored", child_status(pid));
    pid = fork();
    if (pid == 0) { /* a handler at an address with no code */
        plain(SIGSEGV, SIG_DFL, 0);
        struct sigaction sa = {0};
        sa.sa_handler = (void (*)(int))0x7000;
        sigaction(SIGUSR1, &sa, NULL);
        raise(SIGUSR1);
        _exit(0);
    }
    show_status("handler at an unmapped address", child_status(pid));
}

/* --- timers: alarm, interval timers ----------------------------------------------------------- */

static volatile int vt_hits, prof_hits;
static void on_vt(int sig)
{
    (void)sig;
    vt_hits++;
}
static void on_prof(int sig)
{
    (void)sig;
    prof_hits++;
}

static void group_timers(void)
{
    say("alarm(5): %u\n", alarm(5));
    say("alarm(0) after it, rounded: %u\n", alarm(0));
    plain(SIGALRM, count_hit, 0);
    struct itimerval every = {{0, 10000}, {0, 10000}}, get, zero = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &every, NULL);
    hits = 0;
    while (hits < 5)
        pause();
    getitimer(ITIMER_REAL, &get);
    setitimer(ITIMER_REAL, &zero, NULL);
    say("ITIMER_REAL every 10 ms: %d ticks, interval %ld us, value in (0, 10000] us %d\n", hits,
        (long)get.it_interval.tv_usec, get.it_value.tv_usec > 0 && get.it_value.tv_usec <= 10000);
    getitimer(ITIMER_REAL, &get);
    say("after disarming: %ld %ld\n", (long)get.it_value.tv_usec, (long)get.it_interval.tv_usec);
    struct itimerval bad = {{0, 1000000}, {0, 0}};
    show("setitimer with 1000000 us (EINVAL)", setitimer(ITIMER_REAL, &bad, NULL));

    plain(SIGVTALRM, on_vt, 0);
    plain(SIGPROF, on_prof, 0);
    struct itimerval cpu = {{0, 20000}, {0, 20000}};
    setitimer(ITIMER_VIRTUAL, &cpu, NULL);
    setitimer(ITIMER_PROF, &cpu, NULL);
    long start = now_ms();
    while (vt_hits < 3 || prof_hits < 3)
        spin_ms(1);
    setitimer(ITIMER_VIRTUAL, &zero, NULL);
    setitimer(ITIMER_PROF, &zero, NULL);
    say("ITIMER_VIRTUAL and ITIMER_PROF every 20 ms of CPU: 3 ticks each after at least 50 ms %d\n",
        now_ms() - start >= 50);
    struct itimerval sleepy = {{0, 0}, {0, 20000}};
    vt_hits = 0;
    setitimer(ITIMER_VIRTUAL, &sleepy, NULL);
    usleep(100000);
    say("ITIMER_VIRTUAL does not count sleep: %d\n", vt_hits);
    setitimer(ITIMER_VIRTUAL, &zero, NULL);

    int fd = timerfd_create(CLOCK_MONOTONIC, 0);
    struct itimerspec period = {{0, 10 * 1000 * 1000}, {0, 10 * 1000 * 1000}};
    timerfd_settime(fd, 0, &period, NULL);
    uint64_t ticks = 0;
    read(fd, &ticks, sizeof ticks);
    say("timerfd: first read %llu\n", (unsigned long long)ticks);
    usleep(35000);
    read(fd, &ticks, sizeof ticks);
    say("timerfd: after 35 ms, 3 or 4 expiries %d\n", ticks == 3 || ticks == 4);
    struct itimerspec cur;
    timerfd_gettime(fd, &cur);
    say("timerfd_gettime: interval %ld ns, value in (0, 10 ms] %d\n", cur.it_interval.tv_nsec,
        cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 10000000);
    int nb = timerfd_create(CLOCK_REALTIME, TFD_NONBLOCK);
    show("non-blocking timerfd, not armed (EAGAIN)", read(nb, &ticks, sizeof ticks));
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    struct itimerspec at = {{0, 0}, {wall.tv_sec, wall.tv_nsec}};
    at.it_value.tv_nsec += 20 * 1000 * 1000;
    if (at.it_value.tv_nsec >= 1000000000)
        at.it_value.tv_sec++, at.it_value.tv_nsec -= 1000000000;
    timerfd_settime(nb, TFD_TIMER_ABSTIME, &at, NULL);
    struct pollfd p = {nb, POLLIN, 0};
    int ready = poll(&p, 1, 1000);
    say("absolute timerfd: poll %d, read %zd\n", ready, read(nb, &ticks, sizeof ticks));
    close(fd);
    close(nb);
}

/* --- posixtimers: timer_create and friends ----------------------------------------------------- */

static volatile int timer_value, timer_code, timer_tid_ok, timer_hits;
static pid_t target_tid;
static void on_timer(int sig, siginfo_t *si, void *uc)
{
    (void)sig, (void)uc;
    timer_hits++;
    timer_value = si->si_value.sival_int;
    timer_code = si->si_code;
    timer_tid_ok = (pid_t)syscall(SYS_gettid) == target_tid;
}

static volatile int sleeper_go;
static void *sleeper(void *arg)
{
    (void)arg;
    target_tid = (pid_t)syscall(SYS_gettid);
    sleeper_go = 1;
    while (!timer_hits)
        usleep(1000);
    return NULL;
}

static void group_posixtimers(void)
{
    int sig = SIGRTMIN + 1;
    on(sig, on_timer, 0);
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 1234;
    timer_t timer;
    say("timer_create: %d\n", timer_create(CLOCK_MONOTONIC, &ev, &timer));
    struct itimerspec once = {{0, 0}, {0, 20 * 1000 * 1000}}, cur;
    timer_settime(timer, 0, &once, NULL);
    timer_gettime(timer, &cur);
    say("armed: value in (0, 20 ms] %d\n", cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000);
    while (!timer_hits)
        pause();
    say("fired: value %d code %d (SI_TIMER)\n", timer_value, timer_code);

    block(sig, SIG_BLOCK);
    struct itimerspec periodic = {{0, 5 * 1000 * 1000}, {0, 5 * 1000 * 1000}};
    timer_settime(timer, 0, &periodic, NULL);
    usleep(52000);
    timer_hits = 0;
    block(sig, SIG_UNBLOCK);
    int overrun = timer_getoverrun(timer);
    say("periodic while blocked: one signal %d, overruns about 9 (8..10) %d\n", timer_hits == 1,
        overrun >= 8 && overrun <= 10);
    struct itimerspec off = {{0, 0}, {0, 0}};
    timer_settime(timer, 0, &off, NULL);
    show("timer_delete", timer_delete(timer));
    show("timer_delete again (EINVAL)", timer_delete(timer));

    pthread_t thread;
    timer_hits = 0;
    pthread_create(&thread, NULL, sleeper, NULL);
    while (!sleeper_go)
        sched_yield();
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = sig;
    ev.sigev_value.sival_int = 99;
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif
    ev.sigev_notify_thread_id = target_tid;
    timer_hits = 0;
    timer_create(CLOCK_REALTIME, &ev, &timer);
    timer_settime(timer, 0, &once, NULL);
    pthread_join(thread, NULL);
    say("SIGEV_THREAD_ID: taken by that thread %d value %d\n", timer_tid_ok, timer_value);
    timer_delete(timer);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = 200;
    show("timer_create with signal 200 (EINVAL)", timer_create(CLOCK_MONOTONIC, &ev, &timer));
}

/* --- jobs: process groups, sessions, the terminal ---------------------------------------------- */

static void group_jobs(void)
{
    say("getpgrp() == getpgid(0) %d, getsid(0) == getsid(getpid()) %d\n", getpgrp() == getpgid(0),
        getsid(0) == getsid(getpid()));
    int fds[2];
    pipe(fds);
    pid_t leader = fork();
    if (leader == 0) {
        setpgid(0, 0);
        char c;
        read(fds[0], &c, 1);
        pause();
        _exit(0);
    }
    setpgid(leader, leader); /* both sides, as shells do */
    pid_t member = fork();
    if (member == 0) {
        pause();
        _exit(0);
    }
    say("setpgid(member, leader's group): %d\n", setpgid(member, leader));
    say("member's group is the leader's %d, ours differs %d\n", getpgid(member) == leader, getpgrp() != leader);
    show("setpgid to a group of no process (EPERM)", setpgid(member, 999999));
    write(fds[1], "x", 1);
    say("kill(-group, SIGTERM): %d\n", kill(-leader, SIGTERM));
    int status, reaped = 0;
    while (waitpid(-leader, &status, 0) > 0)
        reaped += WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM;
    say("wait4(-group) collected %d killed by SIGTERM, then %d\n", reaped, errno == ECHILD);
    show("kill of an empty group (ESRCH)", kill(-leader, SIGTERM));

    pid_t pid = fork();
    if (pid == 0) {
        pid_t sid = setsid();
        say("child setsid: new session led by itself %d, its own group %d\n", sid == getpid(), getpgrp() == getpid());
        show("setsid again (EPERM)", setsid());
        show("controlling terminal in the new session: tcgetpgrp (ENOTTY)", tcgetpgrp(1));
        _exit(0);
    }
    child_status(pid);
    pid = fork();
    if (pid == 0) {
        sleep(100);
        _exit(0);
    }
    siginfo_t info;
    kill(pid, SIGKILL);
    memset(&info, 0, sizeof info);
    int waited = waitid(P_PGID, getpgrp(), &info, WEXITED);
    say("waitid(P_PGID, our group): %d pid right %d code %d (CLD_KILLED)\n", waited, info.si_pid == pid, info.si_code);
    struct termios tio;
    show("tcgetattr on a pipe (ENOTTY)", tcgetattr(fds[0], &tio));
}

/* --- limits: rlimits, accounting, names, affinity ---------------------------------------------- */

static void group_limits(void)
{
    struct rlimit lim = {64, 64}, got;
    say("setrlimit(NOFILE, 64): %d\n", setrlimit(RLIMIT_NOFILE, &lim));
    int highest = -1, fd;
    while ((fd = dup(0)) >= 0)
        highest = fd;
    say("descriptors up to %d, then errno %d (EMFILE)\n", highest, errno);
    for (int i = 3; i <= highest; i++)
        close(i);
    show("dup2 to 64 (EBADF)", dup2(0, 64));
    lim.rlim_cur = 128;
    show("soft above hard (EINVAL)", setrlimit(RLIMIT_NOFILE, &lim));
    show("getrlimit(99) (EINVAL)", getrlimit(99, &got));
    struct kernel_rlimit {
        unsigned long cur, max;
    } newer = {32, 64}, older;
    say("prlimit64: %ld\n", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, &newer, &older));
    getrlimit(RLIMIT_NOFILE, &got);
    say("old %lu/%lu, now %lu/%lu\n", older.cur, older.max, (unsigned long)got.rlim_cur, (unsigned long)got.rlim_max);

    pid_t pid = fork();
    if (pid == 0) { /* a 1 MiB stack limit, applied at exec: recursion dies near 1 MiB */
        struct rlimit small = {1 << 20, RLIM_INFINITY};
        setrlimit(RLIMIT_STACK, &small);
        execl("/proc/self/exe", "sigtest", "deep", (char *)NULL);
        execl(getenv("SIGTEST_SELF") ? getenv("SIGTEST_SELF") : "/bin/sigtest", "sigtest", "deep", (char *)NULL);
        _exit(127);
    }
    show_status("recursion under a 1 MiB stack", child_status(pid));

    struct sysinfo si;
    int got_info = sysinfo(&si);
    say("sysinfo: %d, memory > 0 %d, mem_unit %u, procs > 0 %d\n", got_info, si.totalram > 0, si.mem_unit,
        si.procs > 0);
    struct rusage before, after;
    getrusage(RUSAGE_SELF, &before);
    struct tms t0, t1;
    clock_t c0 = times(&t0);
    spin_ms(30);
    getrusage(RUSAGE_SELF, &after);
    clock_t c1 = times(&t1);
    long used = (after.ru_utime.tv_sec - before.ru_utime.tv_sec) * 1000000 + after.ru_utime.tv_usec -
                before.ru_utime.tv_usec + (after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1000000 +
                after.ru_stime.tv_usec - before.ru_stime.tv_usec;
    say("getrusage: 30 ms of CPU counted (20..60) %d\n", used >= 20000 && used <= 60000);
    say("times: elapsed and CPU ticks moved %d\n", c1 > c0 && t1.tms_utime + t1.tms_stime > t0.tms_utime + t0.tms_stime);
    pid = fork();
    if (pid == 0) {
        spin_ms(30);
        _exit(0);
    }
    child_status(pid);
    struct rusage kids;
    getrusage(RUSAGE_CHILDREN, &kids);
    say("RUSAGE_CHILDREN: the child's CPU counted %d\n", kids.ru_utime.tv_usec + kids.ru_stime.tv_usec +
                                                           (kids.ru_utime.tv_sec + kids.ru_stime.tv_sec) * 1000000 >= 20000);

    char name[16] = {0};
    say("PR_SET_NAME: %d\n", prctl(PR_SET_NAME, "sig-tester", 0, 0, 0));
    prctl(PR_GET_NAME, name, 0, 0, 0);
    say("PR_GET_NAME: %s\n", name);
    prctl(PR_SET_NAME, "a-name-longer-than-fifteen", 0, 0, 0);
    prctl(PR_GET_NAME, name, 0, 0, 0);
    say("a long name is cut to 15: %s\n", name);
    say("prctl(PR_GET_DUMPABLE): %d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
    show("prctl(12345) (EINVAL)", prctl(12345, 0, 0, 0, 0));

    cpu_set_t set;
    CPU_ZERO(&set);
    int affinity = sched_getaffinity(0, sizeof set, &set);
    say("sched_getaffinity: %d, CPU 0 in it %d\n", affinity, (int)CPU_ISSET(0, &set));
    CPU_ZERO(&set);
    CPU_SET(0, &set);
    say("sched_setaffinity(CPU 0): %d\n", sched_setaffinity(0, sizeof set, &set));
    CPU_ZERO(&set);
    sched_getaffinity(0, sizeof set, &set);
    say("now just CPU 0: %d\n", CPU_COUNT(&set) == 1 && CPU_ISSET(0, &set));
    CPU_ZERO(&set);
    CPU_SET(1000, &set);
    show("only a CPU the machine lacks (EINVAL)", sched_setaffinity(0, sizeof set, &set));
}

/* --- tty (kernkit only, on a terminal): the console as the controlling terminal -------------- */

static void group_tty(void)
{
    struct winsize ws;
    struct termios tio;
    show("tcgetpgrp is our group", tcgetpgrp(0) == getpgrp());
    show("TIOCGWINSZ", ioctl(1, TIOCGWINSZ, &ws));
    say("rows %d cols %d\n", ws.ws_row, ws.ws_col);
    show("tcgetattr", tcgetattr(0, &tio));
    say("ICANON %d ECHO %d\n", (tio.c_lflag & ICANON) != 0, (tio.c_lflag & ECHO) != 0);
    tio.c_lflag &= ~ECHO;
    show("tcsetattr", tcsetattr(0, TCSANOW, &tio));
    tcgetattr(0, &tio);
    say("ECHO after tcsetattr %d\n", (tio.c_lflag & ECHO) != 0);
    show("tcsetpgrp to a group of no process (EPERM)", tcsetpgrp(0, 999999));
    pid_t pid = fork();
    if (pid == 0) {
        setpgid(0, 0);
        pause();
        _exit(0);
    }
    setpgid(pid, pid);
    show("tcsetpgrp to the child's group", tcsetpgrp(0, pid));
    say("foreground is now the child's group %d\n", tcgetpgrp(0) == pid);
    kill(pid, SIGKILL);
    child_status(pid);
    show("tcgetsid is our session", tcgetsid(0) == getsid(0));
}

static volatile uintptr_t deepest, deep_start;
static int dive(int n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    deepest = (uintptr_t)pad;
    return dive(n + 1) + pad[0];
}

static void deep_end(int sig)
{
    (void)sig;
    long used = (long)(deep_start - deepest);
    say("the stack ended after more than 768 KiB and at most 1 MiB %d\n", used > (768 << 10) && used <= (1 << 20));
    _exit(0);
}

static int deep(void)
{
    char here;
    deep_start = (uintptr_t)&here;
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    plain(SIGSEGV, deep_end, SA_ONSTACK);
    return dive(0);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: sigtest frame|flags|masks|order|wait|eintr|kill|chld|stop|faults|timers|"
                        "posixtimers|jobs|limits\n");
        return 2;
    }
    struct {
        const char *name;
        void (*run)(void);
    } groups[] = {
        {"frame", group_frame},   {"flags", group_flags},   {"masks", group_masks},
        {"order", group_order},   {"wait", group_wait},     {"eintr", group_eintr},
        {"kill", group_kill},     {"chld", group_chld},     {"stop", group_stop},
        {"faults", group_faults}, {"timers", group_timers}, {"posixtimers", group_posixtimers},
        {"jobs", group_jobs},     {"limits", group_limits}, {"tty", group_tty},
    };
    if (!strcmp(argv[1], "deep"))
        return deep();
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (!strcmp(argv[1], groups[i].name)) {
            groups[i].run();
            say("%s done\n", argv[1]);
            return 0;
        }
    fprintf(stderr, "sigtest: unknown group %s\n", argv[1]);
    return 2;
}
