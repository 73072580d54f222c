/* Asynchronous system calls: a uthread's blocking call submitted as a struct syscall; if the
 * kernel cannot finish it at once the uthread blocks in the 2LS and the vcore goes on. */
#include "alarm.h"
#include "uthread.h"

volatile uint64_t parlib_async_blocked;
static struct event_queue *sysc_evq;

/* EV_SYSCALL: the call (ev_arg3) finished; the uthread waiting for it may run. */
static void restart_blocked(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	(void)data;
	struct syscall *sysc = (struct syscall *)msg->ev_arg3;
	if (sysc && alarm_timer_done(sysc))
		return;
	if (sysc && sysc->u_data)
		uthread_runnable(sysc->u_data);
}

void sysc_lib_init(void)
{
	if (sysc_evq)
		return;
	/* to a vcore that will run (waking the process if it waits with no core) */
	sysc_evq = get_eventq_vcpd(0, EVENT_SPAM_PUBLIC | EVENT_IPI | EVENT_WAKEUP);
	register_ev_handler(EV_SYSCALL, restart_blocked, NULL);
}

struct event_queue *sysc_event_queue(void)
{
	return sysc_evq;
}

bool register_evq(struct syscall *sysc, struct event_queue *ev_q)
{
	sysc->ev_q = ev_q;
	cmb();
	for (;;) {
		uint64_t old = atomic_read(&sysc->flags);
		if (old & SC_DONE)
			return false;
		if (atomic_cas(&sysc->flags, old, old | SC_UEVENT))
			return true;
	}
}

static void blockon(struct uthread *uth, void *arg)
{
	struct syscall *sysc = arg;
	sysc->u_data = uth;
	sched_ops->thread_blockon_sysc(uth, sysc);
}

/* uthread_interrupt or uthread_poke may abort sysc from now until unpublish (or aborts it here: it came
 * before). */
static void publish_abortable(struct uthread *uth, struct syscall *sysc)
{
	uth_disable_notifs();
	spin_lock(&uth->wait_lock);
	if (uth->interrupted || uth->poked)
		sys_abort_sysc(sysc);
	else
		uth->abortable_sysc = sysc;
	spin_unlock(&uth->wait_lock);
	uth_enable_notifs();
}

static void unpublish_abortable(struct uthread *uth)
{
	uth_disable_notifs();
	spin_lock(&uth->wait_lock);
	uth->abortable_sysc = NULL;
	spin_unlock(&uth->wait_lock);
	uth_enable_notifs();
}

static long blocking(bool abortable, long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	struct uthread *uth = current_uthread();
	if (!parlib_is_mcp || !uth || in_vcore_context() || !sysc_evq || uth->notif_depth)
		return ros_syscall6(nr, a0, a1, a2, a3, a4, a5);
	if (abortable && (uth->interrupted || uth->poked))
		return -EINTR;
	/* on the uthread's stack, which stays as it is while the uthread waits */
	struct syscall sysc = {
		.num = (uint32_t)nr, .arg0 = a0, .arg1 = a1, .arg2 = a2, .arg3 = a3, .arg4 = a4, .arg5 = a5,
	};
	ros_submit(&sysc, 1);
	if (!(atomic_read(&sysc.flags) & SC_DONE)) {
		atomic_add(&parlib_async_blocked, 1);
		if (abortable)
			publish_abortable(uth, &sysc);
		uthread_yield(true, blockon, &sysc);
		if (abortable)
			unpublish_abortable(uth);
	}
	return sysc.retval;
}

long ros_syscall_blocking(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	return blocking(false, nr, a0, a1, a2, a3, a4, a5);
}

long ros_syscall_interruptible(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	return blocking(true, nr, a0, a1, a2, a3, a4, a5);
}
