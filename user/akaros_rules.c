/* akaros_rules: the Akaros kernel's rules for many-core processes, checked from inside one.
 *
 * Runs under the mcp ksched on a 4-core machine and prints one line per rule, as Akaros's
 * utests do, between "BEGIN akaros_rules" and "END akaros_rules":
 *
 *   PASSED name
 *   FAILED name: why
 *
 * The process starts as an SCP (provisioning and syscall errors), becomes an MCP and drives
 * its own vcores through a small 2LS of its own: the main uthread stays on vcore 0, every other
 * vcore sits in vcore context serving commands (report your core, yield, yield with a
 * notification pending, watch for a preemption warning).  procdata.amt_wanted is written
 * directly, bypassing parlib's clamping, so the kernel's own rules are what is seen.  Children
 * (copies of this program) are a process that exits at once (a dead pid), an MCP that takes a
 * provisioned core away (a preemption in flight) and an MCP that waits for an event.
 *
 * Every wait is bounded in virtual time (rdtsc): a kernel that breaks a rule gives a FAILED
 * line, not a hang.  Exit status: 0 when everything passed, 1 otherwise.
 *
 *   akaros_rules              the checks
 *   akaros_rules spin N [tsc] an MCP whose main uthread counts to N (reading the clock each
 *                             time with tsc), then reports its vcore entries (for tests that
 *                             notify it from the kernel side) */
#include "parlib/uthread.h"

#define ESRCH 3
#define ENXIO 6
#define EBUSY 16
#define EINVAL 22
#define WNOHANG 1

/* arguments of the EV_USER_IPI events between this program and its children */
enum { MSG_READY = 1, MSG_NOWAKE = 2, MSG_WAKE = 3 };

/* virtual microseconds */
#define SETTLE_US 1000  /* long enough for a grant to reach its core (several rounds) */
#define LONG_US 20000   /* what a child process may take to start and finish */

static const char *self;
static uint64_t cycles_per_us;

static uint64_t deadline(uint64_t usec)
{
	return read_tsc() + usec * cycles_per_us;
}

static void poll_events(void);

/* Spin until cond holds or usec of virtual time have passed; cond's value at the end.  rdtsc
 * is emulated (a trap per read), so the clock is read only every 64 tries. */
#define WAIT_FOR(cond, usec)                                                                      \
	__extension__({                                                                           \
		uint64_t end_ = deadline(usec);                                                   \
		uint32_t tries_ = 0;                                                              \
		bool ok_;                                                                         \
		while (!(ok_ = (cond))) {                                                         \
			if (++tries_ % 64 == 0 && read_tsc() >= end_)                             \
				break;                                                            \
			poll_events();                                                            \
			cpu_relax();                                                              \
		}                                                                                 \
		ok_;                                                                              \
	})

/* --- reporting ------------------------------------------------------------------------------ */

static char why[240];
static int nr_failed;

__attribute__((format(printf, 1, 2))) static bool fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	return false;
}

static void report(const char *name, bool ok)
{
	if (ok) {
		printf("PASSED %s\n", name);
	} else {
		printf("FAILED %s: %s\n", name, why[0] ? why : "(no reason given)");
		nr_failed++;
	}
	why[0] = '\0';
}

/* --- procinfo and procdata ------------------------------------------------------------------ */

struct maps {
	uint64_t num_vcores;
	struct vcore_info vc[MAX_VCORES];
	struct pcore_info pc[MAX_VCORES];
};

/* A consistent copy of the maps: the kernel's sequence counter is odd while it updates them. */
static void snapshot(struct maps *m)
{
	for (;;) {
		uint64_t seq = procinfo()->coremap_seqctr;
		cmb();
		if (seq & 1) {
			cpu_relax();
			continue;
		}
		m->num_vcores = procinfo()->num_vcores;
		for (int i = 0; i < MAX_VCORES; i++) {
			m->vc[i] = procinfo()->vcoremap[i];
			m->pc[i] = procinfo()->pcoremap[i];
		}
		cmb();
		if (procinfo()->coremap_seqctr == seq)
			return;
	}
}

static char core0_why[240], maps_why[240];
static int maps_checked;

/* Rule: core 0 is never granted, and pcoremap says what vcoremap says.  Checked at every point
 * where the maps have settled; the first violation is kept for the report. */
static void check_maps(const char *when)
{
	struct maps m;
	snapshot(&m);
	maps_checked++;
	uint32_t ncores = (uint32_t)procinfo()->num_cores, valid = 0;
	for (uint32_t v = 0; v < MAX_VCORES; v++) {
		if (!m.vc[v].valid)
			continue;
		valid++;
		uint32_t p = m.vc[v].pcoreid;
		if (p == 0 && !core0_why[0])
			snprintf(core0_why, sizeof core0_why, "vcore %u holds pcore 0 (%s)", v, when);
		if (maps_why[0])
			continue;
		if (p >= ncores)
			snprintf(maps_why, sizeof maps_why, "vcore %u on pcore %u of %u (%s)", v, p, ncores,
			         when);
		else if (!m.pc[p].valid || m.pc[p].vcoreid != v)
			snprintf(maps_why, sizeof maps_why,
			         "vcoremap: vcore %u on pcore %u, pcoremap[%u]: valid %u vcore %u (%s)", v,
			         p, p, m.pc[p].valid, m.pc[p].vcoreid, when);
	}
	for (uint32_t p = 0; p < ncores && !maps_why[0]; p++) {
		if (!m.pc[p].valid)
			continue;
		uint32_t v = m.pc[p].vcoreid;
		if (p == 0 && !core0_why[0])
			snprintf(core0_why, sizeof core0_why, "pcoremap[0] names vcore %u (%s)", v, when);
		if (v >= MAX_VCORES || !m.vc[v].valid || m.vc[v].pcoreid != p)
			snprintf(maps_why, sizeof maps_why,
			         "pcoremap[%u]: vcore %u, vcoremap[%u]: valid %u pcore %u (%s)", p, v,
			         v % MAX_VCORES, m.vc[v % MAX_VCORES].valid, m.vc[v % MAX_VCORES].pcoreid,
			         when);
	}
	if (!maps_why[0] && valid != m.num_vcores)
		snprintf(maps_why, sizeof maps_why, "num_vcores %lu, %u vcores valid in vcoremap (%s)",
		         m.num_vcores, valid, when);
}

/* amt_wanted written directly (parlib's vcore_request_* would clamp it), then a poke. */
static void want(uint64_t n, bool poke)
{
	atomic_set(&procdata()->amt_wanted, n);
	if (poke)
		sys_poke_ksched(getpid(), RES_CORES);
}

/* Online vcores (num_vcores) once the count has stayed put for SETTLE_US. */
static uint32_t settled_vcores(void)
{
	uint32_t n = num_vcores();
	while (WAIT_FOR(num_vcores() != n, SETTLE_US))
		n = num_vcores();
	return n;
}

/* --- the 2LS: thread 0 on vcore 0, every other vcore serves commands in vcore context -------- */

enum cmd { C_REPORT = 1, C_YIELD, C_YIELD_NOTIF_PENDING, C_WATCH_PREEMPT };

struct vcore_cmd {
	volatile uint64_t seq;   /* bumped by the main thread to issue cmd */
	volatile uint64_t taken; /* the vcore started on command seq */
	volatile uint64_t done;  /* ... and finished it (a yield that worked never finishes) */
	volatile uint32_t cmd;
	volatile long ret;       /* what the system call returned */
	volatile long vcoreid, pcoreid, notified;
	volatile uint32_t online, notif_pending, preempt_seen, preempt_pending;
} __attribute__((aligned(64)));

static struct vcore_cmd cmds[MAX_VCORES];
static struct uthread *volatile runq; /* thread 0 when it is runnable and not running */
static struct uthread *volatile parked; /* thread 0 of a waiting child */

static void record_yield(struct vcore_cmd *c, uint32_t v, long r)
{
	c->ret = r;
	c->vcoreid = sys_getvcoreid();
	c->online = vcore_pcoreid(v) >= 0;
}

static void serve(uint32_t v)
{
	struct vcore_cmd *c = &cmds[v];
	uint64_t seq = atomic_read(&c->seq);
	if (seq == c->taken)
		return;
	atomic_set(&c->taken, seq);
	volatile struct preempt_data *vcpd = vcpd_of(v);
	switch (c->cmd) {
	case C_REPORT:
		c->vcoreid = sys_getvcoreid();
		c->pcoreid = sys_getpcoreid();
		break;
	case C_YIELD: /* not nice: the kernel refuses while amt_wanted >= num_vcores */
		c->notif_pending = vcpd->notif_pending;
		record_yield(c, v, sys_proc_yield(0));
		break;
	case C_YIELD_NOTIF_PENDING: { /* nice, but with an event of our own just posted */
		struct event_msg msg = { .ev_type = EV_EVENT, .ev_arg2 = 7 };
		c->notified = sys_self_notify(v, EV_EVENT, &msg, EVENT_IPI);
		c->notif_pending = vcpd->notif_pending;
		record_yield(c, v, sys_proc_yield(1));
		handle_events(v);
		break;
	}
	case C_WATCH_PREEMPT: /* nice, once the kernel has warned of a preemption */
		c->preempt_seen = WAIT_FOR(procinfo()->vcoremap[v].preempt_pending != 0, LONG_US);
		if (!c->preempt_seen)
			break;
		handle_events(v); /* the warning's event set notif_pending: not what is tested here */
		c->notif_pending = vcpd->notif_pending;
		record_yield(c, v, sys_proc_yield(1));
		c->preempt_pending = procinfo()->vcoremap[v].preempt_pending != 0;
		break;
	}
	atomic_set(&c->done, seq);
}

static uint64_t issue(uint32_t v, enum cmd cmd)
{
	struct vcore_cmd *c = &cmds[v];
	c->cmd = cmd;
	cmb();
	uint64_t seq = c->seq + 1;
	atomic_set(&c->seq, seq);
	return seq;
}

static bool finished(uint32_t v, uint64_t seq)
{
	return WAIT_FOR(atomic_read(&cmds[v].done) == seq, SETTLE_US * 10);
}

static void rules_sched_entry(void)
{
	if (current_uthread())
		run_current_uthread(); /* a notification interrupted it */
	uint32_t v = vcore_id();
	volatile struct preempt_data *vcpd = vcpd_of(v);
	for (;;) {
		if (v == 0) {
			struct uthread *uth = atomic_swap(&runq, NULL);
			if (uth)
				run_uthread(uth);
			if (atomic_read(&parked)) {
				/* a waiting child: give the last core back until the wake-up event */
				if (!handle_events(0) && !atomic_read(&runq))
					sys_proc_yield(1);
				continue;
			}
		}
		if (vcpd->notif_pending)
			handle_events(v);
		serve(v);
		cpu_relax();
	}
}

static void rules_thread_runnable(struct uthread *uth)
{
	atomic_set(&runq, uth);
}

static void rules_thread_blockon_sysc(struct uthread *uth, void *sysc)
{
	if (!register_evq(sysc, sysc_event_queue()))
		rules_thread_runnable(uth);
}

static void rules_thread_has_blocked(struct uthread *uth, int flags)
{
	(void)uth;
	(void)flags;
}

static void rules_thread_exited(struct uthread *uth)
{
	(void)uth;
}

/* The main thread takes its events by polling, with notifications off, so that the rules it
 * checks see each event exactly where it expects them.  Vcore context (the other vcores)
 * handles its own events. */
static void poll_events(void)
{
	if (!parlib_is_mcp || in_vcore_context())
		return;
	volatile struct preempt_data *vcpd = vcpd_of(vcore_id());
	if (vcpd->notif_pending)
		handle_events(vcore_id());
}

static bool rules_has_runnable(void)
{
	return atomic_read(&runq) != NULL;
}

static struct schedule_ops rules_ops = {
	.sched_entry = rules_sched_entry,
	.thread_runnable = rules_thread_runnable,
	.thread_paused = rules_thread_runnable,
	.thread_blockon_sysc = rules_thread_blockon_sysc,
	.thread_has_blocked = rules_thread_has_blocked,
	.thread_exited = rules_thread_exited,
	.has_runnable = rules_has_runnable,
};

/* --- events between the processes ----------------------------------------------------------- */

struct msg_seen {
	uint64_t arg;
	uint64_t entry; /* the vcore entry (vcore 0's count) that handled it */
};
static struct msg_seen msgs[8];
static volatile uint32_t nr_msgs, nr_ready;

static void on_user_ipi(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	(void)data;
	uint32_t n = nr_msgs;
	if (n < COUNT_OF(msgs))
		msgs[n] = (struct msg_seen){ msg->ev_arg3, vc_tls()->nr_entries };
	atomic_set(&nr_msgs, n + 1);
	if (msg->ev_arg3 == MSG_READY)
		atomic_add(&nr_ready, 1);
	if (msg->ev_arg3 == MSG_WAKE) {
		struct uthread *uth = atomic_swap(&parked, NULL);
		if (uth)
			uthread_runnable(uth);
	}
}

static long send_msg(long pid, uint64_t arg, int flags)
{
	struct event_msg msg = { .ev_type = EV_USER_IPI, .ev_arg3 = arg };
	return sys_notify(pid, EV_USER_IPI, &msg, flags);
}

static long spawn(const char *mode, const char *arg)
{
	char *argv[] = { (char *)self, "child", (char *)mode, (char *)arg, NULL };
	char *envp[] = { NULL };
	return sys_proc_create(self, strlen(self), argv, envp, 0);
}

/* Reap pid without blocking the vcore; its exit status, or -1 if it did not exit in time. */
static int reap(long pid, uint64_t usec)
{
	int status = 0;
	uint64_t end = deadline(usec);
	while (sys_waitpid(pid, &status, WNOHANG) != pid) {
		if (read_tsc() >= end)
			return -1;
		for (int i = 0; i < 1000; i++) {
			poll_events();
			cpu_relax();
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --- children ------------------------------------------------------------------------------- */

static void park(struct uthread *uth, void *arg)
{
	(void)arg;
	atomic_set(&parked, uth);
}

/* An MCP that gives back its last core and waits for its parent's events: MSG_NOWAKE (without
 * EVENT_WAKEUP) must leave it waiting, MSG_WAKE must bring it back, both then found in one
 * fresh vcore entry.  Exit status 0 when so. */
static int waiter(void)
{
	register_ev_handler(EV_USER_IPI, on_user_ipi, NULL);
	if (uthread_mcp_init(&rules_ops) < 0)
		return 20;
	if (send_msg(procinfo()->ppid, MSG_READY, EVENT_IPI) < 0)
		return 21;
	uthread_yield(true, park, NULL);
	/* back: the wake-up event's handler made thread 0 runnable again */
	if (nr_msgs != 2)
		return 22;
	if (msgs[0].arg != MSG_NOWAKE || msgs[1].arg != MSG_WAKE)
		return 23;
	if (msgs[0].entry != msgs[1].entry)
		return 24; /* the event without EVENT_WAKEUP started a vcore of its own */
	return 0;
}

/* An MCP with a provisioned core, which another MCP holds: the kernel must preempt it. */
static int preemptor(const char *pcore)
{
	uthread_lib_init(&rules_ops);
	/* Sleep first, so that change_to_m (which sends the holder the preemption warning) runs
	 * early in a round: the holder's core then has most of a quantum between the warning and
	 * the routine __preempt message, time for its vcore to try to yield. */
	sys_block(1);
	if (uthread_mcp_init(&rules_ops) < 0)
		return 30;
	return sys_getpcoreid() == atol(pcore) ? 0 : 31;
}

static int child(const char *mode, const char *arg)
{
	if (!strcmp(mode, "exit"))
		return 0;
	if (!strcmp(mode, "waiter"))
		return waiter();
	if (!strcmp(mode, "preemptor") && arg)
		return preemptor(arg);
	return 2;
}

/* --- the checks: a single-core process ------------------------------------------------------ */

static bool t_max_vcores(void)
{
	uint64_t max = procinfo()->max_vcores, cores = procinfo()->num_cores;
	if (max != cores - 1)
		return fail("max_vcores %lu on %lu cores (core 0 is the management core)", max, cores);
	return true;
}

static bool t_change_to_m_needs_vcore_entry(void)
{
	if (procdata()->vcore_entry)
		return fail("vcore_entry already set");
	long r = sys_change_to_m();
	if (r != -EINVAL)
		return fail("change_to_m without vcore_entry returned %ld, want %d", r, -EINVAL);
	if (procinfo()->is_mcp)
		return fail("is_mcp set after the refused change_to_m");
	return true;
}

static bool t_self_notify_bad_vcore(const char *what)
{
	uint64_t bad[] = { procinfo()->max_vcores, MAX_VCORES, 0xffffffffu, ~0ul };
	for (size_t i = 0; i < COUNT_OF(bad); i++) {
		long r = ros_syscall(SYS_self_notify, bad[i], EV_EVENT, 0, EVENT_IPI, 0, 0);
		if (r != -EINVAL)
			return fail("%s: self_notify(vcore %lu) returned %ld, want %d", what, bad[i], r,
			            -EINVAL);
	}
	return true;
}

static bool t_self_notify_in_range(void)
{
	long r = sys_self_notify(0, EV_EVENT, NULL, EVENT_IPI);
	int handled = handle_events(0);
	if (r != 0 || handled != 1)
		return fail("self_notify(vcore 0) returned %ld, %d event(s) in the mailbox", r, handled);
	return true;
}

static bool t_provision_out_of_range(void)
{
	long pid = getpid(), cores = (long)procinfo()->num_cores;
	long bad[] = { 99, cores, -1 };
	for (size_t i = 0; i < COUNT_OF(bad); i++) {
		long r = sys_provision(pid, RES_CORES, bad[i]);
		if (r != -ENXIO)
			return fail("provision(pcore %ld) returned %ld, want %d", bad[i], r, -ENXIO);
	}
	return true;
}

static bool t_provision_core0(void)
{
	long r = sys_provision(getpid(), RES_CORES, 0);
	if (r != -EBUSY)
		return fail("provision(pcore 0) returned %ld, want %d", r, -EBUSY);
	return true;
}

static bool t_provision_bad_resource(void)
{
	long r = sys_provision(getpid(), 7, 1);
	if (r != -EINVAL)
		return fail("provision(resource 7) returned %ld, want %d", r, -EINVAL);
	return true;
}

static bool t_provision_unknown_pid(void)
{
	long r = sys_provision(9999, RES_CORES, 1);
	if (r != -ESRCH)
		return fail("provision(pid 9999) returned %ld, want %d", r, -ESRCH);
	return true;
}

static bool t_provision_dead_pid(void)
{
	long pid = spawn("exit", NULL);
	if (pid < 0 || sys_proc_run(pid) < 0)
		return fail("cannot start a child: %ld", pid);
	sys_block(5000); /* it exits meanwhile: a zombie until waited for */
	long zombie = sys_provision(pid, RES_CORES, 1);
	int status = -1;
	long waited = sys_waitpid(pid, &status, 0);
	long gone = sys_provision(pid, RES_CORES, 1);
	if (waited != pid || WEXITSTATUS(status) != 0)
		return fail("waitpid(%ld) returned %ld, status %d", pid, waited, status);
	if (zombie != -ESRCH || gone != -ESRCH)
		return fail("provision of an exited pid returned %ld, after waitpid %ld; want %d", zombie,
		            gone, -ESRCH);
	return true;
}

static bool t_poke_bad_input(void)
{
	long unknown = sys_poke_ksched(9999, RES_CORES), resource = sys_poke_ksched(getpid(), 7);
	if (unknown != -ESRCH || resource != -EINVAL)
		return fail("poke_ksched(pid 9999) %ld (want %d), poke_ksched(resource 7) %ld (want %d)",
		            unknown, -ESRCH, resource, -EINVAL);
	return true;
}

/* --- the checks: a many-core process -------------------------------------------------------- */

static long prov_ret = 1, deprov_ret = 1, change_to_m_ret = 1;
static int pcore_of[MAX_VCORES]; /* vcore -> pcore, as the maps said last */

static void note_pcores(void)
{
	for (uint32_t v = 0; v < MAX_VCORES; v++)
		pcore_of[v] = vcore_pcoreid(v);
}

static bool t_change_to_m(void)
{
	if (change_to_m_ret != 0)
		return fail("change_to_m returned %ld", change_to_m_ret);
	if (!procinfo()->is_mcp || vcore_id() != 0 || in_vcore_context())
		return fail("is_mcp %lu, vcore %u, vcore context %d", procinfo()->is_mcp, vcore_id(),
		            in_vcore_context());
	return true;
}

static bool t_change_to_m_twice(void)
{
	long r = sys_change_to_m();
	if (r != -EINVAL)
		return fail("a second change_to_m returned %ld, want %d", r, -EINVAL);
	return true;
}

static bool t_wanted_0(void)
{
	/* amt_wanted was 0 at change_to_m, and we run: that counted as 1 */
	uint32_t n = settled_vcores();
	check_maps("amt_wanted 0");
	if (n != 1)
		return fail("amt_wanted 0 at change_to_m: %u vcores", n);
	want(0, true);
	n = settled_vcores();
	if (n != 1)
		return fail("amt_wanted 0 and a poke: %u vcores, want 1", n);
	return true;
}

static bool t_wanted_over_max(void)
{
	uint64_t values[] = { 99, ~0ul };
	for (size_t i = 0; i < COUNT_OF(values); i++) {
		want(values[i], true);
		uint32_t n = settled_vcores();
		check_maps("amt_wanted over the maximum");
		if (n != 1)
			return fail("amt_wanted %lu with max_vcores %lu: %u vcores, want 1 (Akaros's clamp)",
			            values[i], procinfo()->max_vcores, n);
	}
	return true;
}

static bool t_more_cores_than_exist(void)
{
	/* here at all: asking for 99 and 2^64-1 vcores did not bring the kernel down */
	want(1, true);
	if (sys_null() != 0 || settled_vcores() != 1)
		return fail("after asking for more vcores than cores: %u vcores", num_vcores());
	return true;
}

static bool t_wanted_minus_granted(void)
{
	want(2, true);
	uint32_t n = settled_vcores();
	check_maps("amt_wanted 2");
	if (n != 2) {
		note_pcores();
		return fail("amt_wanted 2 with 1 granted: %u vcores, want 2", n);
	}
	want(3, true);
	n = settled_vcores();
	check_maps("amt_wanted 3");
	note_pcores();
	if (n != 3)
		return fail("amt_wanted 3 with 2 granted: %u vcores, want 3", n);
	return true;
}

static bool t_fcfs_first_grants(void)
{
	if (pcore_of[0] != 1 || pcore_of[1] != 2 || pcore_of[2] != 3)
		return fail("vcores 0, 1, 2 on pcores %d, %d, %d; want 1, 2, 3", pcore_of[0], pcore_of[1],
		            pcore_of[2]);
	return true;
}

static bool t_deprovision(void)
{
	/* pcore 3 was provisioned to us and deprovisioned before change_to_m: had it stayed
	 * provisioned, our first core would have been pcore 3 */
	if (prov_ret != 0 || deprov_ret != 0)
		return fail("provision(self, pcore 3) %ld, provision(pid 0, pcore 3) %ld", prov_ret,
		            deprov_ret);
	if (pcore_of[0] != 1)
		return fail("the first core granted was pcore %d, want 1", pcore_of[0]);
	return true;
}

static bool t_getpcoreid(void)
{
	if (sys_getpcoreid() != pcore_of[0] || sys_getvcoreid() != 0)
		return fail("vcore 0: getpcoreid %ld, getvcoreid %ld, vcoremap pcore %d",
		            sys_getpcoreid(), sys_getvcoreid(), pcore_of[0]);
	for (uint32_t v = 1; v < 3; v++) {
		uint64_t seq = issue(v, C_REPORT);
		if (!finished(v, seq))
			return fail("vcore %u does not answer", v);
		if (cmds[v].pcoreid != pcore_of[v] || cmds[v].vcoreid != v)
			return fail("vcore %u: getpcoreid %ld, getvcoreid %ld, vcoremap pcore %d", v,
			            cmds[v].pcoreid, cmds[v].vcoreid, pcore_of[v]);
	}
	return true;
}

static bool t_yield_not_nice_refused(void)
{
	want(3, false);
	uint64_t seq = issue(2, C_YIELD);
	if (!finished(2, seq))
		return fail("vcore 2 yielded (not nice) with amt_wanted 3 and 3 vcores online");
	struct vcore_cmd *c = &cmds[2];
	if (c->notif_pending)
		return fail("a notification was pending: the refusal proves nothing");
	if (c->ret != 0 || !c->online || c->vcoreid != 2 || num_vcores() != 3)
		return fail("proc_yield returned %ld, online %u, vcore %ld, %u vcores", c->ret, c->online,
		            c->vcoreid, num_vcores());
	return true;
}

static bool t_yield_notif_pending(void)
{
	uint64_t seq = issue(2, C_YIELD_NOTIF_PENDING);
	if (!finished(2, seq))
		return fail("vcore 2 yielded (nice) with a notification pending");
	struct vcore_cmd *c = &cmds[2];
	if (c->notified != 0 || !c->notif_pending)
		return fail("self_notify returned %ld, notif_pending %u", c->notified, c->notif_pending);
	if (c->ret != 0 || !c->online || c->vcoreid != 2 || settled_vcores() != 3)
		return fail("proc_yield returned %ld, online %u, vcore %ld, %u vcores", c->ret, c->online,
		            c->vcoreid, num_vcores());
	return true;
}

static bool yield_vcore(uint32_t v, uint32_t online_after)
{
	uint64_t seq = issue(v, C_YIELD);
	bool gone = WAIT_FOR(vcore_pcoreid(v) < 0 && num_vcores() == online_after, SETTLE_US * 10);
	if (!gone)
		return fail("vcore %u did not yield (amt_wanted %lu, %u vcores, refused %d: %ld)", v,
		            procdata()->amt_wanted, num_vcores(), cmds[v].done == seq, cmds[v].ret);
	return true;
}

static bool mru_ok;
static int mru_freed_first = -1;

static bool t_mru_reuse(void)
{
	/* vcores 0, 1, 2 online; 2 yields, then 1; one more vcore must be vcore 1 */
	mru_freed_first = pcore_of[2];
	want(2, false);
	if (!yield_vcore(2, 2))
		return false;
	want(1, false);
	if (!yield_vcore(1, 1))
		return false;
	check_maps("vcores 2 and 1 yielded");
	want(2, true);
	uint32_t n = settled_vcores();
	check_maps("one vcore more");
	note_pcores();
	if (n != 2)
		return fail("amt_wanted 2 with 1 granted: %u vcores", n);
	if (pcore_of[1] < 0 || pcore_of[2] >= 0)
		return fail("vcore %s came back (vcore 1 yielded last)", pcore_of[2] >= 0 ? "2" : "?");
	mru_ok = true;
	return true;
}

static bool t_freed_to_tail(void)
{
	if (!mru_ok)
		return fail("needs mru_vcore_reused_first");
	/* pcores freed by vcore 2, then vcore 1, went to the idle list's tail in that order: the
	 * next grant takes the one freed first */
	if (pcore_of[1] != mru_freed_first)
		return fail("vcore 1 came back on pcore %d, want pcore %d (freed first)", pcore_of[1],
		            mru_freed_first);
	return true;
}

static bool preempt_ok;

static bool t_yield_preempt_pending(void)
{
	want(3, true);
	if (settled_vcores() != 3)
		return fail("%u vcores before the test, want 3", num_vcores());
	note_pcores();
	uint32_t victim = 1;
	long pcore = pcore_of[victim];
	uint64_t seq = issue(victim, C_WATCH_PREEMPT);
	if (!WAIT_FOR(cmds[victim].taken == seq, SETTLE_US))
		return fail("vcore %u does not answer", victim);
	char arg[24];
	snprintf(arg, sizeof arg, "%ld", pcore);
	long pid = spawn("preemptor", arg);
	if (pid < 0)
		return fail("cannot create a child: %ld", pid);
	long r = sys_provision(pid, RES_CORES, pcore);
	if (r != 0)
		return fail("provision(child, pcore %ld) returned %ld", pcore, r);
	sys_proc_run(pid);
	int status = reap(pid, LONG_US);
	bool answered = WAIT_FOR(cmds[victim].done == seq, SETTLE_US * 10);
	if (status != 0)
		return fail("the child with provisioned pcore %ld exited with %d (31: not on that core)",
		            pcore, status);
	struct vcore_cmd *c = &cmds[victim];
	if (!c->preempt_seen)
		return fail("vcore %u never saw preempt_pending before its core was taken", victim);
	if (!answered)
		return fail("vcore %u yielded its core while a preemption was pending", victim);
	if (c->notif_pending)
		return fail("a notification was pending: the refusal proves nothing");
	if (c->ret != 0 || !c->online || c->vcoreid != victim || !c->preempt_pending)
		return fail("proc_yield returned %ld, online %u, vcore %ld, preempt_pending %u", c->ret,
		            c->online, c->vcoreid, c->preempt_pending);
	preempt_ok = true;
	return true;
}

static bool t_preempted_resumes(void)
{
	if (!preempt_ok)
		return fail("needs yield_refused_while_preempt_pending");
	uint32_t victim = 1;
	if (!WAIT_FOR(num_vcores() == 3 && vcore_pcoreid(victim) >= 0, SETTLE_US * 10))
		return fail("%u vcores after the child exited, want 3", num_vcores());
	check_maps("the preempted vcore is back");
	volatile const struct vcore_info *vi = &procinfo()->vcoremap[victim];
	if (vi->nr_preempts_sent != 1 || vi->nr_preempts_done != 1 || vi->preempt_pending)
		return fail("vcore %u: preempts sent %u, done %u, pending %lu", victim,
		            vi->nr_preempts_sent, vi->nr_preempts_done, vi->preempt_pending);
	if (vcpd_of(victim)->flags & VC_PREEMPTED)
		return fail("VC_PREEMPTED still set on vcore %u", victim);
	/* it carries on where it stopped: back in its command loop */
	uint64_t seq = issue(victim, C_REPORT);
	if (!finished(victim, seq) || cmds[victim].pcoreid != vcore_pcoreid(victim))
		return fail("vcore %u does not answer after its preemption", victim);
	return true;
}

static int waiter_status = -1;
static long nowake_ret = 1, wake_ret = 1;
static char waiter_why[240];

static bool run_waiter(void)
{
	/* one core for the child: vcore 2 goes */
	want(2, false);
	if (!yield_vcore(2, 2))
		return false;
	check_maps("one core given back for the waiting child");
	long pid = spawn("waiter", NULL);
	if (pid < 0 || sys_proc_run(pid) < 0)
		return fail("cannot start the child: %ld", pid);
	if (!WAIT_FOR(atomic_read(&nr_ready) == 1, LONG_US))
		return fail("the child never said it was ready");
	WAIT_FOR(false, SETTLE_US); /* it yields its last vcore meanwhile */
	nowake_ret = send_msg(pid, MSG_NOWAKE, EVENT_IPI);
	WAIT_FOR(false, SETTLE_US);
	wake_ret = send_msg(pid, MSG_WAKE, EVENT_IPI | EVENT_WAKEUP);
	waiter_status = reap(pid, LONG_US);
	check_maps("after the waiting child");
	return true;
}

static bool t_event_without_wakeup(void)
{
	if (waiter_why[0])
		return fail("%s", waiter_why);
	if (nowake_ret != 0)
		return fail("notify without EVENT_WAKEUP returned %ld", nowake_ret);
	if (waiter_status == 24)
		return fail("the event without EVENT_WAKEUP woke the waiting MCP");
	if (waiter_status != 0)
		return fail("the child exited with %d", waiter_status);
	return true;
}

static bool t_event_wakeup(void)
{
	if (waiter_why[0])
		return fail("%s", waiter_why);
	if (wake_ret != 0)
		return fail("notify with EVENT_WAKEUP returned %ld", wake_ret);
	if (waiter_status == -1)
		return fail("the waiting MCP did not come back");
	if (waiter_status != 0 && waiter_status != 24)
		return fail("the child exited with %d (22/23: events lost or out of order)", waiter_status);
	return true;
}

static bool t_maps(void)
{
	if (maps_why[0])
		return fail("%s", maps_why);
	if (maps_checked < 8)
		return fail("checked only %d times", maps_checked);
	return true;
}

static bool t_core0(void)
{
	if (core0_why[0])
		return fail("%s", core0_why);
	return true;
}

/* An MCP whose main uthread counts to n (reading the clock each time with "tsc"), for tests
 * that notify it from the kernel side. */
static int spin(long n, bool tsc)
{
	if (uthread_mcp_init(&rules_ops) < 0)
		return 3;
	volatile long counter = 0;
	volatile uint64_t last = 0;
	for (long i = 0; i < n; i++) {
		counter++;
		if (tsc)
			last = read_tsc();
	}
	(void)last;
	struct vcore_stats stats;
	vcore_stats(&stats);
	printf("akaros_rules: counted %ld of %ld on vcore %u, vcore entries %lu, uthread contexts "
	       "saved %lu\n", counter, n, vcore_id(), stats.entries, stats.notified);
	return counter == n ? 0 : 1;
}

int main(int argc, char **argv)
{
	self = argv[0];
	cycles_per_us = procinfo()->tsc_freq / 1000000;
	if (cycles_per_us == 0)
		cycles_per_us = 1;
	if (argc > 2 && !strcmp(argv[1], "child"))
		return child(argv[2], argc > 3 ? argv[3] : NULL);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "spin"))
		return spin(atol(argv[2]), argc == 4 && !strcmp(argv[3], "tsc"));
	if (argc != 1) {
		dprintf(2, "usage: akaros_rules [spin N [tsc]]\n");
		return 2;
	}
	if (procinfo()->num_cores != 4) {
		printf("akaros_rules: needs exactly 4 cores (this machine has %lu)\n",
		       procinfo()->num_cores);
		return 1;
	}
	printf("BEGIN akaros_rules\n");

	/* an SCP */
	report("max_vcores_is_num_cores_minus_1", t_max_vcores());
	report("change_to_m_without_vcore_entry_einval", t_change_to_m_needs_vcore_entry());
	report("self_notify_in_range", t_self_notify_in_range());
	report("self_notify_bad_vcore_einval_scp", t_self_notify_bad_vcore("SCP"));
	report("provision_core_out_of_range_enxio", t_provision_out_of_range());
	report("provision_core_0_ebusy", t_provision_core0());
	report("provision_bad_resource_einval", t_provision_bad_resource());
	report("provision_unknown_pid_esrch", t_provision_unknown_pid());
	report("provision_dead_pid_esrch", t_provision_dead_pid());
	report("poke_ksched_bad_input", t_poke_bad_input());
	prov_ret = sys_provision(getpid(), RES_CORES, 3);
	deprov_ret = sys_provision(0, RES_CORES, 3);

	/* an MCP, amt_wanted 0 at change_to_m */
	register_ev_handler(EV_USER_IPI, on_user_ipi, NULL);
	uthread_lib_init(&rules_ops);
	want(0, false);
	change_to_m_ret = uthread_mcp_init(&rules_ops);
	if (change_to_m_ret == 0)
		uth_disable_notifs(); /* see poll_events */
	note_pcores();
	report("change_to_m", t_change_to_m());
	if (change_to_m_ret == 0) {
		report("change_to_m_twice_einval", t_change_to_m_twice());
		report("amt_wanted_0_counts_as_1", t_wanted_0());
		report("amt_wanted_over_max_counts_as_1", t_wanted_over_max());
		report("more_cores_than_exist_no_panic", t_more_cores_than_exist());
		report("cores_granted_amt_wanted_minus_granted", t_wanted_minus_granted());
		report("fcfs_first_grants_pcores_1_2_3", t_fcfs_first_grants());
		report("provision_pid0_deprovisions", t_deprovision());
		report("getpcoreid_matches_vcoremap", t_getpcoreid());
		report("self_notify_bad_vcore_einval_mcp", t_self_notify_bad_vcore("MCP"));
		report("yield_not_nice_refused_while_wanted", t_yield_not_nice_refused());
		report("yield_refused_while_notif_pending", t_yield_notif_pending());
		report("mru_vcore_reused_first", t_mru_reuse());
		report("fcfs_freed_cores_go_to_tail", t_freed_to_tail());
		report("yield_refused_while_preempt_pending", t_yield_preempt_pending());
		report("preempted_vcore_resumes", t_preempted_resumes());
		if (!run_waiter())
			snprintf(waiter_why, sizeof waiter_why, "%s", why);
		report("event_without_wakeup_leaves_mcp_waiting", t_event_without_wakeup());
		report("event_wakeup_restarts_waiting_mcp", t_event_wakeup());
		report("core0_never_granted", t_core0());
		report("pcoremap_matches_vcoremap", t_maps());
	}
	printf("END akaros_rules\n");
	return nr_failed ? 1 : 0;
}
