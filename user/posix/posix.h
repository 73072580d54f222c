/* The POSIX layer's own helpers: a kernel result (>= 0 or -errno) made a POSIX one. */
#ifndef POSIX_IMPL_H
#define POSIX_IMPL_H

#include <errno.h>

static inline long posix_ret(long r)
{
	if (r < 0 && r > -4096) {
		errno = (int)-r;
		return -1;
	}
	return r;
}

/* socket.c: the descriptor I/O goes to (a connected socket's data file), or fd itself. */
int posix_io_fd(int fd);
/* socket.c: forget fd's socket state; the data file to close with it, or -1. */
int posix_socket_closed(int fd);

#endif
