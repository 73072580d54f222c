/* The POSIX layer's own helpers: a kernel result (>= 0 or -errno) made a POSIX one. */
#ifndef POSIX_IMPL_H
#define POSIX_IMPL_H

#include <errno.h>
#include <stdint.h>

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

/* pthread.c: a cancellation point.  A pending cancellation (if enabled) exits the pthread here;
 * otherwise true if the wait that follows may be interrupted by pthread_cancel. */
#include <stdbool.h>
bool posix_cancel_point(void);
/* pthread.c: a blocking system call that is a cancellation point (read, write, accept): a
 * pthread_cancel while it waits aborts it in the kernel and exits the pthread. */
long posix_cancelable_sysc(long nr, long a0, long a1, long a2, long a3);
/* An absolute CLOCK_REALTIME time (virtual time since boot, as clock_gettime gives it) as a
 * read_tsc() deadline; *err = EINVAL for a bad one. */
struct timespec;
uint64_t posix_deadline(const struct timespec *abstime, int *err);

/* fork from a pthread program (posix.c, vfork.S): the parent's registers at fork, resumed when
 * the child execs or exits (struct sw_context's layout). */
struct posix_vfork {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
	bool in_child;
};
struct posix_vfork *posix_vfork_of_self(void);
__attribute__((noreturn)) void posix_vfork_resume(struct posix_vfork *v, long pid);
/* signal.c: take EV_POSIX_SIGNAL events (before main). */
void posix_signals_init(void);
/* signal.c: mask's signals gain (delta 1) or lose (-1) a pthread blocking them. */
void posix_sigmask_count(uint64_t mask, int delta);
/* pthread.c: the calling pthread's signal mask; how many pthreads are alive. */
uint64_t *posix_sigmask_of_self(void);
uint32_t posix_live_pthreads(void);

#endif
