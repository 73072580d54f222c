/* ftq [QUANTUM [QUANTA [scp]]]: the fixed time quantum (FTQ) noise benchmark.
 *
 * Time is cut into QUANTA quanta of QUANTUM virtual cycles each (defaults 50,000 and 2,000);
 * in each the program counts how many fixed units of work (a short arithmetic loop) it completes
 * before the quantum ends.  A quantum in which the kernel took the core for a while (a tick, a
 * switch to another thread) completes fewer units: the shortfall is the noise.  By default the
 * program becomes an MCP and measures on its vcore 0 (a core granted to it); with "scp" it stays
 * a single-core process.  Prints one JSON line with the count of every quantum. */
#include "parlib/uthread.h"

#define UNIT_ROUNDS 64 /* one work unit: ~64 x 4 instructions between time-stamp reads */

static uint64_t counts[100000];

static uint64_t work_unit(uint64_t x)
{
	for (int i = 0; i < UNIT_ROUNDS; i++) {
		x = x * 6364136223846793005UL + 1442695040888963407UL;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

int main(int argc, char **argv)
{
	uint64_t quantum = argc > 1 ? (uint64_t)atol(argv[1]) : 50000;
	long quanta = argc > 2 ? atol(argv[2]) : 2000;
	bool scp = argc > 3 && !strcmp(argv[3], "scp");
	if (quantum < 1000 || quanta < 1 || quanta > (long)(sizeof counts / sizeof counts[0])) {
		dprintf(2, "usage: ftq [QUANTUM>=1000 [QUANTA 1..100000 [scp]]]\n");
		return 2;
	}
	if (!scp && uthread_mcp_init(NULL) < 0) {
		dprintf(2, "ftq: change_to_m failed\n");
		return 1;
	}
	uint64_t x = 1, start = read_tsc(), end = start;
	for (long q = 0; q < quanta; q++) {
		uint64_t until = start + (uint64_t)(q + 1) * quantum, n = 0;
		while (read_tsc() < until) {
			x = work_unit(x);
			n++;
		}
		counts[q] = n;
	}
	end = read_tsc();
	printf("{\"program\": \"ftq\", \"mode\": \"%s\", \"pcore\": %ld, \"quantum_cycles\": %lu, "
	       "\"elapsed_cycles\": %lu, \"checksum\": %lu, \"counts\": [",
	       parlib_is_mcp ? "mcp" : "scp", sys_getpcoreid(), quantum, end - start, x & 0xffff);
	for (long q = 0; q < quanta; q++)
		printf(q ? ",%lu" : "%lu", counts[q]);
	printf("]}\n");
	return 0;
}
