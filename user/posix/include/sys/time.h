/* struct timeval, gettimeofday (virtual time), and select (sys/select.h). */
#ifndef POSIX_SYS_TIME_H
#define POSIX_SYS_TIME_H

#include <sys/types.h>

struct timeval {
	time_t tv_sec;
	suseconds_t tv_usec;
};

int gettimeofday(struct timeval *tv, void *tz);

#include <sys/select.h>

#endif
