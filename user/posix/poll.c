/* poll, ppoll, select and pselect, the Akaros way: FD taps into one event queue, and only the
 * calling pthread waits.
 *
 * The kernel has no poll for an Akaros process; it has taps (SYS_tap_fds), which fire when a
 * file's readiness gains a condition, and at once when added on a file that is ready already.
 * So each call looks afresh: it takes each descriptor's tap off and adds it again (one
 * tap_fds for the whole set), and the taps that fire at once say what is ready now.  If nothing
 * is, the pthread sleeps on a semaphore until a tap of one of its descriptors fires, its timeout
 * passes (a parlib alarm: virtual time) or a signal handler runs (a poke ends the wait: EINTR,
 * SA_RESTART or not, as Linux's poll); its vcore runs other pthreads meanwhile.  A descriptor
 * holds one tap, so the taps are shared: every poller of a descriptor counts in its users, and
 * the last one takes the tap off.  Every tap fires into one CEQ (an entry per descriptor, the
 * filter bits OR'd), whose handler records the bits and wakes the pollers of that descriptor.
 * Files that never wait (regular files, the console: ENOSYS) are always readable and writable,
 * as on Linux; a descriptor that is not open is POLLNVAL. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>

#include "parlib/alarm.h"
#include "parlib/event.h"
#include "parlib/uthread.h"
#include "posix.h"

#define POLL_MAX_FDS 1024
#define FILTER_ALL (FDTAP_FILT_READABLE | FDTAP_FILT_WRITABLE | FDTAP_FILT_ERROR | FDTAP_FILT_PRIORITY | \
                    FDTAP_FILT_HANGUP)
/* the answer for a file that never waits, and for one that is not open */
#define ALWAYS_READY (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM)
#define BITS_WORDS (POLL_MAX_FDS / 64)

struct poller {
	struct poller *next, *prev;
	uint64_t watch[BITS_WORDS]; /* the (I/O) descriptors it waits on */
	uth_semaphore_t wake;
};

static struct spin_pdr_lock lock = SPIN_PDR_INITIALIZER;
static struct poller *pollers;
static uint16_t users[POLL_MAX_FDS];       /* pollers of each descriptor (it is tapped while > 0) */
static volatile uint32_t seen[POLL_MAX_FDS]; /* filter bits its tap sent since the last look */
static struct event_queue *tapq;
static volatile uint32_t tapq_ready;

static bool watches(const struct poller *p, int fd)
{
	return p->watch[fd / 64] >> (fd % 64) & 1;
}

/* Any context: take the CEQ's news; each descriptor's bits are recorded, its pollers woken. */
static void drain_taps(struct event_queue *ev_q)
{
	struct event_msg msg;
	while (extract_one_mbox_msg(ev_q->ev_mbox, &msg)) {
		int fd = msg.ev_type;
		if (fd >= POLL_MAX_FDS)
			continue;
		spin_pdr_lock(&lock);
		seen[fd] |= msg.ev_arg2;
		for (struct poller *p = pollers; p; p = p->next)
			if (watches(p, fd))
				uth_semaphore_up(&p->wake);
		spin_pdr_unlock(&lock);
	}
}

static void init_queue(void)
{
	if (atomic_read(&tapq_ready) == 2)
		return;
	spin_pdr_lock(&lock);
	if (!tapq) {
		struct event_mbox *mbox = calloc(1, sizeof *mbox);
		struct event_queue *ev_q = calloc(1, sizeof *ev_q);
		if (!mbox || !ev_q)
			parlib_panic("out of memory for poll's tap queue");
		ceq_init(&mbox->ceq, CEQ_OR, POLL_MAX_FDS, 256);
		mbox->type = EV_MBOX_CEQ;
		ev_q->ev_mbox = mbox;
		ev_q->ev_flags = EVENT_INDIR | EVENT_SPAM_INDIR | EVENT_IPI | EVENT_WAKEUP;
		ev_q->ev_handler = drain_taps;
		cmb();
		tapq = ev_q;
		atomic_set(&tapq_ready, 2);
	}
	spin_pdr_unlock(&lock);
}

/* One entry of a call: the caller's descriptor, the one its I/O goes to (a connected socket's
 * data file), what it asks for, and what the tap request answered (0, or an errno). */
struct entry {
	int fd, io;
	short events;
	int err;
	bool counted; /* this call counts in the descriptor's users */
};

/* Carry out n requests (a short count means request i failed: make it again alone for its
 * errno); err[i] gets each one's result. */
static void tap_all(struct fd_tap_req *reqs, int *err, int n)
{
	int i = 0;
	while (i < n) {
		long r = sys_tap_fds(reqs + i, (size_t)(n - i));
		if (r > 0) {
			for (long k = 0; k < r; k++)
				err[i + k] = 0;
			i += (int)r;
		} else {
			err[i++] = r < 0 ? (int)-r : EINVAL;
		}
	}
}

/* Under the lock: (re)tap the descriptors of e that have taps (adding= true: users counted up),
 * or take off those this call was the last user of (adding false). */
static void retap(struct entry *e, int n, bool adding)
{
	struct fd_tap_req reqs[2 * 64];
	int errs[2 * 64], owner[2 * 64];
	int k = 0;
	for (int i = 0; i <= n; i++) {
		if (k + 2 > (int)COUNT_OF(reqs) || (i == n && k)) {
			tap_all(reqs, errs, k);
			for (int j = 0; j < k; j++)
				if (reqs[j].cmd == FDTAP_CMD_ADD)
					e[owner[j]].err = errs[j];
			k = 0;
		}
		if (i == n)
			break;
		int io = e[i].io;
		if (io < 0 || (adding ? e[i].err == EBADF : !e[i].counted))
			continue;
		bool first = true; /* each descriptor once per call */
		for (int j = 0; j < i; j++)
			if (e[j].io == io) {
				first = false;
				break;
			}
		if (!first)
			continue;
		if (adding) {
			e[i].counted = true;
			if (users[io]++) /* someone has it tapped: take it off to look again */
				reqs[k++] = (struct fd_tap_req){ .fd = io, .cmd = FDTAP_CMD_REM };
			seen[io] = 0;
			owner[k] = i;
			reqs[k++] = (struct fd_tap_req){
				.fd = io, .cmd = FDTAP_CMD_ADD, .filter = FILTER_ALL, .ev_id = io, .ev_q = tapq,
			};
		} else if (!--users[io]) {
			reqs[k++] = (struct fd_tap_req){ .fd = io, .cmd = FDTAP_CMD_REM };
		}
	}
	if (!adding)
		return;
	for (int i = 0; i < n; i++) /* copies of a descriptor share the first one's answer */
		for (int j = 0; j < i; j++)
			if (e[i].io >= 0 && e[j].io == e[i].io) {
				e[i].err = e[j].err;
				break;
			}
}

static short revents_of(const struct entry *e)
{
	if (e->io < 0)
		return 0;
	if (e->err == EBADF)
		return POLLNVAL;
	short mask = e->events | POLLERR | POLLHUP;
	if (e->err) /* a file that never waits (ENOSYS), or one a tap cannot watch */
		return ALWAYS_READY & mask;
	uint32_t bits = atomic_read(&seen[e->io]);
	short ready = 0;
	if (bits & FDTAP_FILT_READABLE)
		ready |= POLLIN | POLLRDNORM;
	if (bits & FDTAP_FILT_WRITABLE)
		ready |= POLLOUT | POLLWRNORM;
	if (bits & FDTAP_FILT_ERROR)
		ready |= POLLERR;
	if (bits & FDTAP_FILT_PRIORITY)
		ready |= POLLPRI;
	if (bits & FDTAP_FILT_HANGUP)
		ready |= POLLHUP | POLLRDHUP;
	return ready & mask;
}

static int count_ready(struct entry *e, short *revents, int n)
{
	int ready = 0;
	for (int i = 0; i < n; i++) {
		revents[i] = revents_of(&e[i]);
		ready += revents[i] != 0;
	}
	return ready;
}

/* The calls' common part: e[n] in, revents[n] out; deadline a read_tsc() value, 0 for none;
 * now: do not wait at all.  With mask, it is the signal mask while the call waits.  Returns
 * how many entries are ready, or -errno. */
static int poll_entries(struct entry *e, short *revents, int n, uint64_t deadline, bool now, const sigset_t *mask)
{
	struct pthread *self = pthread_self();
	posix_cancel_point();
	struct posix_wait w;
	posix_wait_begin(&w);
	sigset_t saved;
	if (mask)
		pthread_sigmask(SIG_SETMASK, mask, &saved); /* what it unblocks runs here */
	init_queue();
	struct poller me = { 0 };
	uth_semaphore_init(&me.wake, 0);
	for (int i = 0; i < n; i++) {
		e[i].err = 0;
		e[i].counted = false;
		e[i].io = e[i].fd < 0 ? -1 : posix_io_fd(e[i].fd);
		if (e[i].io >= POLL_MAX_FDS)
			e[i].err = EBADF;
		else if (e[i].io >= 0)
			me.watch[e[i].io / 64] |= 1ull << (e[i].io % 64);
	}
	spin_pdr_lock(&lock);
	me.next = pollers;
	if (pollers)
		pollers->prev = &me;
	pollers = &me;
	retap(e, n, true);
	spin_pdr_unlock(&lock);
	drain_taps(tapq); /* what fired as the taps went on, whichever vcore got the alert */

	int ready = count_ready(e, revents, n);
	int result = ready;
	if (!ready && atomic_read(&self->handlers_run) != w.handlers)
		result = -EINTR; /* the mask let a pending signal's handler run */
	while (!result && !now) {
		int why = uth_semaphore_timed_down(&me.wake, deadline, true);
		if (why == UTH_WAIT_TIMEOUT)
			break;
		if (why == UTH_WAIT_INTERRUPTED) {
			if (posix_cancelling())
				break; /* exits below, once the taps are off */
			if (posix_wait_end(&w) != POSIX_WAIT_AGAIN)
				result = -EINTR; /* even under SA_RESTART, as Linux's poll and select */
			else
				posix_wait_begin(&w); /* the signal was taken elsewhere: wait on */
			continue;
		}
		result = count_ready(e, revents, n);
	}
	spin_pdr_lock(&lock);
	if (me.prev)
		me.prev->next = me.next;
	else
		pollers = me.next;
	if (me.next)
		me.next->prev = me.prev;
	retap(e, n, false);
	spin_pdr_unlock(&lock);
	posix_cancel_point();
	if (mask)
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	return result;
}

static uint64_t deadline_after(uint64_t usec)
{
	return alarm_deadline_in(usec ? usec : 1);
}

#define MAX_ENTRIES 1024

static int do_poll(struct pollfd *fds, nfds_t nfds, int64_t usec, const sigset_t *mask)
{
	if (nfds > MAX_ENTRIES) {
		errno = EINVAL;
		return -1;
	}
	struct entry *e = nfds ? malloc(nfds * sizeof *e) : NULL;
	short *revents = nfds ? malloc(nfds * sizeof *revents) : NULL;
	if (nfds && (!e || !revents)) {
		free(e);
		free(revents);
		errno = ENOMEM;
		return -1;
	}
	for (nfds_t i = 0; i < nfds; i++)
		e[i] = (struct entry){ .fd = fds[i].fd, .events = fds[i].events };
	int r = poll_entries(e, revents, (int)nfds, usec > 0 ? deadline_after((uint64_t)usec) : 0, usec == 0, mask);
	if (r >= 0)
		for (nfds_t i = 0; i < nfds; i++)
			fds[i].revents = revents[i];
	free(e);
	free(revents);
	return (int)posix_ret(r);
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	return do_poll(fds, nfds, timeout < 0 ? -1 : (int64_t)timeout * 1000, NULL);
}

static int64_t usec_of(const struct timespec *ts)
{
	if (!ts)
		return -1;
	if (ts->tv_sec < 0 || ts->tv_nsec < 0 || ts->tv_nsec >= 1000000000)
		return -2;
	return ts->tv_sec * 1000000 + (ts->tv_nsec + 999) / 1000;
}

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const sigset_t *sigmask)
{
	int64_t usec = usec_of(timeout);
	if (usec == -2) {
		errno = EINVAL;
		return -1;
	}
	return do_poll(fds, nfds, usec, sigmask);
}

/* select's sets as poll entries: readable, writable, exceptional (POLLPRI).  Linux counts a
 * descriptor once per set it is ready in. */
#define SEL_IN (POLLIN | POLLRDNORM | POLLRDBAND | POLLHUP | POLLERR)
#define SEL_OUT (POLLOUT | POLLWRNORM | POLLWRBAND | POLLERR)
#define SEL_EX POLLPRI

static int do_select(int nfds, fd_set *rd, fd_set *wr, fd_set *ex, int64_t usec, const sigset_t *mask)
{
	if (nfds < 0 || nfds > FD_SETSIZE || usec == -2) {
		errno = EINVAL;
		return -1;
	}
	struct entry *e = nfds ? malloc((size_t)nfds * sizeof *e) : NULL;
	short *revents = nfds ? malloc((size_t)nfds * sizeof *revents) : NULL;
	if (nfds && (!e || !revents)) {
		free(e);
		free(revents);
		errno = ENOMEM;
		return -1;
	}
	int n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short events = (rd && FD_ISSET(fd, rd) ? POLLIN : 0) | (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
		               (ex && FD_ISSET(fd, ex) ? POLLPRI : 0);
		if (events)
			e[n++] = (struct entry){ .fd = fd, .events = events };
	}
	uint64_t deadline = usec > 0 ? deadline_after((uint64_t)usec) : 0;
	int r = poll_entries(e, revents, n, deadline, usec == 0, mask);
	for (int i = 0; r >= 0 && i < n; i++)
		if (revents[i] & POLLNVAL)
			r = -EBADF;
	if (r >= 0) {
		fd_set out[3];
		memset(out, 0, sizeof out);
		r = 0;
		for (int i = 0; i < n; i++) {
			int fd = e[i].fd;
			short got = revents[i];
			if (rd && FD_ISSET(fd, rd) && got & SEL_IN && ++r)
				FD_SET(fd, &out[0]);
			if (wr && FD_ISSET(fd, wr) && got & SEL_OUT && ++r)
				FD_SET(fd, &out[1]);
			if (ex && FD_ISSET(fd, ex) && got & SEL_EX && ++r)
				FD_SET(fd, &out[2]);
		}
		size_t bytes = ((size_t)nfds + 63) / 64 * 8;
		if (rd)
			memcpy(rd, &out[0], bytes);
		if (wr)
			memcpy(wr, &out[1], bytes);
		if (ex)
			memcpy(ex, &out[2], bytes);
	}
	free(e);
	free(revents);
	return (int)posix_ret(r);
}

int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout)
{
	int64_t usec = -1;
	if (timeout)
		usec = timeout->tv_sec < 0 || timeout->tv_usec < 0 || timeout->tv_usec >= 1000000
		               ? -2 : timeout->tv_sec * 1000000 + timeout->tv_usec;
	/* the timeout stays as it was, as musl's select leaves it (Linux's own writes the time left) */
	return do_select(nfds, readfds, writefds, exceptfds, usec, NULL);
}

int pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, const struct timespec *timeout,
            const sigset_t *sigmask)
{
	return do_select(nfds, readfds, writefds, exceptfds, usec_of(timeout), sigmask);
}

int gettimeofday(struct timeval *tv, void *tz)
{
	(void)tz;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}
