/* Signals as Akaros gives them to a many-core process: the kernel delivers none itself.  kill
 * sends the target an EV_POSIX_SIGNAL event (SYS_notify, the number in ev_arg1), and SIGKILL
 * destroys it (SYS_proc_destroy); the target's event handler runs the signal's action in vcore
 * context (so a handler must not block), as Akaros's parlib does for process-wide signals.  The
 * default actions are Akaros's: terminating signals end the process with the signal number as
 * its exit status, core-dumping ones with 128 plus the number, SIGCHLD, SIGURG, SIGWINCH and
 * SIGCONT are ignored.  raise runs the action at once in the caller, as Linux does.
 *
 * Masks are per pthread.  A signal from kill that every pthread blocks stays pending for the
 * process; the first pthread to unblock it runs its action before pthread_sigmask returns, in its
 * own context, with the action's sa_mask blocked meanwhile (so is a raise'd one). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "parlib/uthread.h"
#include "posix.h"

#define BIT(sig) (1ull << ((sig) - 1))
#define UNBLOCKABLE (BIT(SIGKILL) | BIT(SIGSTOP))

static struct sigaction actions[NSIG];
/* Signals from kill that came while every pthread blocked them: the first pthread to unblock
 * one runs it. */
static volatile uint64_t pending;
/* How many live pthreads block each signal: a signal with fewer blockers than pthreads has a
 * pthread that takes it. */
static volatile uint32_t blockers[NSIG];

static bool ignored_by_default(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static bool dumps_core(int sig)
{
	return sig == SIGQUIT || sig == SIGILL || sig == SIGABRT || sig == SIGFPE || sig == SIGSEGV ||
	       sig == SIGBUS || sig == SIGTRAP || sig == SIGSYS;
}

/* The signal's action: nothing, the default (the end of the process) or its handler. */
static void act(int sig, int code)
{
	if (sig <= 0 || sig >= NSIG)
		return;
	struct sigaction *a = &actions[sig];
	sighandler_t handler = a->sa_handler;
	int flags = a->sa_flags;
	if (handler == SIG_IGN || (handler == SIG_DFL && ignored_by_default(sig)))
		return;
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
}

void posix_sigmask_count(uint64_t mask, int delta)
{
	for (int sig = 1; sig < NSIG; sig++)
		if (mask & BIT(sig))
			atomic_add(&blockers[sig], delta);
}

static void deliver_unblocked(void);

/* The calling pthread's mask becomes mask (never SIGKILL or SIGSTOP); then it runs what became
 * deliverable, as Linux delivers before sigprocmask returns. */
static void set_mask(uint64_t mask)
{
	uint64_t *mine = posix_sigmask_of_self();
	mask &= ~UNBLOCKABLE;
	uint64_t old = *mine;
	*mine = mask;
	posix_sigmask_count(mask & ~old, 1);
	posix_sigmask_count(old & ~mask, -1);
	deliver_unblocked();
}

/* Run sig's action in the calling pthread, with sa_mask (and sig, unless SA_NODEFER) blocked. */
static void act_in_pthread(int sig, int code)
{
	if (in_vcore_context()) {
		act(sig, code);
		return;
	}
	uint64_t saved = *posix_sigmask_of_self();
	uint64_t during = saved | actions[sig].sa_mask.__bits[0];
	if (!(actions[sig].sa_flags & SA_NODEFER))
		during |= BIT(sig);
	set_mask(during);
	act(sig, code);
	set_mask(saved);
}

static void deliver_unblocked(void)
{
	for (;;) {
		uint64_t now = atomic_read(&pending);
		uint64_t take = now & ~*posix_sigmask_of_self();
		if (!take)
			return;
		int sig = __builtin_ctzll(take) + 1;
		if (atomic_cas(&pending, now, now & ~BIT(sig)))
			act_in_pthread(sig, SI_USER);
	}
}

/* EV_POSIX_SIGNAL (vcore context): run the action if a pthread takes the signal, else keep it. */
static void handle_signal_event(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	(void)data;
	int sig = msg->ev_arg1;
	if (sig <= 0 || sig >= NSIG)
		return;
	if (atomic_read(&blockers[sig]) >= posix_live_pthreads())
		atomic_or(&pending, BIT(sig));
	else
		act(sig, SI_USER);
}

void posix_signals_init(void)
{
	register_ev_handler(EV_POSIX_SIGNAL, handle_signal_event, NULL);
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
	uint64_t mask = *posix_sigmask_of_self();
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
	set->__bits[0] = atomic_read(&pending);
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
	if (pid <= 0) {
		errno = ENOSYS; /* no process groups */
		return -1;
	}
	if (sig < 0 || sig >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (sig == SIGKILL)
		return (int)posix_ret(sys_proc_destroy(pid, SIGKILL));
	struct event_msg msg = { .ev_type = EV_POSIX_SIGNAL, .ev_arg1 = (uint16_t)sig };
	return (int)posix_ret(sys_notify(pid, EV_POSIX_SIGNAL, &msg, 0));
}

int raise(int sig)
{
	if (sig <= 0 || sig >= NSIG) {
		errno = EINVAL;
		return -1;
	}
	if (sig == SIGKILL)
		sys_proc_destroy(getpid(), SIGKILL);
	if (!in_vcore_context() && (*posix_sigmask_of_self() & BIT(sig)))
		atomic_or(&pending, BIT(sig)); /* until the caller unblocks it */
	else
		act_in_pthread(sig, SI_TKILL);
	return 0;
}
