/* strace [-n] PROGRAM [ARGS...]: run PROGRAM traced, printing its system calls.
 *
 * Creates PROGRAM's process, writes "trace" to /proc/PID/strace before it starts, and prints
 * each line read from that file ("PID name(args)") prefixed with "strace: ".  With -n it also
 * sends the traced process an EV_USER_IPI event (a notification) for each vmm_run call it
 * sees: what a debugger poking a VMM does, and the scenario of docs/vmm.md's regression.  -q
 * prints only the summary. */
#include "parlib/parlib.h"

static int contains(const char *s, const char *word)
{
	size_t n = strlen(word);
	for (; *s; s++)
		if (!strncmp(s, word, n))
			return 1;
	return 0;
}

static long open_path(const char *path, int flags)
{
	return ros_syscall(SYS_openat, -100, path, flags, 0, 0, 0);
}

int main(int argc, char **argv)
{
	int notify = 0, quiet = 0, first = 1;
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (!strcmp(argv[first], "-n"))
			notify = 1;
		else if (!strcmp(argv[first], "-q"))
			quiet = 1;
		else
			break;
	}
	if (first >= argc) {
		dprintf(2, "usage: strace [-n] [-q] PROGRAM [ARGS...]\n");
		return 2;
	}
	char *envp[] = { NULL };
	long pid = sys_proc_create(argv[first], strlen(argv[first]), argv + first, envp, 0);
	if (pid < 0) {
		printf("strace: cannot create %s: %ld\n", argv[first], pid);
		return 1;
	}
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/strace", pid);
	long ctl = open_path(path, 1);
	long in = open_path(path, 0);
	if (ctl < 0 || in < 0 || ros_syscall(SYS_write, ctl, "trace", 5, 0, 0, 0) != 5) {
		printf("strace: cannot trace pid %ld: %ld %ld\n", pid, ctl, in);
		return 1;
	}
	sys_proc_run(pid);
	char buf[4096], line[256];
	int len = 0;
	long notified = 0, lines = 0;
	for (;;) {
		long n = ros_syscall(SYS_read, in, buf, sizeof buf, 0, 0, 0);
		if (n <= 0)
			break;
		int saw_run = 0;
		for (long i = 0; i < n; i++) {
			if (len < (int)sizeof line - 1)
				line[len++] = buf[i];
			if (buf[i] != '\n')
				continue;
			line[len] = 0;
			lines++;
			if (!quiet)
				printf("strace: %s", line);
			if (contains(line, " vmm_run("))
				saw_run = 1;
			len = 0;
		}
		if (notify && saw_run) {
			struct event_msg msg = { .ev_type = EV_USER_IPI };
			if (sys_notify(pid, EV_USER_IPI, &msg, EVENT_IPI) == 0)
				notified++;
		}
	}
	int status = 0;
	sys_waitpid(pid, &status, 0);
	printf("strace: pid %ld exited with status %d; %ld system calls traced, %ld notifications sent\n",
	       pid, WEXITSTATUS(status), lines, notified);
	return WEXITSTATUS(status);
}
