/* taskset: run a program on chosen cores (util-linux's taskset, its launch form).
 *
 *   taskset MASK PROGRAM [ARG...]       MASK in hex, a bit per core (0x10: core 4)
 *   taskset -c LIST PROGRAM [ARG...]    LIST of cores and ranges (0-3,5)
 *
 * Sets the CPU affinity of the calling thread, which the program keeps across execve and its
 * threads and children inherit.  Exit status 1 when the kernel refuses the mask, 2 for bad usage,
 * 127 when PROGRAM cannot be run. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int usage(void)
{
    fprintf(stderr, "usage: taskset MASK PROGRAM [ARG...] | taskset -c LIST PROGRAM [ARG...]\n");
    return 2;
}

/* "0-3,5" into set; 0, or -1 when LIST is not a list of cores. */
static int parse_list(const char *list, cpu_set_t *set)
{
    while (*list) {
        char *end;
        long first = strtol(list, &end, 10), last = first;
        if (end == list || first < 0 || first >= CPU_SETSIZE)
            return -1;
        if (*end == '-') {
            const char *from = end + 1;
            last = strtol(from, &end, 10);
            if (end == from || last < first || last >= CPU_SETSIZE)
                return -1;
        }
        for (long core = first; core <= last; core++)
            CPU_SET(core, set);
        if (*end == ',')
            end++;
        else if (*end)
            return -1;
        list = end;
    }
    return 0;
}

static int parse_mask(const char *mask, cpu_set_t *set)
{
    char *end;
    unsigned long long bits = strtoull(mask, &end, 16);
    if (end == mask || *end)
        return -1;
    for (int core = 0; core < 64; core++)
        if (bits >> core & 1)
            CPU_SET(core, set);
    return 0;
}

int main(int argc, char **argv)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    int list = argc > 1 && !strcmp(argv[1], "-c"), program = list ? 3 : 2;
    if (argc <= program)
        return usage();
    if ((list ? parse_list(argv[2], &set) : parse_mask(argv[1], &set)) < 0) {
        fprintf(stderr, "taskset: bad %s: %s\n", list ? "core list" : "mask", argv[program - 1]);
        return 2;
    }
    if (sched_setaffinity(0, sizeof set, &set) < 0) {
        perror("taskset: sched_setaffinity");
        return 1;
    }
    execvp(argv[program], argv + program);
    fprintf(stderr, "taskset: %s: cannot run it\n", argv[program]);
    return 127;
}
