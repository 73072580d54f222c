/* poll, ppoll, select and pselect, the Akaros way: FD taps into one event queue (taps.c), and
 * only the calling pthread waits.
 *
 * A look takes each descriptor's tap off and adds it again (tap_fds, 64 descriptors a call),
 * and the taps that fire at once say what is ready now.  If nothing is, the pthread sleeps on a
 * semaphore until a tap of one of its descriptors fires with a condition it asked for, its
 * timeout passes (a parlib alarm: virtual time) or a signal handler runs; each of those is a new
 * look, and the call reports only what that look gives (so what another pthread drained is not
 * ready), else sleeps again; a handler that ran ends it with EINTR if nothing is ready.  Its
 * vcore runs other pthreads meanwhile.  Files that never wait (regular files, the console:
 * ENOSYS) are always readable and writable, as on Linux; a descriptor that is not open is
 * POLLNVAL. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/time.h>

#include "parlib/event.h"
#include "parlib/uthread.h"
#include "posix.h"
#include "taps.h"

/* the answer for a file that never waits, and for one that is not open */
#define ALWAYS_READY (POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM)

/* One entry of a call: its descriptor's tap entry and what it asks for. */
struct entry {
	struct tap_entry t;
	short events;
};

struct poller {
	struct tap_watcher w; /* first: the watcher is the poller */
	uint64_t watch[TAPS_MAX_FDS / 64]; /* the (I/O) descriptors it waits on */
	struct entry *e;
	struct tap_entry **tap; /* &e[i].t */
	short *revents;
	int n;
	uth_semaphore_t wake;
};

static bool watches(const struct poller *p, int fd)
{
	return p->watch[fd / 64] >> (fd % 64) & 1;
}

/* Under the lock: io's tap saw bits; wake the poller if it waits for one of them. */
static void poller_news(struct tap_watcher *w, int io, uint32_t bits)
{
	struct poller *p = (struct poller *)w;
	if (!watches(p, io))
		return;
	for (int i = 0; i < p->n; i++)
		if (p->e[i].t.io == io && p->e[i].t.want & bits) {
			uth_semaphore_up(&p->wake);
			return;
		}
}

static short revents_of(const struct entry *e)
{
	if (e->t.io < 0)
		return 0;
	if (e->t.err == EBADF)
		return POLLNVAL;
	short mask = e->events | POLLERR | POLLHUP;
	if (e->t.err) /* a file that never waits (ENOSYS), or one a tap cannot watch */
		return ALWAYS_READY & mask;
	return (short)(taps_poll_bits(taps_seen[e->t.io]) & mask);
}

/* A look: every descriptor's tap again, then what those taps said; how many entries are ready
 * (revents filled), or -EBUSY when a descriptor holds a tap that is not the layer's. */
static int look(void *arg)
{
	struct poller *p = arg;
	taps_drain(); /* the old taps' news first: it is stale from here on */
	spin_pdr_lock(&taps_lock);
	taps_retap(p->tap, p->n, true);
	spin_pdr_unlock(&taps_lock);
	taps_drain(); /* what fired as the taps went on, whichever vcore got the alert */
	int ready = 0;
	bool busy = false;
	spin_pdr_lock(&taps_lock);
	for (int i = 0; i < p->n; i++) {
		busy |= p->e[i].t.err == EBUSY;
		p->revents[i] = revents_of(&p->e[i]);
		ready += p->revents[i] != 0;
	}
	spin_pdr_unlock(&taps_lock);
	return busy ? -EBUSY : ready;
}

/* The calls' common part: e[n] in (tap[n] their tap entries), revents[n] out; deadline a
 * read_tsc() value, 0 for none; now: do not wait at all.  With mask, it is the signal mask while
 * the call waits.  Returns how many entries are ready, -errno, or TAPS_CANCELLED (the caller
 * frees what it holds, then exits at taps_finish) with the mask back as it was. */
static int poll_entries(struct entry *e, struct tap_entry **tap, short *revents, int n, uint64_t deadline, bool now,
                        const sigset_t *mask)
{
	taps_init();
	struct poller me = { .w.news = poller_news, .e = e, .tap = tap, .revents = revents, .n = n };
	uth_semaphore_init(&me.wake, 0);
	for (int i = 0; i < n; i++) {
		struct tap_entry *t = &e[i].t;
		tap[i] = t;
		t->err = EAGAIN; /* not looked at yet */
		t->counted = false;
		t->want = taps_filter(e[i].events);
		t->io = t->fd < 0 ? -1 : posix_io_fd(t->fd);
		if (t->io >= TAPS_MAX_FDS)
			t->err = EBADF;
		else if (t->io >= 0)
			me.watch[t->io / 64] |= 1ull << (t->io % 64);
	}
	spin_pdr_lock(&taps_lock);
	taps_watch(&me.w);
	spin_pdr_unlock(&taps_lock);
	int result = taps_wait(look, &me, &me.wake, deadline, now, mask);
	spin_pdr_lock(&taps_lock);
	taps_unwatch(&me.w);
	taps_retap(tap, n, false);
	spin_pdr_unlock(&taps_lock);
	return result;
}

#define MAX_ENTRIES 1024

/* The entries' memory, taken after the cancellation point so that a cancel leaks nothing. */
static int alloc_entries(size_t n, struct entry **e, struct tap_entry ***tap, short **revents)
{
	posix_cancel_point();
	*e = n ? malloc(n * sizeof **e) : NULL;
	*tap = n ? malloc(n * sizeof **tap) : NULL;
	*revents = n ? malloc(n * sizeof **revents) : NULL;
	if (n && (!*e || !*tap || !*revents)) {
		free(*e);
		free(*tap);
		free(*revents);
		return -ENOMEM;
	}
	return 0;
}

static int finish(int r, struct entry *e, struct tap_entry **tap, short *revents)
{
	free(e);
	free(tap);
	free(revents);
	return taps_finish(r);
}

static int do_poll(struct pollfd *fds, nfds_t nfds, int64_t usec, const sigset_t *mask)
{
	if (nfds > MAX_ENTRIES) {
		errno = EINVAL;
		return -1;
	}
	struct entry *e;
	struct tap_entry **tap;
	short *revents;
	int r = alloc_entries(nfds, &e, &tap, &revents);
	if (r < 0)
		return (int)posix_ret(r);
	for (nfds_t i = 0; i < nfds; i++)
		e[i] = (struct entry){ .t.fd = fds[i].fd, .events = fds[i].events };
	r = poll_entries(e, tap, revents, (int)nfds, usec > 0 ? taps_deadline_after(usec) : 0, usec == 0, mask);
	if (r >= 0)
		for (nfds_t i = 0; i < nfds; i++)
			fds[i].revents = revents[i];
	return finish(r, e, tap, revents);
}

int poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	return do_poll(fds, nfds, timeout < 0 ? -1 : (int64_t)timeout * 1000, NULL);
}

int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout, const sigset_t *sigmask)
{
	int64_t usec = taps_usec_of_ts(timeout);
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
	struct tap_entry **tap;
	short *revents;
	int r = alloc_entries((size_t)nfds, &e, &tap, &revents);
	if (r < 0)
		return (int)posix_ret(r);
	int n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		short events = (rd && FD_ISSET(fd, rd) ? POLLIN : 0) | (wr && FD_ISSET(fd, wr) ? POLLOUT : 0) |
		               (ex && FD_ISSET(fd, ex) ? POLLPRI : 0);
		if (events)
			e[n++] = (struct entry){ .t.fd = fd, .events = events };
	}
	uint64_t deadline = usec > 0 ? taps_deadline_after(usec) : 0;
	r = poll_entries(e, tap, revents, n, deadline, usec == 0, mask);
	for (int i = 0; r >= 0 && i < n; i++)
		if (revents[i] & POLLNVAL)
			r = -EBADF;
	if (r >= 0) {
		fd_set out[3];
		memset(out, 0, sizeof out);
		r = 0;
		for (int i = 0; i < n; i++) {
			int fd = e[i].t.fd;
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
	return finish(r, e, tap, revents);
}

int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, struct timeval *timeout)
{
	int64_t usec = timeout ? taps_usec_of(timeout->tv_sec, timeout->tv_usec, 1000000) : -1;
	/* the timeout stays as it was, as musl's select leaves it (Linux's own writes the time left) */
	return do_select(nfds, readfds, writefds, exceptfds, usec, NULL);
}

int pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds, const struct timespec *timeout,
            const sigset_t *sigmask)
{
	return do_select(nfds, readfds, writefds, exceptfds, taps_usec_of_ts(timeout), sigmask);
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
