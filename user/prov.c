/* prov: provision cores to processes (Akaros's prov, for kernkit's Akaros personality).
 *
 *   prov -p PID -c LIST          provision the cores in LIST (e.g. 1,3-5) to PID (PID 0: undo)
 *   prov -p PID -m               provision every core but core 0 to PID
 *   prov -c LIST -- PROG [ARGS]  start PROG with the cores provisioned to it, wait for it
 *   prov -s                      show the provisioning map (the kernel prints it on the console)
 *
 * Exit status 0, 1 when the kernel refused (the error is printed), 2 for bad usage. */
#include "parlib/parlib.h"

#define MAX_CORES 64

static const char *error_name(long err)
{
	switch (-err) {
	case ENXIO:
		return "no such core (ENXIO)";
	case EBUSY:
		return "core 0 is the management core (EBUSY)";
	case ESRCH:
		return "no such process (ESRCH)";
	case EINVAL:
		return "invalid argument (EINVAL)";
	case ENOENT:
		return "no such program (ENOENT)";
	default:
		return "error";
	}
}

static void usage(void)
{
	dprintf(2, "usage: prov -p PID -c LIST | prov -p PID -m | prov -c LIST -- PROG [ARGS] | prov -s\n"
	           "       LIST: cores such as 1,3-5\n");
	exit(2);
}

static bool is_number(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Parse "1,3-5" into cores[]; returns how many, or -1 when malformed. */
static int parse_cores(const char *list, long *cores)
{
	int n = 0;
	while (*list) {
		char *end;
		long first = strtol(list, &end, 10);
		if (end == list || first < 0)
			return -1;
		long last = first;
		if (*end == '-') {
			const char *next = end + 1;
			last = strtol(next, &end, 10);
			if (end == next || last < first)
				return -1;
		}
		for (long c = first; c <= last; c++) {
			if (n == MAX_CORES)
				return -1;
			cores[n++] = c;
		}
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		list = end;
	}
	return n;
}

static int provision(long pid, const long *cores, int n)
{
	for (int i = 0; i < n; i++) {
		long r = sys_provision(pid, RES_CORES, cores[i]);
		if (r < 0) {
			dprintf(2, "prov: core %ld to pid %ld: %s\n", cores[i], pid, error_name(r));
			return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	long pid = -1, cores[MAX_CORES];
	int ncores = -1, prog = 0;
	bool show = false, all = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-s")) {
			show = true;
		} else if (!strcmp(argv[i], "-m")) {
			all = true;
		} else if (!strcmp(argv[i], "-p") && i + 1 < argc && is_number(argv[i + 1])) {
			pid = strtol(argv[++i], NULL, 10);
		} else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "-v")) && i + 1 < argc) {
			ncores = parse_cores(argv[++i], cores);
			if (ncores <= 0) {
				dprintf(2, "prov: bad core list '%s' (expected cores such as 1,3-5)\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(argv[i], "--") && i + 1 < argc) {
			prog = i + 1;
			break;
		} else {
			usage();
		}
	}
	if (show) {
		if (pid >= 0 || ncores >= 0 || all || prog)
			usage();
		return sys_provision(-1, RES_CORES, 0) < 0;
	}
	if (all) {
		if (ncores >= 0)
			usage();
		ncores = 0;
		for (uint64_t c = 1; c < procinfo()->num_cores && c < MAX_CORES; c++)
			cores[ncores++] = (long)c;
	}
	if (ncores < 0 || (pid >= 0) == (prog != 0))
		usage();
	if (pid >= 0)
		return provision(pid, cores, ncores);
	const char *path = argv[prog];
	long child = sys_proc_create(path, strlen(path), &argv[prog], environ, 0);
	if (child < 0) {
		dprintf(2, "prov: %s: %s\n", path, error_name(child));
		return 1;
	}
	if (provision(child, cores, ncores)) {
		sys_proc_destroy(child, 1);
		return 1;
	}
	sys_proc_run(child);
	int status = 0;
	sys_waitpid(child, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
