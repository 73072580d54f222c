/* scp_hello: a plain single-core process (SCP) of the Akaros personality, over parlib.
 * Prints what procinfo says about it, its arguments, and a line built with snprintf/malloc. */
#include "parlib/parlib.h"
#include "parlib/vcore.h"

int main(int argc, char **argv)
{
	const volatile struct procinfo *pi = procinfo();
	printf("scp_hello: pid %d, ppid %d, pcore %ld, vcore %ld\n", getpid(), (int)pi->ppid,
	       sys_getpcoreid(), sys_getvcoreid());
	printf("scp_hello: is_mcp %d, max_vcores %d, num_cores %d, tsc_freq %lu\n", (int)pi->is_mcp,
	       (int)pi->max_vcores, (int)pi->num_cores, (unsigned long)pi->tsc_freq);
	for (int i = 1; i < argc; i++)
		printf("scp_hello: argv[%d]=%s\n", i, argv[i]);
	char *line = malloc(64);
	if (!line)
		return 1;
	snprintf(line, 64, "%s has %d argument%s", argv[0], argc - 1, argc == 2 ? "" : "s");
	puts(line);
	free(line);
	return 0;
}
