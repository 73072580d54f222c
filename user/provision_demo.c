/* provision_demo: core provisioning between two many-core processes, step by step.
 *
 * The parent (an SCP on core 0) starts two copies of itself in child mode, B and A:
 *   1. B becomes an MCP and takes every vcore it may have (max_vcores), one spinning uthread
 *      on each vcore but vcore 0;
 *   2. the parent provisions pcores 2 and 3 (the last two) to A and runs it; A asks for two
 *      vcores and gets its provisioned cores: the ksched preempts B's vcores there;
 *   3. B reports what procinfo and its events say: fewer vcores, EV_VCORE_PREEMPT events; its
 *      2LS recovered the preempted vcores' uthreads (or, for a vcore preempted in vcore context,
 *      gave it its core) so every uthread still runs on the vcore left;
 *   4. A exits; B gets the cores back and its preempted vcores start again.
 * Each step waits for the previous one's event (SYS_notify), so the output is in a fixed
 * order.  Needs a machine with at least 4 cores and the mcp scheduler. */
#include "parlib/uthread.h"

enum { READY = 1, REPORT = 2, FINISH = 3 };

static volatile uint64_t last_code;
static volatile uint64_t nr_msgs;

static void on_user_ipi(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	(void)data;
	last_code = msg->ev_arg3;
	atomic_add(&nr_msgs, 1);
}

static void send(long pid, uint64_t code)
{
	struct event_msg msg = { .ev_type = EV_USER_IPI, .ev_arg3 = code };
	long r = sys_notify(pid, EV_USER_IPI, &msg, EVENT_IPI | EVENT_WAKEUP);
	if (r < 0)
		parlib_panic("notify %ld: %ld", pid, r);
}

/* Wait for the next message: an MCP is interrupted by the notification (its handler runs in
 * vcore context); an SCP polls its mailbox between short sleeps. */
static uint64_t wait_msg(uint64_t *seen)
{
	while (atomic_read(&nr_msgs) == *seen) {
		if (parlib_is_mcp) {
			cpu_relax();
		} else {
			handle_events(0);
			if (atomic_read(&nr_msgs) == *seen)
				sys_block(50);
		}
	}
	*seen = atomic_read(&nr_msgs);
	return last_code;
}

static void wait_for_vcores(uint32_t n)
{
	while (num_vcores() != n)
		cpu_relax();
}

static void print_vcores(const char *who)
{
	int pcores[MAX_VCORES];
	uint32_t max = max_vcores();
	uint32_t online = vcore_map_snapshot(pcores, max);
	char buf[256];
	int n = snprintf(buf, sizeof buf, "provision_demo: %s: %u vcore%s online:", who, online,
	                 online == 1 ? "" : "s");
	for (uint32_t v = 0; v < max; v++)
		if (pcores[v] >= 0)
			n += snprintf(buf + n, sizeof buf - n, " vcore %u on pcore %d,", v, pcores[v]);
	buf[n - 1] = '\0';
	puts(buf);
}

static volatile bool stop;

/* A spinning uthread that lets others run now and then: after a preemption its vcore's work is
 * recovered onto the vcores left (the 2LS's job), and there the uthreads take turns. */
static void *spinner(void *arg)
{
	volatile uint64_t *count = arg;
	while (!stop)
		if (++*count % 1024 == 0)
			uthread_sched_yield();
	return NULL;
}

static int child(const char *name)
{
	uint64_t seen = 0;
	long parent = procinfo()->ppid;
	register_ev_handler(EV_USER_IPI, on_user_ipi, NULL);
	if (uthread_mcp_init(NULL) < 0)
		parlib_panic("%s: change_to_m failed", name);
	fifo_set_idle(FIFO_IDLE_SPIN); /* keep the cores even when idle */
	char who[32];
	snprintf(who, sizeof who, "%s (pid %d)", name, getpid());

	if (!strcmp(name, "A")) {
		vcore_request_total(2);
		wait_for_vcores(2);
		print_vcores(who);
		send(parent, READY);
		while (wait_msg(&seen) != FINISH)
			;
		printf("provision_demo: %s: exiting\n", who);
		return 0;
	}

	/* B: every vcore, a spinning uthread on each but vcore 0 (main polls there) */
	uint32_t max = max_vcores();
	static uint64_t counts[MAX_VCORES];
	struct uthread *spinners[MAX_VCORES];
	for (uint32_t i = 1; i < max; i++)
		spinners[i] = uthread_create(spinner, &counts[i]);
	vcore_request_total(max);
	wait_for_vcores(max);
	print_vcores(who);
	send(parent, READY);

	while (wait_msg(&seen) != REPORT)
		;
	print_vcores(who);
	printf("provision_demo: %s: EV_VCORE_PREEMPT events: %lu\n", who, parlib_preempt_events);
	for (uint32_t v = 0; v < max; v++) {
		const volatile struct vcore_info *vi = &procinfo()->vcoremap[v];
		if (vi->nr_preempts_done)
			printf("provision_demo: %s: vcore %u preempted %u time(s)\n", who, v,
			       vi->nr_preempts_done);
	}
	send(parent, READY);

	while (wait_msg(&seen) != REPORT)
		;
	wait_for_vcores(max);
	print_vcores(who);
	uint64_t before[MAX_VCORES];
	for (uint32_t i = 1; i < max; i++)
		before[i] = counts[i];
	for (volatile int i = 0; i < 100000; i++)
		;
	uint32_t moving = 0;
	for (uint32_t i = 1; i < max; i++)
		moving += counts[i] != before[i];
	printf("provision_demo: %s: %u of %u spinning uthreads running on\n", who, moving, max - 1);
	stop = true;
	for (uint32_t i = 1; i < max; i++)
		uthread_join(spinners[i], NULL);
	return 0;
}

static long spawn(const char *self, const char *name)
{
	char *argv[] = { (char *)self, "child", (char *)name, NULL };
	char *envp[] = { NULL };
	long pid = sys_proc_create(self, strlen(self), argv, envp, 0);
	if (pid < 0)
		parlib_panic("proc_create %s: %ld", self, pid);
	return pid;
}

static void reap(long pid, const char *name)
{
	int status = 0;
	long r = sys_waitpid(pid, &status, 0);
	if (r != pid)
		parlib_panic("waitpid %ld: %ld", pid, r);
	printf("provision_demo: parent: %s exited with status %d\n", name,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "child"))
		return child(argv[2]);

	uint64_t seen = 0;
	uint32_t cores = (uint32_t)procinfo()->num_cores;
	if (cores < 4) {
		printf("provision_demo: needs 4 or more cores (this machine has %u)\n", cores);
		return 1;
	}
	register_ev_handler(EV_USER_IPI, on_user_ipi, NULL);
	printf("provision_demo: parent pid %d, %u cores\n", getpid(), cores);
	long b = spawn(argv[0], "B");
	long a = spawn(argv[0], "A");
	printf("provision_demo: parent: created B (pid %ld) and A (pid %ld)\n", b, a);

	sys_proc_run(b);
	wait_msg(&seen);

	long p1 = cores - 2, p2 = cores - 1;
	printf("provision_demo: parent: provisioning pcores %ld and %ld to A: %ld %ld\n", p1, p2,
	       sys_provision(a, RES_CORES, p1), sys_provision(a, RES_CORES, p2));
	printf("provision_demo: parent: provisioning pcore 0 fails: %ld, pcore %u: %ld\n",
	       sys_provision(a, RES_CORES, 0), cores, sys_provision(a, RES_CORES, cores));
	sys_proc_run(a);
	wait_msg(&seen);

	send(b, REPORT);
	wait_msg(&seen);

	send(a, FINISH);
	reap(a, "A");

	send(b, REPORT);
	reap(b, "B");
	return 0;
}
