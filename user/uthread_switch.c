/* uthread_switch [ROUNDS]: two uthreads ping-pong on one vcore of an MCP.
 *
 * Thread A yields ROUNDS times (default 10000); thread B yields back each time, so A's loop is
 * 2*ROUNDS switches, each a user-level context switch through the FIFO 2LS with no kernel
 * entry.  Prints the switch count and virtual cycles (rdtsc) per switch, then a JSON line. */
#include "parlib/uthread.h"

static long rounds;
static volatile bool b_started, a_done;
static uint64_t t_start, t_end;

static void *thread_a(void *arg)
{
	(void)arg;
	while (!b_started)
		uthread_sched_yield();
	t_start = read_tsc();
	for (long i = 0; i < rounds; i++)
		uthread_sched_yield();
	t_end = read_tsc();
	a_done = true;
	return NULL;
}

static void *thread_b(void *arg)
{
	(void)arg;
	b_started = true;
	while (!a_done)
		uthread_sched_yield();
	return NULL;
}

/* value/div with two decimals, as "I.FF", without floating point */
static void fixed2(char *buf, size_t size, uint64_t value, uint64_t div)
{
	uint64_t hundredths = div ? (value * 100 + div / 2) / div : 0;
	snprintf(buf, size, "%lu.%02lu", hundredths / 100, hundredths % 100);
}

int main(int argc, char **argv)
{
	rounds = argc > 1 ? atol(argv[1]) : 10000;
	if (rounds < 1) {
		dprintf(2, "usage: uthread_switch [ROUNDS>=1]\n");
		return 2;
	}
	int r = uthread_mcp_init(NULL);
	if (r < 0) {
		printf("uthread_switch: change_to_m failed: %d\n", r);
		return 1;
	}
	struct uthread *a = uthread_create(thread_a, NULL);
	struct uthread *b = uthread_create(thread_b, NULL);
	if (!a || !b)
		return 1;
	uthread_join(a, NULL);
	uthread_join(b, NULL);

	uint64_t switches = 2 * (uint64_t)rounds;
	uint64_t cycles = t_end - t_start;
	uint64_t freq = procinfo()->tsc_freq;
	char per_switch[32], ns[32];
	fixed2(per_switch, sizeof per_switch, cycles, switches);
	fixed2(ns, sizeof ns, freq ? (uint64_t)((unsigned __int128)cycles * 1000000000 / freq) : 0, switches);
	printf("uthread_switch: %lu switches on vcore %u (pcore %ld), %u vcore(s) online\n", switches,
	       vcore_id(), sys_getpcoreid(), num_vcores());
	printf("uthread_switch: %lu virtual cycles, %s cycles per switch\n", cycles, per_switch);
	printf("{\"program\": \"uthread_switch\", \"switches\": %lu, \"cycles\": %lu, "
	       "\"cycles_per_switch\": %s, \"ns_per_switch\": %s, \"tsc_freq\": %lu}\n",
	       switches, cycles, per_switch, ns, freq);
	return 0;
}
