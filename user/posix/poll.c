/* poll, ppoll, select and pselect, the Akaros way: FD taps into one event queue, and only the
 * calling pthread waits.
 *
 * The kernel has no poll for an Akaros process; it has taps (SYS_tap_fds), which fire when a
 * file's readiness gains a condition, and at once when added on a file that is ready already.
 * So a look takes each descriptor's tap off and adds it again (tap_fds, 64 descriptors a call),
 * and the taps that fire at once say what is ready now.  If nothing is, the pthread sleeps on a
 * semaphore until a tap of one of its descriptors fires with a condition it asked for, its
 * timeout passes (a parlib alarm: virtual time) or a signal handler runs; each of those is a new
 * look, and the call reports only what that look gives (so what another pthread drained is not
 * ready), else sleeps again; a handler that ran ends it with EINTR if nothing is ready.  Its
 * vcore runs other pthreads meanwhile.  A descriptor holds one tap, so the layer's taps are
 * shared: every poller of a descriptor counts in its users, and the last one takes the tap off;
 * a tap the layer did not add is never taken off (the call fails with EBUSY).  Every tap fires
 * into one CEQ, tagged with its generation so that news of a tap since replaced is dropped.
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

/* One entry of a call: the caller's descriptor, the one its I/O goes to (a connected socket's
 * data file), what it asks for (and the tap filter bits that would answer it), and what the
 * last look's tap request answered (0, or an errno). */
struct entry {
	int fd, io;
	short events;
	uint32_t want;
	int err;
	bool counted; /* this call counts in the descriptor's users */
};

struct poller {
	struct poller *next, *prev;
	uint64_t watch[BITS_WORDS]; /* the (I/O) descriptors it waits on */
	const struct entry *e;
	int n;
	uth_semaphore_t wake;
};

static struct spin_pdr_lock lock = SPIN_PDR_INITIALIZER;
static struct poller *pollers;
static uint16_t users[POLL_MAX_FDS];  /* pollers of each descriptor */
static bool owned[POLL_MAX_FDS];      /* the layer's own tap is on it (only those are taken off) */
static uint32_t tap_gen[POLL_MAX_FDS]; /* its tap's generation: the ADD's data, the event's ev_arg3 */
static uint32_t seen[POLL_MAX_FDS];   /* filter bits the current tap sent */
static struct event_queue *tapq;
static volatile uint32_t tapq_ready;

static bool watches(const struct poller *p, int fd)
{
	return p->watch[fd / 64] >> (fd % 64) & 1;
}

/* Does p wait for one of the filter bits on io? */
static bool wants(const struct poller *p, int io, uint32_t bits)
{
	if (!watches(p, io))
		return false;
	for (int i = 0; i < p->n; i++)
		if (p->e[i].io == io && p->e[i].want & bits)
			return true;
	return false;
}

/* Any context: take the CEQ's news.  A tap's event lands in entry io or io + POLL_MAX_FDS, by the
 * parity of its generation, and carries the generation: news of a tap since taken off (fired
 * before a later look, drained after it) is dropped, so seen[] holds only what the current tap
 * said.  The pollers waiting for one of the bits are woken; they look again. */
static void drain_taps(struct event_queue *ev_q)
{
	struct event_msg msg;
	while (extract_one_mbox_msg(ev_q->ev_mbox, &msg)) {
		int io = msg.ev_type % POLL_MAX_FDS;
		uint32_t gen = (uint32_t)(uintptr_t)msg.ev_arg3;
		if (msg.ev_type >= 2 * POLL_MAX_FDS || (gen & 1) != msg.ev_type / POLL_MAX_FDS)
			continue;
		spin_pdr_lock(&lock);
		if (gen == tap_gen[io] && owned[io]) {
			seen[io] |= msg.ev_arg2;
			for (struct poller *p = pollers; p; p = p->next)
				if (wants(p, io, msg.ev_arg2))
					uth_semaphore_up(&p->wake);
		}
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
		ceq_init(&mbox->ceq, CEQ_OR, 2 * POLL_MAX_FDS, 256);
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

static bool first_of(const struct entry *e, int i)
{
	for (int j = 0; j < i; j++)
		if (e[j].io == e[i].io)
			return false;
	return true;
}

#define BATCH 64 /* descriptors per tap_fds (two requests each) */

/* Under the lock: a fresh look at e's descriptors (adding: this call's taps go on: the first
 * look, or again after a wake-up), or this call's taps off (the last user's; never a tap the
 * layer did not add).  A look takes the layer's tap off and adds it again (a new generation) in
 * one tap_fds: the ADD fires at once on a file ready now. */
static void retap(struct entry *e, int n, bool adding)
{
	struct fd_tap_req reqs[2 * BATCH];
	int errs[2 * BATCH], owner[2 * BATCH];
	int k = 0;
	for (int i = 0; i <= n; i++) {
		if (k + 2 > (int)COUNT_OF(reqs) || (i == n && k)) {
			tap_all(reqs, errs, k);
			for (int j = 0; j < k; j++) {
				if (reqs[j].cmd != FDTAP_CMD_ADD)
					continue;
				struct entry *o = &e[owner[j]];
				o->err = errs[j];
				owned[o->io] = !errs[j];
				if (!errs[j] && !o->counted) {
					o->counted = true;
					users[o->io]++;
				}
			}
			k = 0;
		}
		if (i == n)
			break;
		int io = e[i].io;
		if (io < 0 || !first_of(e, i))
			continue;
		if (!adding) {
			if (e[i].counted && !--users[io] && owned[io]) {
				owned[io] = false;
				reqs[k++] = (struct fd_tap_req){ .fd = io, .cmd = FDTAP_CMD_REM };
			}
			continue;
		}
		if (e[i].err && e[i].err != EAGAIN)
			continue; /* its answer stands: not open, never waits, or tapped elsewhere */
		if (owned[io])
			reqs[k++] = (struct fd_tap_req){ .fd = io, .cmd = FDTAP_CMD_REM };
		uint32_t gen = ++tap_gen[io];
		seen[io] = 0;
		owner[k] = i;
		reqs[k++] = (struct fd_tap_req){
			.fd = io, .cmd = FDTAP_CMD_ADD, .filter = FILTER_ALL,
			.ev_id = io + (int)(gen & 1) * POLL_MAX_FDS, .ev_q = tapq, .data = (void *)(uintptr_t)gen,
		};
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
	uint32_t bits = seen[e->io];
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

static uint32_t filter_of(short events)
{
	uint32_t f = FDTAP_FILT_ERROR | FDTAP_FILT_HANGUP;
	if (events & (POLLIN | POLLRDNORM))
		f |= FDTAP_FILT_READABLE;
	if (events & (POLLOUT | POLLWRNORM))
		f |= FDTAP_FILT_WRITABLE;
	if (events & POLLPRI)
		f |= FDTAP_FILT_PRIORITY;
	return f;
}

/* A look: every descriptor's tap again, then what those taps said; how many entries are ready
 * (revents filled), or -EBUSY when a descriptor holds a tap that is not the layer's. */
static int look(struct entry *e, short *revents, int n)
{
	drain_taps(tapq); /* the old taps' news first: it is stale from here on */
	spin_pdr_lock(&lock);
	retap(e, n, true);
	spin_pdr_unlock(&lock);
	drain_taps(tapq); /* what fired as the taps went on, whichever vcore got the alert */
	int ready = 0;
	bool busy = false;
	spin_pdr_lock(&lock);
	for (int i = 0; i < n; i++) {
		busy |= e[i].err == EBUSY;
		revents[i] = revents_of(&e[i]);
		ready += revents[i] != 0;
	}
	spin_pdr_unlock(&lock);
	return busy ? -EBUSY : ready;
}

/* The calls' common part: e[n] in, revents[n] out; deadline a read_tsc() value, 0 for none;
 * now: do not wait at all.  With mask, it is the signal mask while the call waits.  Returns
 * how many entries are ready, -errno, or POLL_CANCELLED (the caller frees what it holds, then
 * exits at posix_cancel_point) with the mask back as it was. */
#define POLL_CANCELLED (-4096 - 1)

static int poll_entries(struct entry *e, short *revents, int n, uint64_t deadline, bool now, const sigset_t *mask)
{
	struct pthread *self = pthread_self();
	struct posix_wait w;
	posix_wait_begin(&w);
	sigset_t saved;
	if (mask)
		pthread_sigmask(SIG_SETMASK, mask, &saved); /* what it unblocks runs here */
	init_queue();
	struct poller me = { .e = e, .n = n };
	uth_semaphore_init(&me.wake, 0);
	for (int i = 0; i < n; i++) {
		e[i].err = EAGAIN; /* not looked at yet */
		e[i].counted = false;
		e[i].want = filter_of(e[i].events);
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
	spin_pdr_unlock(&lock);

	int result = look(e, revents, n);
	if (!result && atomic_read(&self->handlers_run) != w.handlers)
		result = -EINTR; /* the mask let a pending signal's handler run */
	while (!result && !now) {
		int why = uth_semaphore_timed_down(&me.wake, deadline, true);
		if (why == UTH_WAIT_INTERRUPTED && posix_cancelling()) {
			result = POLL_CANCELLED;
			break;
		}
		/* woken, timed out or interrupted: look again (Linux's last look before 0 or EINTR, and
		 * what another poller's read left) and report only what that look says */
		result = look(e, revents, n);
		if (why == UTH_WAIT_TIMEOUT)
			break;
		if (why == UTH_WAIT_INTERRUPTED) {
			if (posix_wait_end(&w) != POSIX_WAIT_AGAIN) {
				if (!result)
					result = -EINTR; /* even under SA_RESTART, as Linux's poll and select */
				break;
			}
			posix_wait_begin(&w); /* the signal was taken elsewhere: wait on */
		}
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
	if (mask)
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (result != POLL_CANCELLED && posix_cancelling())
		result = POLL_CANCELLED;
	return result;
}

/* Linux saturates a timeout's end at KTIME_MAX (about 292 years): anything longer is no end. */
#define MAX_USEC ((int64_t)9223372036854775 / 1000 * 1000)

/* A read_tsc() deadline usec from now; 0 (none) past the clock's range. */
static uint64_t deadline_after(int64_t usec)
{
	uint64_t per_usec = procinfo()->tsc_freq / 1000000, now = read_tsc();
	if (!usec)
		usec = 1;
	if (per_usec && (uint64_t)usec > (UINT64_MAX - now) / per_usec)
		return 0;
	return alarm_deadline_in((uint64_t)usec);
}

#define MAX_ENTRIES 1024

/* The entries' memory, taken after the cancellation point so that a cancel leaks nothing. */
static int alloc_entries(size_t n, struct entry **e, short **revents)
{
	posix_cancel_point();
	*e = n ? malloc(n * sizeof **e) : NULL;
	*revents = n ? malloc(n * sizeof **revents) : NULL;
	if (n && (!*e || !*revents)) {
		free(*e);
		free(*revents);
		return -ENOMEM;
	}
	return 0;
}

static int finish(int r, struct entry *e, short *revents)
{
	free(e);
	free(revents);
	if (r == POLL_CANCELLED) {
		posix_cancel_point(); /* exits */
		r = -EINTR;
	}
	return (int)posix_ret(r);
}

static int do_poll(struct pollfd *fds, nfds_t nfds, int64_t usec, const sigset_t *mask)
{
	if (nfds > MAX_ENTRIES) {
		errno = EINVAL;
		return -1;
	}
	struct entry *e;
	short *revents;
	int r = alloc_entries(nfds, &e, &revents);
	if (r < 0)
		return (int)posix_ret(r);
	for (nfds_t i = 0; i < nfds; i++)
		e[i] = (struct entry){ .fd = fds[i].fd, .events = fds[i].events };
	r = poll_entries(e, revents, (int)nfds, usec > 0 ? deadline_after(usec) : 0, usec == 0, mask);
	if (r >= 0)
		for (nfds_t i = 0; i < nfds; i++)
			fds[i].revents = revents[i];
	return finish(r, e, revents);
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	return do_poll(fds, nfds, timeout < 0 ? -1 : (int64_t)timeout * 1000, NULL);
}

/* A timeout in microseconds (rounded up): -1 for none (or one too long to end), -2 invalid. */
static int64_t usec_of(int64_t sec, int64_t frac, int64_t per_sec)
{
	if (sec < 0 || frac < 0 || frac >= per_sec)
		return -2;
	if (sec > MAX_USEC / 1000000 - 1)
		return -1;
	return sec * 1000000 + (frac * 1000000 + per_sec - 1) / per_sec;
}

static int64_t usec_of_ts(const struct timespec *ts)
{
	return ts ? usec_of(ts->tv_sec, ts->tv_nsec, 1000000000) : -1;
}

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const sigset_t *sigmask)
{
	int64_t usec = usec_of_ts(timeout);
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
	struct entry *e;
	short *revents;
	int r = alloc_entries((size_t)nfds, &e, &revents);
	if (r < 0)
		return (int)posix_ret(r);
	int n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short events = (rd && FD_ISSET(fd, rd) ? POLLIN : 0) | (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
		               (ex && FD_ISSET(fd, ex) ? POLLPRI : 0);
		if (events)
			e[n++] = (struct entry){ .fd = fd, .events = events };
	}
	uint64_t deadline = usec > 0 ? deadline_after(usec) : 0;
	r = poll_entries(e, revents, n, deadline, usec == 0, mask);
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
	return finish(r, e, revents);
}

int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout)
{
	int64_t usec = timeout ? usec_of(timeout->tv_sec, timeout->tv_usec, 1000000) : -1;
	/* the timeout stays as it was, as musl's select leaves it (Linux's own writes the time left) */
	return do_select(nfds, readfds, writefds, exceptfds, usec, NULL);
}

int pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, const struct timespec *timeout,
            const sigset_t *sigmask)
{
	return do_select(nfds, readfds, writefds, exceptfds, usec_of_ts(timeout), sigmask);
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
