/* The POSIX layer's own helpers: a kernel result (>= 0 or -errno) made a POSIX one. */
#ifndef POSIX_IMPL_H
#define POSIX_IMPL_H

#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>

#include "parlib/uthread.h"

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
/* socket.c: fd is a socket (a /net conversation's ctl or data file). */
bool posix_is_socket(int fd);
/* socket.c: forget fd's socket state; the data file to close with it, or -1. */
int posix_socket_closed(int fd);

/* epoll.c: set by the first epoll_create; close calls it with the descriptor it closes. */
extern void (*posix_close_hook)(int fd);

/* pthread.c: a cancellation point.  A pending cancellation (if enabled) exits the pthread here;
 * otherwise true if the wait that follows may be interrupted by pthread_cancel. */
bool posix_cancel_point(void);
/* pthread.c: a cancellation is pending and enabled (the next cancellation point exits). */
bool posix_cancelling(void);
/* signal.c: a wait that a signal handler cuts short, as Linux's are (EINTR).  posix_wait_begin
 * runs the handlers already due and notes how many ran; the wait itself is interruptible (a
 * signal for this pthread pokes it: uthread_poke); when it ends early, posix_wait_end runs what
 * is due and says what to do: POSIX_WAIT_AGAIN (no handler ran: wait on), POSIX_WAIT_RESTART
 * (handlers ran, all SA_RESTART) or POSIX_WAIT_EINTR (one ran without SA_RESTART). */
struct posix_wait {
	uint32_t handlers, norestart;
};
#define POSIX_WAIT_AGAIN 0
#define POSIX_WAIT_RESTART 1
#define POSIX_WAIT_EINTR 2
void posix_wait_begin(struct posix_wait *w);
int posix_wait_end(const struct posix_wait *w);
/* pthread.c: a blocking system call that is a cancellation point (read, write, accept): a
 * pthread_cancel while it waits aborts it in the kernel and exits the pthread; a signal handler
 * aborts it too, and it is made again (SA_RESTART) or returns -EINTR, as Linux's are. */
long posix_cancelable_sysc(long nr, long a0, long a1, long a2, long a3);
/* An absolute CLOCK_REALTIME time (virtual time since boot, as clock_gettime gives it) as a
 * read_tsc() deadline; *err = EINVAL for a bad one. */
struct timespec;
uint64_t posix_deadline(const struct timespec *abstime, int *err);

/* fork from a pthread program (posix.c, vfork.S): the parent's registers at fork, resumed when
 * the child execs or exits (struct sw_context's layout). */
#define POSIX_VFORK_TEMPS 16
struct posix_vfork {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
	bool in_child;
	/* process.c: the child's dup2 and close, for the program it execs; the descriptors its open
	 * and dup made in the parent's table, closed there when the parent resumes */
	posix_spawn_file_actions_t fd_actions;
	int temps[POSIX_VFORK_TEMPS];
	int nr_temps;
	/* jobs.c: the child's setpgid(0, pgroup) and setsid, for the program it execs
	 * (POSIX_SPAWN_SETPGROUP and _SETSID flags, as posix_spawn's attributes hold them) */
	short job_flags;
	pid_t job_pgroup;
};
/* process.c: a fork child's open or dup made descriptor fd in the parent's table. */
int posix_vfork_temp(struct posix_vfork *v, int fd);
/* process.c: close and dup2 in a fork child. */
int posix_vfork_close(struct posix_vfork *v, int fd);
int posix_vfork_dup2(struct posix_vfork *v, int fd, int newfd);
struct posix_vfork *posix_vfork_of_self(void);
__attribute__((noreturn)) void posix_vfork_resume(struct posix_vfork *v, long pid);
/* A pthread: the uthread that runs it and what POSIX keeps per thread. */
#define DETACHED 1u
#define EXITED 2u

struct posix_sigframe;

struct pthread {
	struct uthread *uth;
	void *(*start)(void *);
	void *arg;
	volatile uint32_t state; /* DETACHED, EXITED */
	int err;
	void *specific[PTHREAD_KEYS_MAX];
	int cancel_state, cancel_type;
	volatile uint32_t cancel_pending;
	struct __pthread_cleanup *cleanup; /* innermost first */
	struct posix_vfork vfork;
	struct pthread *next_live; /* the list of live pthreads (signal.c) */
	/* signal.c; bit sig - 1 of each mask */
	uint64_t sigmask;                /* blocked */
	volatile uint64_t sig_pending;   /* sent to this pthread (pthread_kill, or kill chose it) */
	volatile uint64_t sig_from_kill; /* of those, sent by kill (si_code SI_USER) */
	volatile uint64_t sigwait_set;   /* sigwait'ing for these */
	volatile uint32_t suspended;     /* in sigsuspend */
	volatile uint32_t handlers_run;  /* handlers run in this pthread so far */
	volatile uint32_t norestart_run; /* of those, ones without SA_RESTART */
	uth_semaphore_t sig_sem;         /* wakes sigwait and sigsuspend */
	struct posix_sigframe *sigframe; /* the context a handler run interrupted (innermost) */
	uth_semaphore_t exited;          /* upped as it exits: pthread_join waits on it */
};

/* signal.c: a new pthread joins the live ones (signals may choose it), an exiting one leaves. */
void posix_thread_live(struct pthread *p);
void posix_thread_gone(struct pthread *p);
/* The pthreads 2LS's sched_entry (signal.c): the FIFO 2LS's choice, run after any signal
 * handlers that are due on it. */
void posix_sched_entry(void);
/* pthread.c: the time slice in microseconds (0: none). */
extern volatile unsigned long posix_sched_period;
/* signal.c: take EV_POSIX_SIGNAL events (before main). */
void posix_signals_early(void); /* before uthread_mcp_init */
void posix_signals_init(void);
uint64_t posix_ignored_signals(void); /* bit 1 << sig for each SIG_IGN */

#endif
