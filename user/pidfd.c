/* pidfd: checks of the calls that name a process or thread by something other than its pid.
 *   pidfd    pidfd_open, pidfd_send_signal (through a pidfd and through a /proc/PID
 *            directory), poll on a pidfd, waitid(P_PIDFD)
 *   clocks   CPU clocks by id (clock_getcpuclockid, pthread_getcpuclockid), clock_settime's errors
 * Each check prints "ok NAME" or "FAIL NAME: ..."; the exit status is the number of failures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "checks.h"

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int pidfd_open(pid_t pid, unsigned flags)
{
    return syscall(SYS_pidfd_open, pid, flags);
}

static int pidfd_send_signal(int fd, int sig, siginfo_t *info, unsigned flags)
{
    return syscall(SYS_pidfd_send_signal, fd, sig, info, flags);
}

static volatile sig_atomic_t got;

static void on_usr1(int sig)
{
    got = sig;
}

static pid_t sleeper(void)
{
    pid_t child = fork();
    if (child == 0) {
        pause();
        _exit(3);
    }
    return child;
}

static void pidfds(void)
{
    pid_t child = sleeper();
    int fd = works("pidfd_open of a child", pidfd_open(child, 0));
    equal("it is close-on-exec", fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    char byte;
    fails("read: EINVAL", read(fd, &byte, 1), EINVAL);
    struct pollfd p = {fd, POLLIN, 0};
    equal("poll while it runs: not readable", poll(&p, 1, 0), 0);
    works("signal 0 through it", pidfd_send_signal(fd, 0, NULL, 0));
    fails("unknown flags: EINVAL", pidfd_send_signal(fd, SIGTERM, NULL, 0x100), EINVAL);
    fails("signal 65: EINVAL", pidfd_send_signal(fd, 65, NULL, 0), EINVAL);
    works("SIGTERM through it", pidfd_send_signal(fd, SIGTERM, NULL, 0));
    p.revents = 0;
    equal("poll waits for the exit", poll(&p, 1, 5000), 1);
    equal("then readable", p.revents & POLLIN, POLLIN);
    siginfo_t info;
    memset(&info, 0, sizeof info);
    works("waitid(P_PIDFD)", waitid(P_PIDFD, fd, &info, WEXITED));
    equal("the child's pid", info.si_pid, child);
    equal("killed by SIGTERM", info.si_status, SIGTERM);
    fails("signal after it was reaped: ESRCH", pidfd_send_signal(fd, SIGTERM, NULL, 0), ESRCH);
    close(fd);

    child = sleeper();
    fd = pidfd_open(child, PIDFD_NONBLOCK);
    fails("waitid of a running child, non-blocking pidfd: EAGAIN", waitid(P_PIDFD, fd, &info, WEXITED), EAGAIN);
    memset(&info, 0, sizeof info);
    equal("with WNOHANG: 0", waitid(P_PIDFD, fd, &info, WEXITED | WNOHANG), 0);
    equal("and no child in siginfo", info.si_pid, 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(fd);

    fails("pidfd_open of no process: ESRCH", pidfd_open(99999, 0), ESRCH);
    fails("pidfd_open with flags: EINVAL", pidfd_open(getpid(), 1), EINVAL);
    fails("pidfd_open of 0: EINVAL", pidfd_open(0, 0), EINVAL);
    fails("send through a closed descriptor: EBADF", pidfd_send_signal(99, SIGTERM, NULL, 0), EBADF);
    int pipes[2];
    pipe(pipes);
    fails("send through a pipe: EBADF", pidfd_send_signal(pipes[0], SIGTERM, NULL, 0), EBADF);
    fails("waitid through a pipe: EBADF", waitid(P_PIDFD, pipes[0], &info, WEXITED), EBADF);
    close(pipes[0]);
    close(pipes[1]);
    fd = pidfd_open(getpid(), 0);
    fails("waitid of oneself: ECHILD", waitid(P_PIDFD, fd, &info, WEXITED | WNOHANG), ECHILD);

    signal(SIGUSR1, on_usr1);
    works("SIGUSR1 to oneself", pidfd_send_signal(fd, SIGUSR1, NULL, 0));
    equal("the handler ran", got, SIGUSR1);
    close(fd);

    got = 0;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d", getpid());
    int dir = open(path, O_RDONLY | O_DIRECTORY);
    works("SIGUSR1 through /proc/PID", pidfd_send_signal(dir, SIGUSR1, NULL, 0));
    equal("the handler ran again", got, SIGUSR1);
    close(dir);
}

static void clocks(void)
{
    clockid_t mine, theirs, thread;
    struct timespec ts;
    equal("clock_getcpuclockid of oneself", clock_getcpuclockid(getpid(), &mine), 0);
    works("reading it", clock_gettime(mine, &ts));
    equal("pthread_getcpuclockid", pthread_getcpuclockid(pthread_self(), &thread), 0);
    check("a clock id of its own", thread != CLOCK_THREAD_CPUTIME_ID, "the generic id");
    works("reading the thread's", clock_gettime(thread, &ts));
    works("its resolution", clock_getres(thread, &ts));
    pid_t child = sleeper();
    equal("clock_getcpuclockid of a child", clock_getcpuclockid(child, &theirs), 0);
    works("reading the child's", clock_gettime(theirs, &ts));
    fails("the child's main thread as a thread clock: EINVAL", clock_gettime(theirs | 4, &ts), EINVAL);
    fails("a CPU clock of the fourth kind: EINVAL", clock_gettime(mine | 3, &ts), EINVAL);
    fails("setting a CPU clock: EPERM", clock_settime(mine, &ts), EPERM);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    fails("of a process that is gone: EINVAL", clock_gettime(theirs, &ts), EINVAL);

    struct timespec now, bad = {0, 1000000000};
    clock_gettime(CLOCK_MONOTONIC, &now);
    fails("clock_settime of CLOCK_MONOTONIC: EINVAL", clock_settime(CLOCK_MONOTONIC, &now), EINVAL);
    fails("of CLOCK_BOOTTIME: EINVAL", clock_settime(CLOCK_BOOTTIME, &now), EINVAL);
    fails("of no clock: EINVAL", clock_settime(99, &now), EINVAL);
    fails("a bad timespec: EINVAL", clock_settime(CLOCK_REALTIME, &bad), EINVAL);
    fails("of a CPU clock: EINVAL", clock_settime(CLOCK_PROCESS_CPUTIME_ID, &now), EINVAL);
    child = fork();
    if (child == 0) {
        struct timespec real;
        clock_gettime(CLOCK_REALTIME, &real);
        if (setuid(65534) != 0)
            _exit(2);
        _exit(clock_settime(CLOCK_REALTIME, &real) < 0 && errno == EPERM ? 0 : 1);
    }
    int status;
    waitpid(child, &status, 0);
    equal("CLOCK_REALTIME by an unprivileged process: EPERM", WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "pidfd"))
            pidfds();
        else if (!strcmp(argv[i], "clocks"))
            clocks();
        else {
            fprintf(stderr, "pidfd: unknown group %s\n", argv[i]);
            return 2;
        }
    }
    return failures;
}
