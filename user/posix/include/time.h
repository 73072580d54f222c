#ifndef POSIX_TIME_H
#define POSIX_TIME_H

#include <stdint.h>
#include <sys/types.h>

#ifndef __DEFINED_struct_timespec
#define __DEFINED_struct_timespec
struct timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};
#endif

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1

int nanosleep(const struct timespec *req, struct timespec *rem);
int clock_gettime(clockid_t clock, struct timespec *ts); /* virtual time since boot */
time_t time(time_t *t);

#endif
