/* pdr_check: preemption recovery in the 2LS, checked from inside an MCP whose vcore the kernel
 * preempts (a core provisioned to another process), one "PASSED name" / "FAILED name: why" line
 * each between BEGIN and END.  Needs the mcp ksched and 3 cores.
 *
 *   pdr_check lock    vcore 1's uthread holds a PDR lock for a long critical section; vcore 0's
 *                     uthread spins for the lock (notifications off).  Vcore 1 loses its core
 *                     mid-section: the waiter sees its holder preempted and gives it its core
 *                     (SYS_change_vcore), the holder finishes its section there and lets go,
 *                     then recovers vcore 0 in turn (EV_VCORE_PREEMPT, change_to_vcore), and
 *                     the waiter takes the lock.
 *   pdr_check steal   vcore 1's uthread is counting (notifications on) when vcore 1 loses its
 *                     core: vcore 0 takes that uthread over (handle_vc_preempt) and it finishes
 *                     there while vcore 1 is still down.
 *
 *   pdr_check plain   the same with a plain spinlock (notifications off while held, no preemption
 *                     detection): the waiter spins for ever on a lock whose holder has no core
 *                     (a run that never ends: the contrast)
 *
 * The parent (an SCP) starts P (the MCP checked) and Q (which is provisioned P's second core and
 * takes it); each step waits for the last one's event, so the output is always the same. */
#include "parlib/uthread.h"
#include "utest.h"

enum { READY = 1, GOT_CORE = 2, GO = 3, DONE = 4 };

static volatile uint64_t last_code, nr_msgs;

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
	if (sys_notify(pid, EV_USER_IPI, &msg, EVENT_IPI | EVENT_WAKEUP) < 0)
		parlib_panic("notify %ld failed", pid);
}

static uint64_t wait_msg(uint64_t *seen)
{
	while (atomic_read(&nr_msgs) == *seen) {
		if (parlib_is_mcp) {
			cpu_relax();
		} else {
			handle_events(0);
			if (atomic_read(&nr_msgs) == *seen)
				sys_block(20);
		}
	}
	*seen = atomic_read(&nr_msgs);
	return last_code;
}

/* --- P --------------------------------------------------------------------------------------- */

#define SECTION 5000000 /* iterations the holder spends holding the lock */

static struct spin_pdr_lock lock = SPIN_PDR_INITIALIZER;
static spinlock_t plain_lock = SPINLOCK_INITIALIZER;
static bool plain;

static void take(void)
{
	if (!plain) {
		spin_pdr_lock(&lock);
		return;
	}
	uth_disable_notifs();
	spin_lock(&plain_lock);
}

static void give(void)
{
	if (!plain) {
		spin_pdr_unlock(&lock);
		return;
	}
	spin_unlock(&plain_lock);
	uth_enable_notifs();
}
static volatile int holding, released, counted;
static volatile uint64_t section_done;
static volatile long holder_pcore_before, holder_pcore_after;
static volatile uint32_t counter_vcore_before, counter_vcore_after;

static void *holder(void *arg)
{
	(void)arg;
	take();
	holder_pcore_before = sys_getpcoreid();
	holding = 1;
	uint64_t i;
	for (i = 0; i < SECTION; i++) /* the kernel takes our core in here, the lock held */
		cmb();
	section_done = i;
	holder_pcore_after = sys_getpcoreid();
	released = 1;
	give();
	return NULL;
}

static void *counter(void *arg)
{
	(void)arg;
	counter_vcore_before = vcore_id();
	holding = 1;
	for (uint64_t i = 0; i < 3000000; i++)
		if (i == 1000000)
			atomic_set(&counted, 1);
	counter_vcore_after = vcore_id();
	return NULL;
}

static int p_lock(long parent, uint64_t *seen)
{
	struct uthread *h = uthread_create(holder, NULL);
	while (!atomic_read(&holding))
		cpu_relax();
	send(parent, READY);
	take(); /* the holder's vcore loses its core meanwhile: we give it ours */
	bool held = plain || lock.lock == vcore_id() + 1;
	uint32_t got_on = vcore_id();
	long got_pcore = sys_getpcoreid();
	give();
	check("the_holder_lost_its_core_holding_the_lock", holder_pcore_before == 2 &&
	      procinfo()->vcoremap[1].nr_preempts_done == 1, "on pcore %ld, %u preemptions",
	      holder_pcore_before, procinfo()->vcoremap[1].nr_preempts_done);
	check("the_waiter_saw_its_holder_preempted", parlib_pdr_recoveries == 1, "%lu recoveries",
	      (unsigned long)parlib_pdr_recoveries);
	check("the_holder_finished_its_section_on_the_waiters_core", released &&
	      section_done == SECTION && holder_pcore_after == 1, "released %d after %lu of %d, on pcore %ld",
	      released, (unsigned long)section_done, SECTION, holder_pcore_after);
	check("the_waiter_was_recovered_and_got_the_lock", held && got_on == 0 && got_pcore == 1 &&
	      parlib_vcore_changes == 2, "held %d, on vcore %u pcore %ld, %lu changes", held, got_on,
	      got_pcore, (unsigned long)parlib_vcore_changes);
	uthread_join(h, NULL);
	while (wait_msg(seen) != GO)
		;
	return 0;
}

static int p_steal(long parent, uint64_t *seen)
{
	struct uthread *c = uthread_create(counter, NULL);
	while (!atomic_read(&holding))
		cpu_relax();
	send(parent, READY);
	while (wait_msg(seen) != GO)
		;
	uint64_t t0 = read_tsc();
	while (!parlib_uthreads_stolen && read_tsc() - t0 < 100000000)
		cpu_relax();
	check("the_preempted_vcores_uthread_was_taken_over", parlib_uthreads_stolen == 1 &&
	      vcore_is_preempted(1), "%lu stolen, vcore 1 preempted %d",
	      (unsigned long)parlib_uthreads_stolen, vcore_is_preempted(1));
	uthread_join(c, NULL); /* it runs here, on vcore 0, while vcore 1 is down */
	check("it_finished_on_another_vcore", counter_vcore_before == 1 && counter_vcore_after == 0 &&
	      vcore_is_preempted(1), "vcore %u then %u", counter_vcore_before, counter_vcore_after);
	return 0;
}

static int child_p(const char *mode)
{
	uint64_t seen = 0;
	register_ev_handler(EV_USER_IPI, on_user_ipi, NULL);
	if (uthread_mcp_init(NULL) < 0)
		parlib_panic("P: change_to_m failed");
	fifo_set_idle(FIFO_IDLE_SPIN);
	vcore_request_total(2);
	while (num_vcores() != 2)
		cpu_relax();
	long parent = (long)procinfo()->ppid;
	plain = !strcmp(mode, "plain");
	int r = strcmp(mode, "steal") ? p_lock(parent, &seen) : p_steal(parent, &seen);
	send(parent, DONE);
	return r ? r : (utest_failures ? 1 : 0);
}

/* --- Q: provisioned P's second core, takes it --------------------------------------------------- */

static int child_q(void)
{
	uint64_t seen = 0;
	register_ev_handler(EV_USER_IPI, on_user_ipi, NULL);
	if (uthread_mcp_init(NULL) < 0)
		parlib_panic("Q: change_to_m failed");
	fifo_set_idle(FIFO_IDLE_SPIN);
	while (sys_getpcoreid() != 2)
		cpu_relax();
	send((long)procinfo()->ppid, GOT_CORE);
	while (wait_msg(&seen) != DONE)
		;
	return 0;
}

/* --- the parent ------------------------------------------------------------------------------ */

static long spawn(const char *self, const char *role, const char *mode)
{
	char *argv[] = { (char *)self, (char *)role, (char *)mode, NULL };
	char *envp[] = { NULL };
	long pid = sys_proc_create(self, strlen(self), argv, envp, 0);
	if (pid < 0)
		parlib_panic("proc_create: %ld", pid);
	return pid;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "P"))
		return child_p(argv[2]);
	if (argc > 1 && !strcmp(argv[1], "Q"))
		return child_q();
	const char *mode = argc > 1 ? argv[1] : "lock";
	if (strcmp(mode, "lock") && strcmp(mode, "steal") && strcmp(mode, "plain")) {
		dprintf(2, "usage: pdr_check [lock|steal|plain]\n");
		return 2;
	}
	if (procinfo()->num_cores != 3) {
		printf("pdr_check: needs exactly 3 cores (this machine has %lu)\n",
		       (unsigned long)procinfo()->num_cores);
		return 1;
	}
	uint64_t seen = 0;
	register_ev_handler(EV_USER_IPI, on_user_ipi, NULL);
	printf("BEGIN pdr_check\n");
	long p = spawn(argv[0], "P", mode), q = spawn(argv[0], "Q", mode);
	sys_proc_run(p);
	wait_msg(&seen); /* READY: P's vcore 1 is at work on pcore 2 */
	sys_provision(q, RES_CORES, 2);
	sys_proc_run(q);
	wait_msg(&seen); /* GOT_CORE: Q took pcore 2 from P */
	send(p, GO);
	wait_msg(&seen); /* DONE */
	send(q, DONE);
	int pstatus = -1, qstatus = -1;
	sys_waitpid(p, &pstatus, 0);
	sys_waitpid(q, &qstatus, 0);
	printf("END pdr_check\n");
	return WIFEXITED(pstatus) && WEXITSTATUS(pstatus) == 0 && WIFEXITED(qstatus) && !WEXITSTATUS(qstatus) ? 0 : 1;
}
