/* interference [THRESHOLD [CYCLES [VCORES]]] [scp] [hogs=N]: how much of a core's time is taken
 * away.
 *
 * On each of VCORES vcores (default 1) of an MCP, a uthread reads the time stamp counter back
 * to back for CYCLES virtual cycles (default 1000000).  Two reads THRESHOLD or more cycles
 * apart (default 200) mean something else ran in between: a gap, counted as interference.
 * Prints one line per vcore and a JSON line with the gap count, the stolen cycles and a
 * histogram of gap lengths (buckets THRESHOLD*2^k).  With "scp", or when the process cannot
 * become an MCP (a scheduler without many-core processes), it measures as an SCP on one core.
 * hogs=N first starts N copies of itself that spin as SCPs until the measurement is over: the
 * background load (they share core 0 with other SCPs under the mcp scheduler, any core under
 * rr). */
#include "parlib/uthread.h"

#define NR_BUCKETS 16
#define START_TIMEOUT 100000000 /* cycles to wait for the vcores to come online */

struct sample {
	uint32_t vcoreid;
	long pcore_start, pcore_end;
	uint64_t loops, gaps, stolen, max_gap, min_diff;
	uint64_t hist[NR_BUCKETS];
};

static uint64_t threshold = 200, duration = 1000000;
static uint32_t wanted = 1;

static int bucket(uint64_t gap)
{
	int b = 0;
	while (b < NR_BUCKETS - 1 && gap >= threshold << (b + 1))
		b++;
	return b;
}

static void measure(struct sample *s)
{
	s->vcoreid = vcore_id();
	s->pcore_start = sys_getpcoreid();
	s->min_diff = ~0UL;
	uint64_t prev = read_tsc();
	uint64_t end = prev + duration;
	while (prev < end) {
		uint64_t now = read_tsc();
		uint64_t diff = now - prev;
		s->loops++;
		if (diff >= threshold) {
			s->gaps++;
			s->stolen += diff;
			s->hist[bucket(diff)]++;
			if (diff > s->max_gap)
				s->max_gap = diff;
		} else if (diff < s->min_diff) {
			s->min_diff = diff;
		}
		prev = now;
	}
	s->pcore_end = sys_getpcoreid();
}

static bool scp;

static void *worker(void *arg)
{
	/* start together: wait (a bounded time) for every vcore asked for; rdtsc may be costly
	 * to emulate, so look at the clock only now and then */
	uint64_t give_up = read_tsc() + START_TIMEOUT;
	for (long i = 0; !scp && num_vcores() < wanted; i++) {
		cpu_relax();
		if (i % 1024 == 0 && read_tsc() > give_up)
			break;
	}
	measure(arg);
	return NULL;
}

static int usage(void)
{
	dprintf(2, "usage: interference [THRESHOLD>=1 [CYCLES>=1 [VCORES 1..64]]] [scp] [hogs=0..16]\n");
	return 2;
}

static long hogs[16];
static int nr_hogs;

static void start_hogs(const char *self)
{
	char *argv[] = { (char *)self, "hog", NULL };
	char *envp[] = { NULL };
	for (int i = 0; i < nr_hogs; i++) {
		hogs[i] = sys_proc_create(self, strlen(self), argv, envp, 0);
		if (hogs[i] < 0 || sys_proc_run(hogs[i]) < 0)
			parlib_panic("cannot start background process %d: %ld", i, hogs[i]);
	}
}

static void stop_hogs(void)
{
	for (int i = 0; i < nr_hogs; i++) {
		int status;
		sys_proc_destroy(hogs[i], 0);
		sys_waitpid(hogs[i], &status, 0);
	}
}

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "hog"))
		for (volatile uint64_t x = 0;; x++)
			;
	int position = 0;
	for (int i = 1; i < argc; i++) {
		char *end;
		if (!strcmp(argv[i], "scp")) {
			scp = true;
			continue;
		}
		if (!strncmp(argv[i], "hogs=", 5)) {
			nr_hogs = (int)strtol(argv[i] + 5, &end, 10);
			if (*end || end == argv[i] + 5)
				return usage();
			continue;
		}
		unsigned long value = strtoul(argv[i], &end, 0);
		if (*end || end == argv[i] || position == 3)
			return usage();
		if (position == 0)
			threshold = value;
		else if (position == 1)
			duration = value;
		else
			wanted = (uint32_t)value;
		position++;
	}
	if (threshold < 1 || duration < 1 || wanted < 1 || wanted > MAX_VCORES || nr_hogs < 0 ||
	    nr_hogs > 16)
		return usage();
	start_hogs(argv[0]);
	if (!scp && uthread_mcp_init(NULL) < 0)
		scp = true;
	if (scp) {
		wanted = 1;
		uthread_lib_init(NULL);
	} else {
		if (wanted > max_vcores())
			wanted = max_vcores();
		/* idle vcores spin rather than yield: the process keeps its cores between threads */
		fifo_set_idle(FIFO_IDLE_SPIN);
	}

	struct sample *samples = calloc(wanted, sizeof *samples);
	struct uthread **threads = calloc(wanted, sizeof *threads);
	if (!samples || !threads)
		return 1;
	for (uint32_t i = 1; i < wanted; i++)
		threads[i] = uthread_create(worker, &samples[i]);
	if (!scp)
		vcore_request_total(wanted);
	worker(&samples[0]);
	for (uint32_t i = 1; i < wanted; i++)
		uthread_join(threads[i], NULL);
	stop_hogs();

	uint64_t gaps = 0, stolen = 0, loops = 0, max_gap = 0, hist[NR_BUCKETS] = { 0 };
	for (uint32_t i = 0; i < wanted; i++) {
		struct sample *s = &samples[i];
		printf("interference: vcore %u pcore %ld: %lu reads, %lu gaps, %lu cycles stolen, "
		       "max gap %lu, shortest read-to-read %lu\n",
		       s->vcoreid, s->pcore_start, s->loops, s->gaps, s->stolen, s->max_gap,
		       s->min_diff == ~0UL ? 0 : s->min_diff);
		gaps += s->gaps;
		stolen += s->stolen;
		loops += s->loops;
		max_gap = MAX(max_gap, s->max_gap);
		for (int b = 0; b < NR_BUCKETS; b++)
			hist[b] += s->hist[b];
	}
	char buf[4096];
	int n = snprintf(buf, sizeof buf,
	                 "{\"program\": \"interference\", \"mode\": \"%s\", \"vcores\": %u, "
	                 "\"hogs\": %d, \"threshold\": %lu, \"cycles\": %lu, \"reads\": %lu, "
	                 "\"gaps\": %lu, \"stolen_cycles\": %lu, \"max_gap\": %lu, \"histogram\": {",
	                 scp ? "scp" : "mcp", wanted, nr_hogs, threshold, duration, loops, gaps, stolen,
	                 max_gap);
	bool first = true;
	for (int b = 0; b < NR_BUCKETS; b++) {
		if (!hist[b])
			continue;
		n += snprintf(buf + n, sizeof buf - n, "%s\"%lu\": %lu", first ? "" : ", ",
		              threshold << b, hist[b]);
		first = false;
	}
	n += snprintf(buf + n, sizeof buf - n, "}, \"per_vcore\": [");
	for (uint32_t i = 0; i < wanted; i++)
		n += snprintf(buf + n, sizeof buf - n,
		              "%s{\"vcore\": %u, \"pcore\": %ld, \"gaps\": %lu, \"stolen_cycles\": %lu}",
		              i ? ", " : "", samples[i].vcoreid, samples[i].pcore_start, samples[i].gaps,
		              samples[i].stolen);
	snprintf(buf + n, sizeof buf - n, "]}");
	puts(buf);
	return 0;
}
