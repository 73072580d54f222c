/* event_wakeup: a many-core process that sleeps until an event wakes it.
 *
 * The parent (an SCP) starts a copy of itself in child mode.  The child becomes an MCP, and its
 * main uthread waits on a semaphore that an EV_USER_IPI handler ups.  With nothing to run, the
 * child's vcores yield their cores; the last yield leaves the process WAITING, holding no core.
 * A millisecond later (virtual time) the parent sends the event with EVENT_WAKEUP: the kernel
 * makes the child RUNNABLE_M and grants it a core, vcore 0 starts afresh at vcore_entry, the
 * handler runs and ups the semaphore, and the main uthread carries on. */
#include "parlib/uthread.h"

static uth_semaphore_t arrived = UTH_SEMAPHORE_INIT(0);
static volatile uint64_t message;

static void on_user_ipi(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	(void)data;
	message = msg->ev_arg3;
	uth_semaphore_up(&arrived);
}

static int child(void)
{
	register_ev_handler(EV_USER_IPI, on_user_ipi, NULL);
	if (uthread_mcp_init(NULL) < 0)
		parlib_panic("change_to_m failed");
	printf("event_wakeup: child pid %d is an MCP on pcore %ld; waiting for an event\n", getpid(),
	       sys_getpcoreid());
	uth_semaphore_down(&arrived);
	struct vcore_stats stats;
	vcore_stats(&stats);
	printf("event_wakeup: child woke with message %lu on vcore %u (pcore %ld), %lu vcore "
	       "entries so far\n", message, vcore_id(), sys_getpcoreid(), stats.entries);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "child"))
		return child();
	char *cargv[] = { argv[0], "child", NULL };
	char *envp[] = { NULL };
	long pid = sys_proc_create(argv[0], strlen(argv[0]), cargv, envp, 0);
	if (pid < 0 || sys_proc_run(pid) < 0) {
		printf("event_wakeup: cannot start the child: %ld\n", pid);
		return 1;
	}
	struct timespec ms = { 0, 1000000 };
	sys_nanosleep(&ms, NULL);
	struct event_msg msg = { .ev_type = EV_USER_IPI, .ev_arg3 = 42 };
	printf("event_wakeup: parent sends message 42\n");
	long r = sys_notify(pid, EV_USER_IPI, &msg, EVENT_IPI | EVENT_WAKEUP);
	int status = -1;
	sys_waitpid(pid, &status, 0);
	printf("event_wakeup: notify returned %ld, child exited with status %d\n", r, WEXITSTATUS(status));
	return 0;
}
