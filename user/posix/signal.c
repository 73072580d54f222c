/* Signals as Akaros gives them to a many-core process: the kernel delivers none itself.  kill
 * sends the target an EV_POSIX_SIGNAL event (SYS_notify, the number in ev_arg1), and SIGKILL
 * destroys it (SYS_proc_destroy); the target's event handler runs the signal's action in vcore
 * context (so a handler must not block), as Akaros's parlib does for process-wide signals.  The
 * default actions are Akaros's: terminating signals end the process with the signal number as
 * its exit status, core-dumping ones with 128 plus the number, SIGCHLD, SIGURG, SIGWINCH and
 * SIGCONT are ignored.  raise runs the action at once in the caller, as Linux does. */
#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include "parlib/uthread.h"
#include "posix.h"

#define NSIG 65

static volatile sighandler_t handlers[NSIG];

static bool ignored_by_default(int sig)
{
	return sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT;
}

static bool dumps_core(int sig)
{
	return sig == SIGQUIT || sig == SIGILL || sig == SIGABRT || sig == SIGFPE || sig == SIGSEGV ||
	       sig == SIGBUS || sig == SIGTRAP || sig == SIGSYS;
}

static void act(int sig)
{
	if (sig <= 0 || sig >= NSIG)
		return;
	sighandler_t handler = handlers[sig];
	if (handler == SIG_IGN || (handler == SIG_DFL && ignored_by_default(sig)))
		return;
	if (handler == SIG_DFL)
		sys_proc_destroy(getpid(), dumps_core(sig) ? 128 + sig : sig);
	handler(sig);
}

static void handle_signal_event(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	(void)data;
	act(msg->ev_arg1);
}

void posix_signals_init(void)
{
	register_ev_handler(EV_POSIX_SIGNAL, handle_signal_event, NULL);
}

sighandler_t signal(int sig, sighandler_t handler)
{
	if (sig <= 0 || sig >= NSIG || sig == SIGKILL || sig == SIGSTOP) {
		errno = EINVAL;
		return SIG_ERR;
	}
	sighandler_t old = handlers[sig];
	handlers[sig] = handler;
	return old;
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
	act(sig);
	return 0;
}
