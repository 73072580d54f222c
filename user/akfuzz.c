/* akfuzz: issues the raw Akaros system calls listed on stdin, one per line:
 *     NR A0 A1 A2 A3 A4 A5      (hexadecimal)
 * and prints "NR -> RESULT" for each, as sysfuzz does for Linux.  Used by the Akaros fuzz test:
 * whatever the numbers and pointers, the kernel must answer or end only this process.
 * Calls that would leave this program's control flow (pop_ctx, vc_entry, change_to_m, ...) are
 * issued as given: the test accepts any exit status, never a kernel panic or a traceback. */
#include "parlib/parlib.h"

static char line[512];

/* One line from stdin (without its newline) into line; 0 at the end of input. */
static int read_line(void)
{
	size_t n = 0;
	for (;;) {
		char c;
		long got = sys_read(0, &c, 1);
		if (got <= 0)
			return n > 0;
		if (c == '\n')
			break;
		if (n < sizeof line - 1)
			line[n++] = c;
	}
	line[n] = 0;
	return 1;
}

int main(void)
{
	unsigned long v[7];
	while (read_line()) {
		char *p = line;
		int i;
		for (i = 0; i < 7; i++) {
			char *end;
			v[i] = strtoul(p, &end, 16);
			if (end == p)
				break;
			p = end;
		}
		if (i < 7)
			continue;
		long ret = ros_syscall((long)v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
		printf("%lx -> %ld\n", v[0], ret);
	}
	printf("akfuzz done\n");
	return 0;
}
