/* The layer's FD taps, the Akaros way (see poll.c for how poll, select and epoll use them).
 *
 * The kernel has no poll for an Akaros process; it has taps (SYS_tap_fds), which fire when a
 * file's readiness gains a condition, and at once when added on a file that is ready already.
 * A descriptor holds one tap, so the layer's taps are shared: every call or epoll instance that
 * watches a descriptor counts in its users, and the last one takes the tap off; a tap the layer
 * did not add is never taken off (EBUSY).  Every tap fires into one CEQ, tagged with its
 * generation so that news of a tap since replaced is dropped. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "parlib/alarm.h"
#include "parlib/event.h"
#include "posix.h"
#include "taps.h"

struct spin_pdr_lock taps_lock = SPIN_PDR_INITIALIZER;
uint32_t taps_seen[TAPS_MAX_FDS];
static struct tap_watcher *watchers;
static uint16_t users[TAPS_MAX_FDS];  /* calls and epoll entries watching each descriptor */
static bool owned[TAPS_MAX_FDS];      /* the layer's own tap is on it (only those are taken off) */
static uint32_t tap_gen[TAPS_MAX_FDS]; /* its tap's generation: the ADD's data, the event's ev_arg3 */
static struct event_queue *tapq;
static volatile uint32_t tapq_ready;

void taps_watch(struct tap_watcher *w)
{
	w->prev = NULL;
	w->next = watchers;
	if (watchers)
		watchers->prev = w;
	watchers = w;
}

void taps_unwatch(struct tap_watcher *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		watchers = w->next;
	if (w->next)
		w->next->prev = w->prev;
}

/* A tap's event lands in entry io or io + TAPS_MAX_FDS, by the parity of its generation, and
 * carries the generation: news of a tap since taken off (fired before a later look, drained
 * after it) is dropped, so taps_seen[] holds only what the current tap said. */
static void take(const struct event_msg *msg)
{
	int io = msg->ev_type % TAPS_MAX_FDS;
	uint32_t gen = (uint32_t)(uintptr_t)msg->ev_arg3;
	if (msg->ev_type >= 2 * TAPS_MAX_FDS || (gen & 1) != msg->ev_type / TAPS_MAX_FDS)
		return;
	if (gen != tap_gen[io] || !owned[io])
		return;
	taps_seen[io] |= msg->ev_arg2;
	for (struct tap_watcher *w = watchers; w; w = w->next)
		w->news(w, io, msg->ev_arg2);
}

/* Any context: the CEQ's handler. */
static void drain_queue(struct event_queue *ev_q)
{
	struct event_msg msg;
	while (extract_one_mbox_msg(ev_q->ev_mbox, &msg)) {
		spin_pdr_lock(&taps_lock);
		take(&msg);
		spin_pdr_unlock(&taps_lock);
	}
}

void taps_drain(void)
{
	drain_queue(tapq);
}

void taps_drain_locked(void)
{
	struct event_msg msg;
	while (extract_one_mbox_msg(tapq->ev_mbox, &msg))
		take(&msg);
}

void taps_init(void)
{
	if (atomic_read(&tapq_ready) == 2)
		return;
	spin_pdr_lock(&taps_lock);
	if (!tapq) {
		struct event_mbox *mbox = calloc(1, sizeof *mbox);
		struct event_queue *ev_q = calloc(1, sizeof *ev_q);
		if (!mbox || !ev_q)
			parlib_panic("out of memory for the layer's tap queue");
		ceq_init(&mbox->ceq, CEQ_OR, 2 * TAPS_MAX_FDS, 256);
		mbox->type = EV_MBOX_CEQ;
		ev_q->ev_mbox = mbox;
		ev_q->ev_flags = EVENT_INDIR | EVENT_SPAM_INDIR | EVENT_IPI | EVENT_WAKEUP;
		ev_q->ev_handler = drain_queue;
		cmb();
		tapq = ev_q;
		atomic_set(&tapq_ready, 2);
	}
	spin_pdr_unlock(&taps_lock);
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

static bool first_of(struct tap_entry **e, int i)
{
	for (int j = 0; j < i; j++)
		if (e[j]->io == e[i]->io)
			return false;
	return true;
}

#define BATCH 64 /* descriptors per tap_fds (two requests each) */

/* A look takes the layer's tap off and adds it again (a new generation) in one tap_fds: the
 * ADD fires at once on a file ready now. */
void taps_retap(struct tap_entry **e, int n, bool adding)
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
				struct tap_entry *o = e[owner[j]];
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
		int io = e[i]->io;
		if (io < 0 || !first_of(e, i))
			continue;
		if (!adding) {
			if (e[i]->counted && !--users[io] && owned[io]) {
				owned[io] = false;
				reqs[k++] = (struct fd_tap_req){ .fd = io, .cmd = FDTAP_CMD_REM };
			}
			e[i]->counted = false;
			continue;
		}
		if (e[i]->err && e[i]->err != EAGAIN)
			continue; /* its answer stands: not open, never waits, or tapped elsewhere */
		if (owned[io])
			reqs[k++] = (struct fd_tap_req){ .fd = io, .cmd = FDTAP_CMD_REM };
		uint32_t gen = ++tap_gen[io];
		taps_seen[io] = 0;
		owner[k] = i;
		reqs[k++] = (struct fd_tap_req){
			.fd = io, .cmd = FDTAP_CMD_ADD, .filter = TAPS_FILTER,
			.ev_id = io + (int)(gen & 1) * TAPS_MAX_FDS, .ev_q = tapq, .data = (void *)(uintptr_t)gen,
		};
	}
	if (!adding)
		return;
	for (int i = 0; i < n; i++) /* copies of a descriptor share the first one's answer */
		for (int j = 0; j < i; j++)
			if (e[i]->io >= 0 && e[j]->io == e[i]->io) {
				e[i]->err = e[j]->err;
				break;
			}
}

int taps_wait(int (*look)(void *arg), void *arg, uth_semaphore_t *wake, uint64_t deadline, bool now,
              const sigset_t *mask)
{
	struct pthread *self = pthread_self();
	struct posix_wait w;
	posix_wait_begin(&w);
	sigset_t saved;
	if (mask)
		pthread_sigmask(SIG_SETMASK, mask, &saved); /* what it unblocks runs here */
	int result = look(arg);
	if (!result && atomic_read(&self->handlers_run) != w.handlers)
		result = -EINTR; /* the mask let a pending signal's handler run */
	while (!result && !now) {
		int why = uth_semaphore_timed_down(wake, deadline, true);
		if (why == UTH_WAIT_INTERRUPTED && posix_cancelling()) {
			result = TAPS_CANCELLED;
			break;
		}
		/* woken, timed out or interrupted: look again (Linux's last look before 0 or EINTR, and
		 * what another waiter's read left) and report only what that look says */
		result = look(arg);
		if (why == UTH_WAIT_TIMEOUT)
			break;
		if (why == UTH_WAIT_INTERRUPTED) {
			if (posix_wait_end(&w) != POSIX_WAIT_AGAIN) {
				if (!result)
					result = -EINTR; /* even under SA_RESTART, as Linux's poll, select and epoll */
				break;
			}
			posix_wait_begin(&w); /* the signal was taken elsewhere: wait on */
		}
	}
	if (mask)
		pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (result != TAPS_CANCELLED && posix_cancelling())
		result = TAPS_CANCELLED;
	return result;
}

/* Linux saturates a timeout's end at KTIME_MAX (about 292 years): anything longer is no end. */
#define MAX_USEC ((int64_t)9223372036854775 / 1000 * 1000)

uint64_t taps_deadline_after(int64_t usec)
{
	uint64_t per_usec = procinfo()->tsc_freq / 1000000, now = read_tsc();
	if (!usec)
		usec = 1;
	if (per_usec && (uint64_t)usec > (UINT64_MAX - now) / per_usec)
		return 0;
	return alarm_deadline_in((uint64_t)usec);
}

int64_t taps_usec_of(int64_t sec, int64_t frac, int64_t per_sec)
{
	if (sec < 0 || frac < 0 || frac >= per_sec)
		return -2;
	if (sec > MAX_USEC / 1000000 - 1)
		return -1;
	return sec * 1000000 + (frac * 1000000 + per_sec - 1) / per_sec;
}

int64_t taps_usec_of_ts(const struct timespec *ts)
{
	return ts ? taps_usec_of(ts->tv_sec, ts->tv_nsec, 1000000000) : -1;
}

int taps_finish(int r)
{
	if (r == TAPS_CANCELLED) {
		posix_cancel_point(); /* exits */
		r = -EINTR;
	}
	return (int)posix_ret(r);
}

uint32_t taps_poll_bits(uint32_t bits)
{
	uint32_t ready = 0;
	if (bits & FDTAP_FILT_READABLE)
		ready |= POLLIN | POLLRDNORM;
	if (bits & FDTAP_FILT_WRITABLE)
		ready |= POLLOUT | POLLWRNORM;
	if (bits & FDTAP_FILT_ERROR)
		ready |= POLLERR;
	if (bits & FDTAP_FILT_PRIORITY)
		ready |= POLLPRI;
	if (bits & FDTAP_FILT_HANGUP)
		ready |= POLLHUP;
	if (bits & FDTAP_FILT_RDHUP)
		ready |= POLLRDHUP;
	return ready;
}

uint32_t taps_filter(uint32_t events)
{
	uint32_t f = FDTAP_FILT_ERROR | FDTAP_FILT_HANGUP;
	if (events & (POLLIN | POLLRDNORM))
		f |= FDTAP_FILT_READABLE;
	if (events & (POLLOUT | POLLWRNORM))
		f |= FDTAP_FILT_WRITABLE;
	if (events & POLLPRI)
		f |= FDTAP_FILT_PRIORITY;
	if (events & POLLRDHUP)
		f |= FDTAP_FILT_RDHUP;
	return f;
}
