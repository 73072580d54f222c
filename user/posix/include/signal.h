/* Signal numbers; Akaros sends no Unix signals from the kernel (a signal from a Linux process
 * arrives as an EV_POSIX_SIGNAL event), so kill() is ENOSYS here. */
#ifndef POSIX_SIGNAL_H
#define POSIX_SIGNAL_H

#include <sys/types.h>

#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGABRT 6
#define SIGKILL 9
#define SIGSEGV 11
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17

typedef void (*sighandler_t)(int);
#define SIG_DFL ((sighandler_t)0)
#define SIG_IGN ((sighandler_t)1)
#define SIG_ERR ((sighandler_t)-1)

int kill(pid_t pid, int sig);
sighandler_t signal(int sig, sighandler_t handler);

#endif
