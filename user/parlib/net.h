/* Network and file I/O for uthreads with FD taps: calls that block only the calling uthread.
 *
 * Files are opened O_NONBLOCK, and a call that gets -EAGAIN parks the uthread until the file's
 * FD tap (SYS_tap_fds) fires; the vcore runs other uthreads meanwhile, and a vcore with nothing
 * to run yields its core (the process may go WAITING: the tap's event, sent with EVENT_WAKEUP,
 * brings it back).  Every tap sends its event (type = the descriptor) into one CEQ, whose
 * EV_EVENT makes whichever vcore handles it drain the CEQ and make the parked uthreads runnable.
 * (A blocking sys_read in a uthread of an MCP blocks only that uthread too, through an
 * asynchronous system call; taps are the way to wait for several files at once.)
 *
 * The /net calls are Plan 9's dial(2) ones, named with a 9 as Akaros's iplib does (announce9,
 * listen9, accept9, dial9) so that POSIX's listen and accept can exist beside them.  See docs/parlib.md. */
#ifndef PARLIB_NET_H
#define PARLIB_NET_H

#include "uthread.h"

/* Descriptors parlib can park uthreads on (the kernel's limit). */
#define NET_MAX_FDS 1024
#define NETPATH 40

/* Set up the tap event queue and its handlers (once; any context, before or after
 * uthread_mcp_init). */
void uth_net_init(void);

/* read/write that park the calling uthread while the descriptor (opened O_NONBLOCK) would
 * wait; a descriptor opened blocking just blocks the vcore, as sys_read would.  -errno on
 * error. */
long uth_read(int fd, void *buf, size_t len);
long uth_write(int fd, const void *buf, size_t len);
/* Write all of buf (parking as needed); 0, or -errno. */
int uth_write_all(int fd, const void *buf, size_t len);
/* sys_close.  parlib remembers which descriptors it tapped; sys_close forgets the tap (the
 * kernel drops it with the descriptor), so a file opened later under the same number is
 * tapped afresh.  A raw ros_syscall(SYS_close, ...) bypasses that: a uthread parking on a
 * descriptor reused after one would wait for a tap that no longer exists. */
long uth_close(int fd);
/* Called by sys_close (any context): forget fd's tap. */
void uth_net_fd_closed(int fd);

/* The parking primitive: take fd's generation before trying a call, and if the call said
 * -EAGAIN, uth_blockon_fd(fd, gen) returns once fd's tap fired after that (at once if it did
 * already).  Spurious returns are possible: callers try again. */
uint64_t uth_fd_gen(int fd);
void uth_blockon_fd(int fd, uint64_t gen);

/* Plan 9 style /net.  announce9("tcp!*!80", dir): a conversation announced on port 80; returns
 * its ctl descriptor and puts "/net/tcp/N" in dir (NETPATH bytes).  listen9(dir, newdir) waits
 * (parking the uthread) for a call and returns the call's ctl descriptor, its directory in
 * newdir.  accept9(ctl, newdir) opens the call's data file, O_RDWR | O_NONBLOCK. */
int announce9(const char *addr, char *dir);
int listen9(const char *dir, char *newdir);
int accept9(int ctl, const char *newdir);
/* dial9("tcp!127.0.0.1!80", dir): a connected conversation's data file (O_RDWR | O_NONBLOCK),
 * its directory in dir. */
int dial9(const char *addr, char *dir);

/* Counters: uthreads parked, and tap events handled. */
extern volatile uint64_t uth_net_parks, uth_net_wakeups;

#endif
