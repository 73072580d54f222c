/* epoll over the layer's FD taps (taps.c), the Akaros way: only the calling pthread waits.
 *
 * An instance is a descriptor (a #pipe directory, which never becomes ready: its number names
 * the instance and close frees it) and an interest list.  Each entry counts in its descriptor's
 * tap users from epoll_ctl's ADD to its DEL, so the tap stays on between calls and its news
 * (a condition rising) reaches the instance: an edge-triggered entry (EPOLLET) keeps the bits
 * that rose since it was last reported, and the instance's waiters wake.  A wait looks: the
 * level-triggered entries' taps go off and on again (a tap added on a ready file fires at once,
 * so that says what is ready now, as poll's looks), the edge-triggered ones report what rose.
 * Nothing ready: the pthread sleeps on a semaphore, as poll does (taps_wait: timeout in virtual
 * time, EINTR when a handler runs, a cancellation point).  Reported entries are passed over by
 * the next look's scan (it starts after the last one reported), so a short maxevents reaches
 * every ready entry in turn, as Linux's ready list does.  EPOLLONESHOT disables an entry once
 * reported, until a MOD.  An entry goes when its descriptor is closed through the layer (Linux
 * keeps it while a dup of the open file lives: the layer has no open file descriptions). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "parlib/uthread.h"
#include "posix.h"
#include "taps.h"

#define ENTRY_FLAGS (EPOLLET | EPOLLONESHOT | EPOLLEXCLUSIVE | EPOLLWAKEUP)

struct item {
	struct tap_entry t; /* t.want: the filter its events answer */
	uint32_t events;
	epoll_data_t data;
	uint32_t edge;  /* EPOLLET: filter bits that rose since it was last reported */
	bool disabled;  /* EPOLLONESHOT: reported, until a MOD */
	struct item *next;
};

struct waiter {
	struct waiter *next;
	uth_semaphore_t wake;
};

struct instance {
	struct tap_watcher w; /* first: the watcher is the instance */
	struct item *items;   /* in ADD order */
	struct item *resume;  /* where the next look's scan starts (NULL: the first) */
	struct waiter *waiting;
	int waiters;
	bool closed;
};

static struct instance *instances[TAPS_MAX_FDS];

/* Under the lock: io's tap saw bits rise. */
static void instance_news(struct tap_watcher *w, int io, uint32_t bits)
{
	struct instance *ep = (struct instance *)w;
	bool wake = false;
	for (struct item *it = ep->items; it; it = it->next) {
		if (it->t.io != io)
			continue;
		if (it->events & EPOLLET)
			it->edge |= bits;
		wake |= !it->disabled && (it->t.want & bits);
	}
	if (wake)
		for (struct waiter *q = ep->waiting; q; q = q->next)
			uth_semaphore_up(&q->wake);
}

static struct item *item_of(struct instance *ep, int fd)
{
	for (struct item *it = ep->items; it; it = it->next)
		if (it->t.fd == fd)
			return it;
	return NULL;
}

/* Under the lock: it leaves ep's list (its tap off if it was the last user). */
static void drop(struct instance *ep, struct item *it)
{
	struct item **at = &ep->items;
	while (*at != it)
		at = &(*at)->next;
	*at = it->next;
	if (ep->resume == it)
		ep->resume = it->next;
	struct tap_entry *t = &it->t;
	taps_retap(&t, 1, false);
	free(it);
}

/* Under the lock: the layer's close of fd (posix_close_hook): an instance is freed once no
 * pthread waits in it; entries of fd in every instance go. */
static void closed(int fd)
{
	spin_pdr_lock(&taps_lock);
	for (int i = 0; i < TAPS_MAX_FDS; i++) {
		struct instance *ep = instances[i];
		struct item *it = ep ? item_of(ep, fd) : NULL;
		if (it)
			drop(ep, it);
	}
	struct instance *ep = fd >= 0 && fd < TAPS_MAX_FDS ? instances[fd] : NULL;
	if (ep) {
		instances[fd] = NULL;
		while (ep->items)
			drop(ep, ep->items);
		taps_unwatch(&ep->w);
		ep->closed = true;
		if (!ep->waiters)
			free(ep);
	}
	spin_pdr_unlock(&taps_lock);
}

int epoll_create1(int flags)
{
	if (flags & ~EPOLL_CLOEXEC) {
		errno = EINVAL;
		return -1;
	}
	struct instance *ep = calloc(1, sizeof *ep);
	if (!ep) {
		errno = ENOMEM;
		return -1;
	}
	long fd = sys_open("#pipe", O_RDONLY | (flags & EPOLL_CLOEXEC ? O_CLOEXEC : 0));
	if (fd >= TAPS_MAX_FDS) {
		sys_close((int)fd);
		fd = -EMFILE;
	}
	if (fd < 0) {
		free(ep);
		return (int)posix_ret(fd);
	}
	taps_init();
	ep->w.news = instance_news;
	spin_pdr_lock(&taps_lock);
	instances[fd] = ep;
	taps_watch(&ep->w);
	posix_close_hook = closed;
	spin_pdr_unlock(&taps_lock);
	return (int)fd;
}

int epoll_create(int size)
{
	if (size <= 0) {
		errno = EINVAL;
		return -1;
	}
	return epoll_create1(0);
}

static bool is_open(int fd)
{
	return fd >= 0 && sys_fcntl(fd, F_GETFD, 0) >= 0;
}

/* Under the lock: it's tap off and on again, its news taken; its errno (ENOSYS: a file that
 * never waits, which Linux's epoll refuses with EPERM). */
static int retap_one(struct item *it)
{
	struct tap_entry *t = &it->t;
	t->err = EAGAIN;
	taps_retap(&t, 1, true);
	taps_drain_locked();
	return t->err == ENOSYS ? EPERM : t->err;
}

/* Linux's epoll refuses files that cannot poll: regular files and directories (whose taps here
 * may work, always ready) and files that never wait (ENOSYS from the tap).  A socket is a /net
 * conversation's file, which stat calls regular. */
static bool can_poll(int fd)
{
	struct stat st;
	if (posix_is_socket(fd) || fstat(fd, &st) < 0)
		return true;
	return !(S_ISREG(st.st_mode) || S_ISDIR(st.st_mode));
}

static int ctl(int epfd, int op, int fd, const struct epoll_event *event)
{
	if (!is_open(epfd) || !is_open(fd))
		return -EBADF;
	bool instance = fd < TAPS_MAX_FDS && instances[fd];
	if (!instance && !can_poll(fd))
		return -EPERM;
	int io = posix_io_fd(fd);
	if (epfd == fd || epfd >= TAPS_MAX_FDS || !instances[epfd] || io >= TAPS_MAX_FDS ||
	    instance) /* Linux nests instances; the layer does not */
		return -EINVAL;
	if (op != EPOLL_CTL_ADD && op != EPOLL_CTL_MOD && op != EPOLL_CTL_DEL)
		return -EINVAL;
	struct instance *ep = instances[epfd];
	struct item *it = item_of(ep, fd);
	if (op == EPOLL_CTL_DEL) {
		if (!it)
			return -ENOENT;
		drop(ep, it);
		return 0;
	}
	if (op == EPOLL_CTL_ADD ? it != NULL : it == NULL)
		return op == EPOLL_CTL_ADD ? -EEXIST : -ENOENT;
	uint32_t events = event->events;
	if (op == EPOLL_CTL_ADD) {
		it = calloc(1, sizeof *it);
		if (!it)
			return -ENOMEM;
		it->t.fd = fd;
		it->t.io = io;
	}
	it->events = events;
	it->data = event->data;
	it->t.want = taps_filter(events & ~ENTRY_FLAGS);
	it->edge = 0;
	it->disabled = false;
	int err = retap_one(it); /* a ready file fires now: reported by the next wait, ET or not */
	if (op == EPOLL_CTL_MOD)
		return 0;
	if (err) {
		struct tap_entry *t = &it->t;
		taps_retap(&t, 1, false);
		free(it);
		return -err;
	}
	struct item **at = &ep->items;
	while (*at)
		at = &(*at)->next;
	*at = it;
	return 0;
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
	if (op != EPOLL_CTL_DEL && !event) {
		errno = EFAULT;
		return -1;
	}
	taps_init();
	spin_pdr_lock(&taps_lock);
	int r = ctl(epfd, op, fd, event);
	spin_pdr_unlock(&taps_lock);
	return (int)posix_ret(r);
}

struct call {
	struct instance *ep;
	struct epoll_event *out;
	int max;
};

#define BATCH 64

/* A look: the level-triggered entries' taps again, then what they and the edge-triggered ones
 * say, from where the last look's reports ended; how many events it wrote. */
static int look(void *arg)
{
	struct call *c = arg;
	struct instance *ep = c->ep;
	taps_drain(); /* the old taps' news first */
	spin_pdr_lock(&taps_lock);
	struct tap_entry *batch[BATCH];
	int k = 0;
	for (struct item *it = ep->items;; it = it->next) {
		if (k == BATCH || (!it && k)) {
			taps_retap(batch, k, true);
			k = 0;
		}
		if (!it)
			break;
		if (!(it->events & EPOLLET) && !it->disabled && !it->t.err)
			batch[k++] = &it->t;
	}
	taps_drain_locked(); /* what fired as the taps went on */
	int n = 0;
	struct item *start = ep->resume ? ep->resume : ep->items, *it = start;
	while (it && n < c->max) {
		uint32_t mask = (it->events & ~ENTRY_FLAGS) | EPOLLERR | EPOLLHUP;
		uint32_t bits = it->events & EPOLLET ? it->edge : it->t.err ? 0 : taps_seen[it->t.io];
		uint32_t ready = taps_poll_bits(bits) & mask;
		if (ready && !it->disabled) {
			c->out[n].events = ready;
			c->out[n].data = it->data;
			n++;
			it->edge = 0;
			it->disabled = it->events & EPOLLONESHOT;
			ep->resume = it->next;
		}
		it = it->next ? it->next : ep->items;
		if (it == start)
			break;
	}
	spin_pdr_unlock(&taps_lock);
	return n;
}

#define MAX_EVENTS (INT32_MAX / (int)sizeof(struct epoll_event))

static int do_wait(int epfd, struct epoll_event *events, int maxevents, int timeout, const sigset_t *mask)
{
	if (maxevents <= 0 || maxevents > MAX_EVENTS)
		return (int)posix_ret(-EINVAL);
	if (!is_open(epfd))
		return (int)posix_ret(-EBADF);
	posix_cancel_point();
	struct waiter me;
	uth_semaphore_init(&me.wake, 0);
	spin_pdr_lock(&taps_lock);
	struct instance *ep = epfd < TAPS_MAX_FDS ? instances[epfd] : NULL;
	if (ep) {
		ep->waiters++;
		me.next = ep->waiting;
		ep->waiting = &me;
	}
	spin_pdr_unlock(&taps_lock);
	if (!ep)
		return (int)posix_ret(-EINVAL);
	struct call c = { .ep = ep, .out = events, .max = maxevents };
	uint64_t deadline = timeout > 0 ? taps_deadline_after((int64_t)timeout * 1000) : 0;
	int r = taps_wait(look, &c, &me.wake, deadline, timeout == 0, mask);
	spin_pdr_lock(&taps_lock);
	struct waiter **at = &ep->waiting;
	while (*at != &me)
		at = &(*at)->next;
	*at = me.next;
	if (!--ep->waiters && ep->closed)
		free(ep);
	spin_pdr_unlock(&taps_lock);
	return taps_finish(r);
}

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	return do_wait(epfd, events, maxevents, timeout, NULL);
}

int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout, const sigset_t *sigmask)
{
	return do_wait(epfd, events, maxevents, timeout, sigmask);
}
