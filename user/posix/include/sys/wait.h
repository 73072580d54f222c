#ifndef POSIX_SYS_WAIT_H
#define POSIX_SYS_WAIT_H

#include <sys/types.h>

#define WNOHANG 1
#define WIFEXITED(s) (((s)&0x7f) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WIFSIGNALED(s) (((s) & 0x7f) != 0 && ((s) & 0x7f) != 0x7f)
#define WTERMSIG(s) ((s)&0x7f)

pid_t waitpid(pid_t pid, int *status, int options); /* blocks only the calling pthread */
pid_t wait(int *status);

#endif
