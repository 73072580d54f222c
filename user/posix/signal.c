/* Signals as Akaros gives them to a many-core process: the kernel delivers none itself.  kill
 * sends the target an EV_POSIX_SIGNAL event (SYS_notify, the number in ev_arg1), and SIGKILL
 * destroys it (SYS_proc_destroy).  The event arrives in vcore context; as Akaros's pthread 2LS
 * does, a signal with a handler is given to a pthread that does not block it (or that waits for
 * it in sigwait), and the handler runs on that pthread: the next time the 2LS runs it, its saved
 * context is set aside on its own stack and it runs the handler first (a running pthread's vcore
 * is notified, so it is stopped and comes through the 2LS at once).  Default actions run where the
 * event arrives, and are Akaros's: terminating signals end the process with the signal number as
 * its exit status, core-dumping ones with 128 plus the number, SIGCHLD, SIGURG, SIGWINCH and
 * SIGCONT are ignored.  raise and pthread_kill on oneself run the action at once in the caller,
 * as Linux does.
 *
 * Masks are per pthread.  A signal from kill that every pthread blocks stays pending for the
 * process; one sent to a pthread that blocks it (pthread_kill) stays pending for that pthread.
 * Either runs when a pthread unblocks it, before pthread_sigmask returns, in its own context, with
 * the action's sa_mask blocked meanwhile, or is taken by sigwait. */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "parlib/alarm.h"
#include "parlib/uthread.h"
#include "parlib/vcore_tick.h"
#include "posix.h"

#define BIT(sig) (1ull << ((sig) - 1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))

static struct sigaction actions[NSIG];
/* Signals from kill that came while every pthread blocked them: the first pthread to unblock
 * one runs it, or sigwait takes it. */
static volatile uint64_t pending;
/* The live pthreads, for choosing one to run a signal (any context, so a PDR lock). */
static struct spin_pdr_lock live_lock = SPIN_PDR_INITIALIZER;
static struct pthread *live;

/* The context a handler run interrupted, kept on the pthread's stack below where it was. */
struct posix_sigframe {
	struct posix_sigframe *prev;
	int ctx_type;
	struct user_context hw_ctx;
	struct sw_context sw_ctx;
	struct ancillary_state fp_state;
};

void posix_thread_live(struct pthread *p)
{
	uth_semaphore_init(&p->sig_sem, 0);
	spin_pdr_lock(&live_lock);
	p->next_live = live;
	live = p;
	spin_pdr_unlock(&live_lock);
}

void posix_thread_gone(struct pthread *p)
{
	spin_pdr_lock(&live_lock);
	for (struct pthread **at = &live; *at; at = &(*at)->next_live) {
		if (*at == p) {
			*at = p->next_live;
			break;
		}
	}
	spin_pdr_unlock(&live_lock);
}

static bool ignored_by_default(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static bool dumps_core(int sig)
{
	return sig == SIGQUIT || sig == SIGILL || sig == SIGABRT || sig == SIGFPE || sig == SIGSEGV ||
	       sig == SIGBUS || sig == SIGTRAP || sig == SIGSYS;
}

static bool has_handler(int sig)
{
	sighandler_t h = actions[sig].sa_handler;
	return h != SIG_DFL && h != SIG_IGN;
}

/* The signal's action: nothing, the default (the end of the process) or its handler (true). */
static bool act(int sig, int code)
{
	if (sig <= 0 || sig >= NSIG)
		return false;
	struct sigaction *a = &actions[sig];
	sighandler_t handler = a->sa_handler;
	int flags = a->sa_flags;
	if (handler == SIG_IGN || (handler == SIG_DFL && ignored_by_default(sig)))
		return false;
	if (handler == SIG_DFL)
		sys_proc_destroy(getpid(), dumps_core(sig) ? 128 + sig : sig);
	if (flags & SA_RESETHAND) {
		a->sa_handler = SIG_DFL;
		a->sa_flags &= ~SA_SIGINFO;
	}
	if (flags & SA_SIGINFO) {
		siginfo_t info = { .si_signo = sig, .si_code = code };
		a->sa_sigaction(sig, &info, NULL);
	} else {
		handler(sig);
	}
	return true;
}

static void deliver_unblocked(void);

/* The calling pthread's mask becomes mask (never SIGKILL or SIGSTOP); then it runs what became
 * deliverable, as Linux delivers before sigprocmask returns. */
static void set_mask(uint64_t mask)
{
	pthread_self()->sigmask = mask & ~UNBLOCKABLE;
	deliver_unblocked();
}

/* Run sig's action in the calling pthread, with sa_mask (and sig, unless SA_NODEFER) blocked. */
static void act_in_pthread(int sig, int code)
{
	if (in_vcore_context()) {
		act(sig, code);
		return;
	}
	struct pthread *self = pthread_self();
	uint64_t saved = self->sigmask;
	uint64_t during = saved | actions[sig].sa_mask.__bits[0];
	if (!(actions[sig].sa_flags & SA_NODEFER))
		during |= BIT(sig);
	bool restarts = actions[sig].sa_flags & SA_RESTART;
	set_mask(during);
	if (act(sig, code)) {
		if (!restarts)
			atomic_add(&self->norestart_run, 1);
		atomic_add(&self->handlers_run, 1);
	}
	set_mask(saved);
}

/* Take one of want's signals from *from: its number, or 0. */
static int take_one(volatile uint64_t *from, uint64_t want)
{
	for (;;) {
		uint64_t now = atomic_read(from);
		uint64_t take = now & want;
		if (!take)
			return 0;
		int sig = __builtin_ctzll(take) + 1;
		if (atomic_cas(from, now, now & ~BIT(sig)))
			return sig;
	}
}

/* Take one of want's signals pending for this pthread, else for the process: its number (and
 * *code, how it was sent), or 0. */
static int take_pending(struct pthread *self, uint64_t want, int *code)
{
	int sig = take_one(&self->sig_pending, want);
	if (sig) {
		*code = atomic_read(&self->sig_from_kill) & BIT(sig) ? SI_USER : SI_TKILL;
		return sig;
	}
	*code = SI_USER;
	return take_one(&pending, want);
}

/* Run the signals pending for this pthread, then for the process, that it does not block. */
/* Run the handlers of the pending signals this pthread does not block, but those of except. */
static void deliver_unblocked_except(uint64_t except)
{
	struct pthread *self = pthread_self();
	int code, sig;
	while ((sig = take_pending(self, ~self->sigmask & ~except, &code)))
		act_in_pthread(sig, code);
}

static void deliver_unblocked(void)
{
	deliver_unblocked_except(0);
}

/* --- waits that a handler cuts short ---------------------------------------------------------- */

void posix_wait_begin(struct posix_wait *w)
{
	struct pthread *self = pthread_self();
	struct uthread *uth = current_uthread();
	/* a poke from here on ends the wait; the signal of one before is pending, run just below */
	__atomic_store_n(&uth->poked, false, __ATOMIC_SEQ_CST);
	if (self->cancel_state != PTHREAD_CANCEL_ENABLE)
		uth->interrupted = false; /* a cancellation that came as it disabled them: later */
	deliver_unblocked();
	w->handlers = atomic_read(&self->handlers_run);
	w->norestart = atomic_read(&self->norestart_run);
}

int posix_wait_end(const struct posix_wait *w)
{
	struct pthread *self = pthread_self();
	deliver_unblocked(); /* those the 2LS could not run before resuming it */
	if (atomic_read(&self->norestart_run) != w->norestart)
		return POSIX_WAIT_EINTR;
	return atomic_read(&self->handlers_run) != w->handlers ? POSIX_WAIT_RESTART : POSIX_WAIT_AGAIN;
}

/* --- running a handler on a pthread that is not running ----------------------------------- */

/* Uthread context, on the pthread's stack below the context it set aside: run what is due,
 * then resume that context (through vcore context, which puts it back). */
static void resume_after_handlers(struct uthread *uth, void *arg)
{
	struct posix_sigframe *f = arg;
	uth->ctx_type = f->ctx_type;
	uth->hw_ctx = f->hw_ctx;
	uth->sw_ctx = f->sw_ctx;
	uth->fp_state = f->fp_state;
	sched_ops->thread_paused(uth);
}

static void handler_trampoline(void)
{
	struct pthread *self = pthread_self();
	struct posix_sigframe *f = self->sigframe;
	self->sigframe = f->prev;
	int saved_errno = errno;
	deliver_unblocked();
	errno = saved_errno;
	uthread_yield(false, resume_after_handlers, f);
}

/* Vcore context, uth about to run: if signals it does not block wait for it, make it run their
 * handlers first.  Its context goes onto its own stack, below its stack pointer (and a red zone),
 * and it starts at handler_trampoline as if that had been called there. */
static void prepare_signals(struct uthread *uth)
{
	struct pthread *p = uth->tcb;
	if (!p || !(atomic_read(&p->sig_pending) & ~p->sigmask) || !uthread_can_redirect(uth))
		return;
	uint64_t sp = uth->ctx_type == UTH_CTX_HW ? uth->hw_ctx.rsp : uth->sw_ctx.rsp;
	sp = (sp - 128 - sizeof(struct posix_sigframe)) & ~(uint64_t)63;
	struct posix_sigframe *f = (struct posix_sigframe *)sp;
	f->ctx_type = uth->ctx_type;
	f->hw_ctx = uth->hw_ctx;
	f->sw_ctx = uth->sw_ctx;
	f->fp_state = uth->fp_state;
	f->prev = p->sigframe;
	p->sigframe = f;
	memset(&uth->sw_ctx, 0, sizeof uth->sw_ctx);
	uth->sw_ctx.rsp = sp - 8;
	uth->sw_ctx.rip = (uint64_t)handler_trampoline;
	uth->ctx_type = UTH_CTX_SW;
}

/* Time slicing, as Akaros's pthread 2LS does it: each vcore running a pthread ticks every
 * posix_sched_period; at a vcore entry after a tick, the pthread the tick's notification stopped
 * goes to the back of the run queue if others wait there (else it just goes on). */
void posix_sched_entry(void)
{
	unsigned long period = atomic_read(&posix_sched_period);
	/* only a notification leaves a uthread current here (a tick's among them); a switch does not */
	if (period && current_uthread() && vcore_tick_poll() && fifo_nr_queued())
		uthread_pause_current();
	struct uthread *uth = fifo_next_uthread();
	prepare_signals(uth);
	if (period && parlib_is_mcp)
		vcore_tick_enable(period);
	run_uthread(uth);
}

/* --- choosing the pthread a signal goes to ------------------------------------------------ */

/* sig is now pending for p (which is alive): wake it if it waits for sig, and make sure a p that
 * runs elsewhere comes through the 2LS soon (its vcore gets an event). */
static void send_to(struct pthread *p, int sig, int code)
{
	if (code == SI_USER)
		atomic_or(&p->sig_from_kill, BIT(sig));
	else
		atomic_and(&p->sig_from_kill, ~BIT(sig));
	atomic_or(&p->sig_pending, BIT(sig));
	bool blocked = p->sigmask & BIT(sig);
	/* a sigwait for it, or a sigsuspend or sigwait whose handler it runs (EINTR, or sigwait on) */
	if (blocked ? (p->sigwait_set & BIT(sig)) != 0 : (p->suspended || p->sigwait_set))
		uth_semaphore_up(&p->sig_sem);
	if (blocked)
		return;
	struct uthread *uth = p->uth;
	if (uth && !p->suspended && !p->sigwait_set)
		uthread_poke(uth); /* out of the wait it is in, if any: the handler cuts it short */
	if (uth && uth->state == UT_RUNNING && uth != current_uthread())
		vcore_notify(uth->last_vcoreid, EV_POSIX_SIGNAL, 0, 0); /* ev_arg1 0: just look */
}

/* Who takes a signal of the process (live_lock held): a pthread waiting for it in sigwait, else
 * the one interrupted on this vcore if it does not block it, else the first that does not. */
static struct pthread *choose_taker(int sig, struct pthread *here)
{
	for (struct pthread *p = live; p; p = p->next_live)
		if (p->sigwait_set & BIT(sig))
			return p;
	if (here && !(here->sigmask & BIT(sig)))
		return here;
	for (struct pthread *p = live; p; p = p->next_live)
		if (!(p->sigmask & BIT(sig)))
			return p;
	return NULL;
}

/* EV_POSIX_SIGNAL (vcore context).  ev_arg1 0 only brings this vcore through the 2LS, which runs
 * the handlers due on its pthread. */
static void handle_signal_event(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	(void)data;
	int sig = msg->ev_arg1;
	if (sig <= 0 || sig >= NSIG)
		return;
	struct uthread *cur = current_uthread();
	spin_pdr_lock(&live_lock);
	struct pthread *taker = choose_taker(sig, cur ? cur->tcb : NULL);
	bool waited = taker && (taker->sigwait_set & BIT(sig));
	if (taker && (waited || has_handler(sig)))
		send_to(taker, sig, SI_USER);
	else if (!taker)
		atomic_or(&pending, BIT(sig)); /* every pthread blocks it */
	spin_pdr_unlock(&live_lock);
	if (taker && !waited && !has_handler(sig))
		act(sig, SI_USER); /* the default action or nothing, for the whole process */
}

/* What exec keeps (on Linux): which signals are ignored, and the mask (posix_signals_init); the
 * parent gave them in procinfo (SYS_proc_sigstate) before the program ran.  The handler is in
 * place before the program first looks at its events: a signal sent before the main pthread is
 * live (a kill right after posix_spawn) stays pending for the process, as on Linux, instead of
 * being dropped with no handler. */
void posix_signals_early(void)
{
	uint64_t ignored = __procinfo.sig_ignored;
	for (int sig = 1; sig < NSIG && sig < 64; sig++)
		if ((ignored & BIT(sig)) && !(UNBLOCKABLE & BIT(sig)))
			actions[sig].sa_handler = SIG_IGN;
	register_ev_handler(EV_POSIX_SIGNAL, handle_signal_event, NULL);
}

/* The main pthread is live: its mask, then what came meanwhile and it does not block. */
void posix_signals_init(void)
{
	pthread_self()->sigmask = __procinfo.sig_blocked & ~UNBLOCKABLE;
	deliver_unblocked();
}

uint64_t posix_ignored_signals(void)
{
	uint64_t ignored = 0;
	for (int sig = 1; sig < NSIG && sig < 64; sig++)
		if (actions[sig].sa_handler == SIG_IGN)
			ignored |= BIT(sig);
	return ignored;
}

int sigaction(int sig, const struct sigaction *new, struct sigaction *old)
{
	if (sig <= 0 || sig >= NSIG || (new && (sig == SIGKILL || sig == SIGSTOP))) {
		errno = EINVAL;
		return -1;
	}
	if (old)
		*old = actions[sig];
	if (new)
		actions[sig] = *new;
	return 0;
}

sighandler_t signal(int sig, sighandler_t handler)
{
	struct sigaction new = { .sa_handler = handler, .sa_flags = SA_RESTART }, old;
	if (sigaction(sig, &new, &old) < 0)
		return SIG_ERR;
	return old.sa_handler;
}

int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
	uint64_t mask = pthread_self()->sigmask;
	if (set && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
		return EINVAL;
	if (old) {
		sigemptyset(old);
		old->__bits[0] = mask;
	}
	if (!set)
		return 0;
	uint64_t bits = set->__bits[0];
	set_mask(how == SIG_BLOCK ? mask | bits : how == SIG_UNBLOCK ? mask & ~bits : bits);
	return 0;
}

int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
	int err = pthread_sigmask(how, set, old);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

int sigpending(sigset_t *set)
{
	sigemptyset(set);
	set->__bits[0] = atomic_read(&pending) | atomic_read(&pthread_self()->sig_pending);
	return 0;
}

int sigemptyset(sigset_t *set)
{
	memset(set, 0, sizeof *set);
	return 0;
}

int sigfillset(sigset_t *set)
{
	sigemptyset(set);
	set->__bits[0] = ~0ull;
	return 0;
}

static int bad_signal(int sig)
{
	if (sig > 0 && sig < NSIG)
		return 0;
	errno = EINVAL;
	return -1;
}

int sigaddset(sigset_t *set, int sig)
{
	if (bad_signal(sig))
		return -1;
	set->__bits[0] |= BIT(sig);
	return 0;
}

int sigdelset(sigset_t *set, int sig)
{
	if (bad_signal(sig))
		return -1;
	set->__bits[0] &= ~BIT(sig);
	return 0;
}

int sigismember(const sigset_t *set, int sig)
{
	if (bad_signal(sig))
		return -1;
	return (set->__bits[0] & BIT(sig)) != 0;
}

int kill(pid_t pid, int sig)
{
	if (sig < 0 || sig >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (pid <= 0) /* a group, or all: the kernel finds its members, of any personality */
		return (int)posix_ret(sys_kill(pid, sig));
	if (sig == SIGKILL)
		return (int)posix_ret(sys_proc_destroy(pid, SIGKILL));
	struct event_msg msg = { .ev_type = EV_POSIX_SIGNAL, .ev_arg1 = (uint16_t)sig };
	return (int)posix_ret(sys_notify(pid, EV_POSIX_SIGNAL, &msg, 0));
}

int pthread_kill(pthread_t thread, int sig)
{
	if (sig < 0 || sig >= NSIG)
		return EINVAL;
	if (atomic_read(&thread->state) & EXITED)
		return ESRCH;
	if (!sig)
		return 0;
	if (sig == SIGKILL)
		sys_proc_destroy(getpid(), SIGKILL);
	bool blocked = thread->sigmask & BIT(sig);
	if (thread == pthread_self() && !in_vcore_context()) {
		if (blocked)
			atomic_or(&thread->sig_pending, BIT(sig)); /* until it unblocks it, or sigwait */
		else
			act_in_pthread(sig, SI_TKILL);
		return 0;
	}
	if (!blocked && !has_handler(sig)) {
		act(sig, SI_TKILL); /* the default action or nothing, for the whole process */
		return 0;
	}
	spin_pdr_lock(&live_lock);
	bool alive = !(atomic_read(&thread->state) & EXITED);
	if (alive)
		send_to(thread, sig, SI_TKILL);
	spin_pdr_unlock(&live_lock);
	return alive ? 0 : ESRCH;
}

int raise(int sig)
{
	if (sig <= 0 || sig >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (in_vcore_context()) {
		act(sig, SI_TKILL);
		return 0;
	}
	int err = pthread_kill(pthread_self(), sig);
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* --- waiting for signals ------------------------------------------------------------------ */

/* Take one of set's signals pending for this pthread or the process, waiting until deadline (0:
 * for ever) if none is: its number, or -EAGAIN.  A cancellation point. */
static int wait_for_signal(uint64_t set, uint64_t deadline, siginfo_t *info)
{
	struct pthread *self = pthread_self();
	int sig, code;
	deliver_unblocked_except(set); /* those due before the call */
	uint32_t handlers = atomic_read(&self->handlers_run);
	atomic_set(&self->sigwait_set, set);
	for (;;) {
		if ((sig = take_pending(self, set, &code)))
			break;
		/* a handler of a signal outside the set ran (the poke's, while it waited): EINTR, SA_RESTART
		 * or not, as Linux's */
		deliver_unblocked_except(set);
		if (atomic_read(&self->handlers_run) != handlers) {
			sig = -EINTR;
			break;
		}
		self->uth->poked = false;
		int why = uth_semaphore_timed_down(&self->sig_sem, deadline, posix_cancel_point());
		if (why == UTH_WAIT_INTERRUPTED && posix_cancelling()) {
			atomic_set(&self->sigwait_set, 0);
			posix_cancel_point(); /* exits */
		}
		if (why == UTH_WAIT_TIMEOUT) {
			sig = -EAGAIN;
			break;
		}
	}
	atomic_set(&self->sigwait_set, 0);
	if (sig > 0 && info) {
		memset(info, 0, sizeof *info);
		info->si_signo = sig;
		info->si_code = code;
	}
	return sig;
}

int sigwait(const sigset_t *set, int *sig)
{
	int got;
	do /* never EINTR: it waits on after a handler, as musl's */
		got = wait_for_signal(set->__bits[0] & ~UNBLOCKABLE, 0, NULL);
	while (got == -EINTR);
	*sig = got;
	return 0;
}

int sigwaitinfo(const sigset_t *set, siginfo_t *info)
{
	return (int)posix_ret(wait_for_signal(set->__bits[0] & ~UNBLOCKABLE, 0, info));
}

int sigtimedwait(const sigset_t *set, siginfo_t *info, const struct timespec *timeout)
{
	if (!timeout)
		return sigwaitinfo(set, info);
	if (timeout->tv_nsec < 0 || timeout->tv_nsec >= 1000000000 || timeout->tv_sec < 0) {
		errno = EINVAL;
		return -1;
	}
	uint64_t usec = (uint64_t)timeout->tv_sec * 1000000 + ((uint64_t)timeout->tv_nsec + 999) / 1000;
	int got = wait_for_signal(set->__bits[0] & ~UNBLOCKABLE, alarm_deadline_in(usec), info);
	return (int)posix_ret(got);
}

/* Wait with mask as the signal mask until a handler has run in this pthread. */
int sigsuspend(const sigset_t *mask)
{
	struct pthread *self = pthread_self();
	uint64_t saved = self->sigmask;
	uint32_t before = atomic_read(&self->handlers_run);
	atomic_set(&self->suspended, 1);
	set_mask(mask->__bits[0]); /* what it unblocks runs here */
	while (atomic_read(&self->handlers_run) == before) {
		self->uth->poked = false;
		if (uth_semaphore_timed_down(&self->sig_sem, 0, posix_cancel_point()) == UTH_WAIT_INTERRUPTED &&
		    posix_cancelling()) {
			atomic_set(&self->suspended, 0);
			set_mask(saved);
			posix_cancel_point(); /* exits */
		}
	}
	atomic_set(&self->suspended, 0);
	set_mask(saved);
	errno = EINTR;
	return -1;
}

int pause(void)
{
	sigset_t mine;
	pthread_sigmask(SIG_SETMASK, NULL, &mine);
	return sigsuspend(&mine);
}
