/* The layer's FD taps (taps.c), shared by poll and select (poll.c) and epoll (epoll.c): one tap
 * per descriptor, counted by its users, firing into one CEQ; a look at a set of descriptors; the
 * wait of a pthread until a look finds something. */
#ifndef POSIX_TAPS_H
#define POSIX_TAPS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "parlib/uthread.h"

#define TAPS_MAX_FDS 1024
#define TAPS_FILTER (FDTAP_FILT_READABLE | FDTAP_FILT_WRITABLE | FDTAP_FILT_ERROR | FDTAP_FILT_PRIORITY | \
                     FDTAP_FILT_HANGUP | FDTAP_FILT_RDHUP)

/* One descriptor a call or an epoll instance watches: the caller's descriptor, the one its I/O
 * goes to (a connected socket's data file), the tap filter bits it waits for, and what the last
 * tap request on it answered (0, or an errno: EAGAIN before the first). */
struct tap_entry {
	int fd, io;
	uint32_t want;
	int err;
	bool counted; /* it counts in the descriptor's users (its tap stays on) */
};

/* Someone the CEQ's news goes to (under the lock, in any context): news(w, io, bits) says that
 * io's current tap saw bits rise; it wakes whom it must. */
struct tap_watcher {
	struct tap_watcher *next, *prev;
	void (*news)(struct tap_watcher *w, int io, uint32_t bits);
};

extern struct spin_pdr_lock taps_lock;
extern uint32_t taps_seen[TAPS_MAX_FDS]; /* filter bits io's current tap sent */

void taps_init(void);
/* Take the CEQ's news (taking the lock for each, or with it held). */
void taps_drain(void);
void taps_drain_locked(void);
/* Under the lock. */
void taps_watch(struct tap_watcher *w);
void taps_unwatch(struct tap_watcher *w);
/* Under the lock: a fresh look at the n entries' descriptors (adding), or their taps off (the
 * last user's; never a tap the layer did not add). */
void taps_retap(struct tap_entry **e, int n, bool adding);

/* The wait of poll, select and epoll: look(arg) (>0: ready count, 0: nothing, -errno) until it
 * finds something, the deadline (a read_tsc() value, 0: none) passes, a handler runs (-EINTR,
 * even under SA_RESTART, as Linux) or a cancel comes (TAPS_CANCELLED); now: look once.  wake is
 * upped when a look may find something new.  With mask, the signal mask while it waits. */
#define TAPS_CANCELLED (-4096 - 1)
int taps_wait(int (*look)(void *arg), void *arg, uth_semaphore_t *wake, uint64_t deadline, bool now,
              const sigset_t *mask);

/* Timeouts: a read_tsc() deadline usec from now (0: none, past the clock's range); usec of a
 * timeout (rounded up): -1 for none (or one too long to end), -2 invalid. */
uint64_t taps_deadline_after(int64_t usec);
int64_t taps_usec_of(int64_t sec, int64_t frac, int64_t per_sec);
int64_t taps_usec_of_ts(const struct timespec *ts);
/* Tap filter bits as poll bits (epoll's are the same numbers), and the filter that answers
 * poll events (errors and hangups always). */
uint32_t taps_poll_bits(uint32_t filter_bits);
uint32_t taps_filter(uint32_t events);
/* After the call's memory is freed: a cancel exits here, else the result as POSIX gives it. */
int taps_finish(int r);

#endif
