/* Uthreads that wait for files: FD taps, a CEQ event queue, and per-descriptor wait lists.
 * See net.h. */
#include "net.h"

#define TAP_FILTER (FDTAP_FILT_READABLE | FDTAP_FILT_WRITABLE | FDTAP_FILT_ERROR | FDTAP_FILT_HANGUP)

struct fd_wait {
	spinlock_t lock;          /* vcore context only */
	volatile uint64_t gen;    /* bumped each time the descriptor's tap fires */
	volatile uint32_t tapped; /* we asked the kernel for a tap on it */
	struct uthread *waiters, *waiters_tail;
};

static struct fd_wait fds[NET_MAX_FDS];
/* The event queue every tap fires into: a CEQ with an entry per descriptor (event type = fd), so
 * any number of firings of one descriptor coalesce into one entry, as Akaros's epoll does. */
static struct event_queue *tapq;

volatile uint64_t uth_net_parks, uth_net_wakeups;
static volatile uint32_t net_ready;

/* Vcore context: fd's tap fired.  Returns how many uthreads it made runnable. */
static int fd_fired(int fd)
{
	struct fd_wait *w = &fds[fd];
	spin_lock(&w->lock);
	atomic_add(&w->gen, 1);
	struct uthread *list = w->waiters;
	w->waiters = w->waiters_tail = NULL;
	spin_unlock(&w->lock);
	int woken = 0;
	while (list) {
		struct uthread *next = list->next;
		list->next = NULL;
		uthread_runnable(list);
		list = next;
		woken++;
	}
	return woken;
}

/* Vcore context, on any vcore: the CEQ's EV_EVENT came (EVENT_INDIR): drain it. */
static void poll_taps(struct event_queue *ev_q)
{
	struct event_msg msg;
	while (extract_one_mbox_msg(ev_q->ev_mbox, &msg)) {
		if (msg.ev_type < NET_MAX_FDS) {
			fd_fired(msg.ev_type);
			atomic_add(&uth_net_wakeups, 1);
		}
	}
}

void uth_net_init(void)
{
	if (!atomic_cas_u32(&net_ready, 0, 1))
		return;
	struct event_mbox *mbox = calloc(1, sizeof *mbox);
	struct event_queue *ev_q = calloc(1, sizeof *ev_q);
	if (!mbox || !ev_q)
		parlib_panic("out of memory for the tap queue");
	ceq_init(&mbox->ceq, CEQ_OR, NET_MAX_FDS, 256);
	mbox->type = EV_MBOX_CEQ;
	ev_q->ev_mbox = mbox;
	ev_q->ev_flags = EVENT_INDIR | EVENT_SPAM_INDIR | EVENT_IPI | EVENT_WAKEUP;
	ev_q->ev_vcore = 0;
	ev_q->ev_handler = poll_taps;
	cmb();
	tapq = ev_q;
}

uint64_t uth_fd_gen(int fd)
{
	return fd >= 0 && fd < NET_MAX_FDS ? atomic_read(&fds[fd].gen) : 0;
}

struct park {
	int fd;
	uint64_t gen;
};

static void park_on_fd(struct uthread *uth, void *arg)
{
	struct park *p = arg; /* on the stopped uthread's stack: read it before handing uth over */
	struct fd_wait *w = &fds[p->fd];
	uint64_t gen = p->gen;
	spin_lock(&w->lock);
	if (atomic_read(&w->gen) != gen) {
		spin_unlock(&w->lock); /* it fired while we were stopping */
		uthread_runnable(uth);
		return;
	}
	uth->next = NULL;
	if (w->waiters_tail)
		w->waiters_tail->next = uth;
	else
		w->waiters = uth;
	w->waiters_tail = uth;
	sched_ops->thread_has_blocked(uth, UTH_BLK_MISC);
	spin_unlock(&w->lock);
}

static int ensure_tap(int fd)
{
	struct fd_wait *w = &fds[fd];
	if (atomic_read(&w->tapped))
		return 0;
	uth_net_init();
	struct fd_tap_req req = {
		.fd = fd, .cmd = FDTAP_CMD_ADD, .filter = TAP_FILTER, .ev_id = fd, .ev_q = tapq,
	};
	long r = sys_tap_fds(&req, 1);
	if (r != 1)
		return r < 0 ? (int)r : -EINVAL;
	atomic_set(&w->tapped, 1);
	return 0;
}

void uth_blockon_fd(int fd, uint64_t gen)
{
	if (fd < 0 || fd >= NET_MAX_FDS)
		return;
	if (ensure_tap(fd) < 0 || in_vcore_context() || !current_uthread()) {
		cpu_relax(); /* nothing to wait for: the caller just tries again */
		return;
	}
	struct park p = { fd, gen };
	atomic_add(&uth_net_parks, 1);
	uthread_yield(true, park_on_fd, &p);
}

long uth_read(int fd, void *buf, size_t len)
{
	for (;;) {
		uint64_t gen = uth_fd_gen(fd);
		long r = sys_read(fd, buf, len);
		if (r != -EAGAIN)
			return r;
		uth_blockon_fd(fd, gen);
	}
}

long uth_write(int fd, const void *buf, size_t len)
{
	for (;;) {
		uint64_t gen = uth_fd_gen(fd);
		long r = sys_write(fd, buf, len);
		if (r != -EAGAIN)
			return r;
		uth_blockon_fd(fd, gen);
	}
}

int uth_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	while (len) {
		long r = uth_write(fd, p, len);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return -EPIPE;
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

void uth_net_fd_closed(int fd)
{
	if (fd >= 0 && fd < NET_MAX_FDS)
		atomic_set(&fds[fd].tapped, 0); /* the kernel drops the tap with the descriptor */
}

long uth_close(int fd)
{
	return sys_close(fd);
}

/* --- Plan 9 style /net ------------------------------------------------------------------- */

static int read_conv_number(int ctl, char *dir, const char *proto)
{
	char num[16];
	long n = sys_read(ctl, num, sizeof num - 1);
	if (n <= 0)
		return n < 0 ? (int)n : -EINVAL;
	num[n] = 0;
	snprintf(dir, NETPATH, "/net/%s/%ld", proto, strtol(num, NULL, 10));
	return 0;
}

/* The announced conversations' ctl descriptors, by directory: listen waits on them. */
#define MAX_ANNOUNCED 8
static struct {
	char dir[NETPATH];
	int ctl;
} announced[MAX_ANNOUNCED];
static spinlock_t announced_lock = SPINLOCK_INITIALIZER;

static int announced_ctl(const char *dir)
{
	int ctl = -1;
	uth_disable_notifs();
	spin_lock(&announced_lock);
	for (int i = 0; i < MAX_ANNOUNCED; i++)
		if (announced[i].dir[0] && !strcmp(announced[i].dir, dir))
			ctl = announced[i].ctl;
	spin_unlock(&announced_lock);
	uth_enable_notifs();
	return ctl;
}

static void remember_announced(const char *dir, int ctl)
{
	uth_disable_notifs();
	spin_lock(&announced_lock);
	for (int i = 0; i < MAX_ANNOUNCED; i++) {
		if (!announced[i].dir[0]) {
			strcpy(announced[i].dir, dir);
			announced[i].ctl = ctl;
			break;
		}
	}
	spin_unlock(&announced_lock);
	uth_enable_notifs();
}

int announce9(const char *addr, char *dir)
{
	char proto[8];
	const char *bang = strchr(addr, '!');
	if (!bang || bang - addr >= (long)sizeof proto)
		return -EINVAL;
	memcpy(proto, addr, bang - addr);
	proto[bang - addr] = 0;
	char path[NETPATH];
	snprintf(path, sizeof path, "/net/%s/clone", proto);
	int ctl = (int)sys_open(path, O_RDWR);
	if (ctl < 0)
		return ctl;
	int r = read_conv_number(ctl, dir, proto);
	char msg[64];
	int n = snprintf(msg, sizeof msg, "announce %s", bang + 1);
	if (r == 0) {
		long w = sys_write(ctl, msg, n);
		r = w < 0 ? (int)w : 0;
	}
	if (r < 0) {
		sys_close(ctl);
		return r;
	}
	remember_announced(dir, ctl);
	return ctl;
}

int listen9(const char *dir, char *newdir)
{
	char path[NETPATH + 8];
	snprintf(path, sizeof path, "%s/listen", dir);
	int actl = -1;
	for (;;) {
		uint64_t gen = actl >= 0 ? uth_fd_gen(actl) : 0;
		int ctl = (int)sys_open(path, O_RDWR | O_NONBLOCK);
		if (ctl != -EAGAIN) {
			if (ctl < 0)
				return ctl;
			const char *proto = dir + 5; /* "/net/" */
			char name[8];
			size_t i = 0;
			while (proto[i] && proto[i] != '/' && i < sizeof name - 1) {
				name[i] = proto[i];
				i++;
			}
			name[i] = 0;
			int r = read_conv_number(ctl, newdir, name);
			if (r < 0) {
				sys_close(ctl);
				return r;
			}
			return ctl;
		}
		if (actl < 0) {
			/* wait on the announced conversation's ctl: it is readable while a call waits */
			actl = announced_ctl(dir);
			if (actl < 0) {
				char ctlpath[NETPATH + 8];
				snprintf(ctlpath, sizeof ctlpath, "%s/ctl", dir);
				actl = (int)sys_open(ctlpath, O_RDWR);
				if (actl < 0)
					return actl;
				remember_announced(dir, actl);
			}
			continue; /* take its generation before trying again */
		}
		uth_blockon_fd(actl, gen);
	}
}

int dial9(const char *addr, char *dir)
{
	char proto[8];
	const char *bang = strchr(addr, '!');
	if (!bang || bang - addr >= (long)sizeof proto)
		return -EINVAL;
	memcpy(proto, addr, bang - addr);
	proto[bang - addr] = 0;
	char path[NETPATH + 8];
	snprintf(path, sizeof path, "/net/%s/clone", proto);
	int ctl = (int)sys_open(path, O_RDWR);
	if (ctl < 0)
		return ctl;
	char msg[80];
	int n = snprintf(msg, sizeof msg, "connect %s", bang + 1);
	int r = read_conv_number(ctl, dir, proto);
	if (r == 0) {
		long w = sys_write(ctl, msg, n);
		r = w < 0 ? (int)w : 0;
	}
	if (r == 0) {
		snprintf(path, sizeof path, "%s/data", dir);
		r = (int)sys_open(path, O_RDWR | O_NONBLOCK);
	}
	sys_close(ctl); /* the conversation lives on in its data file */
	return r;
}

int accept9(int ctl, const char *newdir)
{
	(void)ctl;
	char path[NETPATH + 8];
	snprintf(path, sizeof path, "%s/data", newdir);
	return (int)sys_open(path, O_RDWR | O_NONBLOCK);
}
