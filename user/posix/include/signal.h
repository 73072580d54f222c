/* Signals as Akaros gives them to a many-core process (user/posix/signal.c): kill sends an
 * EV_POSIX_SIGNAL event (SIGKILL destroys the process); a handler runs on a pthread that does not
 * block the signal. */
#ifndef POSIX_SIGNAL_H
#define POSIX_SIGNAL_H

#include <sys/types.h>

#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGABRT 6
#define SIGTRAP 5
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGURG 23
#define SIGWINCH 28
#define SIGSYS 31

typedef void (*sighandler_t)(int);
#define SIG_DFL ((sighandler_t)0)
#define SIG_IGN ((sighandler_t)1)
#define SIG_ERR ((sighandler_t)-1)

int kill(pid_t pid, int sig); /* pid 0: the caller's group, -pgid: that group, -1: all */
int killpg(pid_t pgrp, int sig);
sighandler_t signal(int sig, sighandler_t handler);
int raise(int sig);

/* Signal sets and masks: a mask per pthread (inherited by the pthreads it creates).  A signal
 * from kill runs its handler on a pthread that does not block it (one waiting in sigwait takes it
 * first), and stays pending for the process when every pthread blocks it, until one unblocks it:
 * that pthread runs the handler before pthread_sigmask/sigprocmask returns.  raise and
 * pthread_kill run it in the pthread named, or leave it pending for that pthread if it blocks it. */
typedef struct {
	unsigned long __bits[128 / sizeof(long)];
} sigset_t;

typedef struct {
	int si_signo, si_errno, si_code;
	pid_t si_pid;
	uid_t si_uid;
	int __pad[27];
} siginfo_t;

struct sigaction {
	union {
		sighandler_t sa_handler;
		void (*sa_sigaction)(int, siginfo_t *, void *);
	};
	sigset_t sa_mask;
	int sa_flags;
	void (*sa_restorer)(void);
};

#define SA_SIGINFO 4
#define SA_RESTART 0x10000000
#define SA_NODEFER 0x40000000
#define SA_RESETHAND 0x80000000
#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#define SI_USER 0
#define SI_TKILL (-6)
#define NSIG 65

int sigemptyset(sigset_t *set);
int sigfillset(sigset_t *set);
int sigaddset(sigset_t *set, int sig);
int sigdelset(sigset_t *set, int sig);
int sigismember(const sigset_t *set, int sig);
int sigaction(int sig, const struct sigaction *act, struct sigaction *old);
int sigprocmask(int how, const sigset_t *set, sigset_t *old);
int pthread_sigmask(int how, const sigset_t *set, sigset_t *old);
int sigpending(sigset_t *set);

struct pthread;
struct timespec;
int pthread_kill(struct pthread *thread, int sig);
int sigwait(const sigset_t *set, int *sig);
int sigwaitinfo(const sigset_t *set, siginfo_t *info);
int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout);
int sigsuspend(const sigset_t *mask);

#endif
