/* select and pselect (user/posix/poll.c), over poll. */
#ifndef POSIX_SYS_SELECT_H
#define POSIX_SYS_SELECT_H

#include <signal.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>

#define FD_SETSIZE 1024

typedef struct {
	unsigned long fds_bits[FD_SETSIZE / (8 * sizeof(unsigned long))];
} fd_set;

#define __FD_WORD(fd) ((unsigned)(fd) / (8 * sizeof(unsigned long)))
#define __FD_BIT(fd) (1UL << ((unsigned)(fd) % (8 * sizeof(unsigned long))))
#define FD_ZERO(s) __builtin_memset((s), 0, sizeof(fd_set))
#define FD_SET(fd, s) ((void)((s)->fds_bits[__FD_WORD(fd)] |= __FD_BIT(fd)))
#define FD_CLR(fd, s) ((void)((s)->fds_bits[__FD_WORD(fd)] &= ~__FD_BIT(fd)))
#define FD_ISSET(fd, s) (!!((s)->fds_bits[__FD_WORD(fd)] & __FD_BIT(fd)))

struct timeval;
int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout);
int pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, const struct timespec *timeout,
            const sigset_t *sigmask);

#endif
