#ifndef POSIX_SCHED_H
#define POSIX_SCHED_H

int sched_yield(void); /* in a pthread: let other pthreads run (no kernel entry) */

#endif
