/* Signals as Akaros gives them to a many-core process (user/posix/signal.c): kill sends an
 * EV_POSIX_SIGNAL event (SIGKILL destroys the process), handlers run in vcore context. */
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

int kill(pid_t pid, int sig);
sighandler_t signal(int sig, sighandler_t handler);
int raise(int sig);

#endif
