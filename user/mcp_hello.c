/* mcp_hello [VCORES [UTHREADS [detach]]]: an SCP that becomes a many-core process.
 *
 * Prints its pid as an SCP, calls SYS_change_to_m (the main thread comes back as a uthread on
 * vcore 0), asks for VCORES vcores (default 3), runs UTHREADS uthreads (default 6) on the FIFO
 * 2LS -- each busy for a while, then reporting the vcore and pcore it ran on -- joins them and
 * exits 0.  With "detach" the uthreads are detached and the main thread leaves with
 * uthread_exit: the last uthread to finish ends the process. */
#include "parlib/uthread.h"

#define WORK 200000 /* iterations each uthread computes before reporting */

struct report {
	int index;
	uint32_t vcoreid;
	long pcoreid;
	uint64_t result;
};

static void *worker(void *arg)
{
	struct report *r = arg;
	volatile uint64_t x = r->index;
	for (long i = 0; i < WORK; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	r->result = x;
	r->vcoreid = vcore_id(); /* from the vcore's TLS block, no kernel entry */
	r->pcoreid = sys_getpcoreid();
	long kernel_says = sys_getvcoreid();
	if (kernel_says != (long)r->vcoreid)
		printf("mcp_hello: uthread %d: TLS says vcore %u, the kernel %ld\n", r->index, r->vcoreid,
		       kernel_says);
	printf("mcp_hello: uthread %d ran on vcore %u (pcore %ld)\n", r->index, r->vcoreid, r->pcoreid);
	return r;
}

int main(int argc, char **argv)
{
	int nr_vcores = argc > 1 ? atoi(argv[1]) : 3;
	int nr_threads = argc > 2 ? atoi(argv[2]) : 6;
	bool detach = argc > 3 && !strcmp(argv[3], "detach");
	if (nr_vcores < 1 || nr_threads < 1 || nr_threads > 1000 || (argc > 3 && !detach) || argc > 4) {
		dprintf(2, "usage: mcp_hello [VCORES>=1 [UTHREADS 1..1000 [detach]]]\n");
		return 2;
	}
	printf("mcp_hello: SCP pid %d on pcore %ld, max_vcores %u\n", getpid(), sys_getpcoreid(),
	       max_vcores());
	int r = uthread_mcp_init(NULL);
	if (r < 0) {
		printf("mcp_hello: change_to_m failed: %d\n", r);
		return 1;
	}
	printf("mcp_hello: MCP now, main thread on vcore %u (pcore %ld), is_mcp %d\n", vcore_id(),
	       sys_getpcoreid(), (int)procinfo()->is_mcp);

	struct report *reports = calloc(nr_threads, sizeof *reports);
	struct uthread **threads = calloc(nr_threads, sizeof *threads);
	if (!reports || !threads)
		return 1;
	for (int i = 0; i < nr_threads; i++) {
		reports[i].index = i;
		threads[i] = uthread_create(worker, &reports[i]);
		if (!threads[i]) {
			printf("mcp_hello: uthread_create failed\n");
			return 1;
		}
	}
	vcore_request_total(nr_vcores);
	printf("mcp_hello: asked for %u vcores\n", vcore_wanted());
	if (detach) {
		for (int i = 0; i < nr_threads; i++)
			uthread_detach(threads[i]);
		printf("mcp_hello: main thread leaves; the last uthread ends the process\n");
		uthread_exit(NULL);
	}

	uint64_t seen = 0; /* bit per vcore */
	for (int i = 0; i < nr_threads; i++) {
		void *ret;
		uthread_join(threads[i], &ret);
		if (ret != &reports[i])
			printf("mcp_hello: uthread %d returned %p, expected %p\n", i, ret, (void *)&reports[i]);
		seen |= 1UL << (reports[i].vcoreid % 64);
	}
	printf("mcp_hello: joined %d uthreads; they ran on %d distinct vcores\n", nr_threads,
	       __builtin_popcountl(seen));
	return 0;
}
