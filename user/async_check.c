/* async_check: asynchronous system calls (struct syscall, SYS_submit), checked from inside an
 * MCP, one "PASSED name" / "FAILED name: why" line each between BEGIN and END, then a JSON line.
 *
 * The main point: a uthread blocked in a system call does not block its vcore.  On one vcore
 * (the FIFO 2LS holding its core), uthread A sleeps 2 ms in sys_block while uthread B counts for
 * about 1 ms of virtual time: B must finish while A still sleeps, and the whole takes about
 * 2 ms of virtual time, not 3.  Needs the mcp ksched (2 or more cores).
 *
 *   async_check          the checks
 *   async_check sync     the sleeper uses a plain (register) system call instead, which blocks
 *                        its vcore: the checks about the vcore then fail, as they should */
#include "parlib/uthread.h"
#include "utest.h"

#define SLEEP_US 2000
#define WORK_CYCLES 1000000

static uint64_t cycles_per_us;
static bool sync_sleep;
static volatile uint64_t a_start, a_end, b_start, b_end, b_loops;
static volatile uint32_t a_vcore, b_vcore;

static void *sleeper(void *arg)
{
	(void)arg;
	a_vcore = vcore_id();
	a_start = read_tsc();
	if (sync_sleep)
		ros_syscall(SYS_block, SLEEP_US, 0, 0, 0, 0, 0);
	else
		sys_block(SLEEP_US);
	a_end = read_tsc();
	return NULL;
}

static void *worker(void *arg)
{
	(void)arg;
	b_vcore = vcore_id();
	b_start = read_tsc();
	uint64_t loops = 0;
	while (read_tsc() - b_start < WORK_CYCLES)
		loops++;
	b_loops = loops;
	b_end = read_tsc();
	return NULL;
}

/* One struct syscall submitted by hand: flags and results as the kernel leaves them. */
static void raw_submissions(void)
{
	struct syscall sysc = { .num = SYS_block, .arg0 = 300 };
	long finished = ros_submit(&sysc, 1);
	check("a_blocking_call_returns_not_done", finished == 0 && !(sysc.flags & SC_DONE),
	      "submit returned %ld, flags %#lx", finished, (unsigned long)sysc.flags);
	uint64_t t0 = read_tsc();
	while (!(atomic_read(&sysc.flags) & SC_DONE))
		cpu_relax();
	uint64_t waited = read_tsc() - t0;
	check("the_kernel_finishes_it_later", sysc.retval == 0 && sysc.err == 0 &&
	      waited >= 250 * cycles_per_us, "retval %ld err %d after %lu us", (long)sysc.retval,
	      sysc.err, (unsigned long)(waited / cycles_per_us));
	check("sc_progress_is_set_for_a_call_that_waited", (sysc.flags & SC_PROGRESS) != 0,
	      "flags %#lx", (unsigned long)sysc.flags);

	struct syscall two[2] = {
		{ .num = SYS_getpid },
		{ .num = SYS_close, .arg0 = 999 },
	};
	finished = ros_submit(two, 2);
	check("a_batch_of_quick_calls_is_done_at_once",
	      finished == 2 && (two[0].flags & SC_DONE) && two[0].retval == getpid() &&
	      (two[1].flags & SC_DONE), "finished %ld, getpid %ld", finished, (long)two[0].retval);
	check("an_error_sets_retval_and_err", two[1].retval == -EBADF && two[1].err == EBADF &&
	      !(two[1].flags & SC_PROGRESS), "retval %ld err %d", (long)two[1].retval, two[1].err);
	long bad = ros_submit((struct syscall *)8, 1);
	check("a_bad_struct_syscall_is_efault", bad == -EFAULT, "submit returned %ld", bad);
}

int main(int argc, char **argv)
{
	sync_sleep = argc > 1 && !strcmp(argv[1], "sync");
	cycles_per_us = procinfo()->tsc_freq / 1000000;
	printf("BEGIN async_check\n");
	if (uthread_mcp_init(NULL) < 0) {
		printf("async_check: needs the mcp ksched\nEND async_check\n");
		return 1;
	}
	fifo_set_idle(FIFO_IDLE_SPIN); /* one vcore, kept: blocking must not cost it */
	raw_submissions();

	uint64_t start = read_tsc();
	struct uthread *a = uthread_create(sleeper, NULL);
	struct uthread *b = uthread_create(worker, NULL);
	uthread_join(a, NULL);
	uthread_join(b, NULL);
	uint64_t elapsed = read_tsc() - start;

	check("the_sleeper_slept", a_end - a_start >= SLEEP_US * cycles_per_us,
	      "it slept %lu us", (unsigned long)((a_end - a_start) / cycles_per_us));
	check("one_vcore_all_along", num_vcores() == 1 && a_vcore == 0 && b_vcore == 0,
	      "%u vcores, A on %u, B on %u", num_vcores(), a_vcore, b_vcore);
	check("the_other_uthread_ran_while_it_slept", b_start > a_start && b_end < a_end,
	      "B ran %lu..%lu us, A slept %lu..%lu us", (unsigned long)((b_start - start) / cycles_per_us),
	      (unsigned long)((b_end - start) / cycles_per_us), (unsigned long)((a_start - start) / cycles_per_us),
	      (unsigned long)((a_end - start) / cycles_per_us));
	check("the_blocked_uthread_did_not_hold_the_vcore",
	      elapsed < (SLEEP_US + 500) * cycles_per_us,
	      "the two took %lu us: the vcore waited for the call", (unsigned long)(elapsed / cycles_per_us));
	check("the_call_went_the_asynchronous_way", parlib_async_blocked >= 1, "%lu blocked calls",
	      (unsigned long)parlib_async_blocked);
	printf("END async_check\n");
	printf("{\"program\": \"async_check\", \"sleep_us\": %d, \"work_cycles\": %d, \"elapsed_cycles\": %lu, "
	       "\"sleeper_cycles\": %lu, \"worker_loops\": %lu, \"worker_done_before_wakeup_cycles\": %lu, "
	       "\"async_blocked\": %lu}\n", SLEEP_US, WORK_CYCLES, (unsigned long)elapsed,
	       (unsigned long)(a_end - a_start), (unsigned long)b_loops, (unsigned long)(a_end - b_end),
	       (unsigned long)parlib_async_blocked);
	return utest_failures ? 1 : 0;
}
