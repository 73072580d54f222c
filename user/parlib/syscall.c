/* System call stubs: one line each over ros_syscall. */
#include "parlib.h"

long sys_null(void) { return ros_syscall(SYS_null, 0, 0, 0, 0, 0, 0); }
long sys_block(uint64_t usec) { return ros_blocking(SYS_block, usec, 0, 0, 0, 0, 0); }
long sys_cputs(const char *buf, size_t len) { return ros_syscall(SYS_cputs, buf, len, 0, 0, 0, 0); }
long sys_getpcoreid(void) { return ros_syscall(SYS_getpcoreid, 0, 0, 0, 0, 0, 0); }
long sys_getvcoreid(void) { return ros_syscall(SYS_getvcoreid, 0, 0, 0, 0, 0, 0); }
long sys_getpid(void) { return ros_syscall(SYS_getpid, 0, 0, 0, 0, 0, 0); }

long sys_proc_create(const char *path, size_t pathlen, char *const argv[], char *const envp[],
                     int flags)
{
	return ros_syscall(SYS_proc_create, path, pathlen, argv, envp, flags, 0);
}

long sys_proc_run(long pid) { return ros_syscall(SYS_proc_run, pid, 0, 0, 0, 0, 0); }

long sys_proc_destroy(long pid, int status)
{
	return ros_syscall(SYS_proc_destroy, pid, status, 0, 0, 0, 0);
}

long sys_proc_yield(int being_nice) { return ros_syscall(SYS_proc_yield, being_nice, 0, 0, 0, 0, 0); }

long sys_change_vcore(uint32_t vcoreid, int enable_my_notif)
{
	return ros_syscall(SYS_change_vcore, vcoreid, enable_my_notif, 0, 0, 0, 0);
}

long sys_waitpid(long pid, int *status, int options)
{
	return ros_blocking(SYS_waitpid, pid, status, options, 0, 0, 0);
}

void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	return (void *)ros_syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

long sys_munmap(void *addr, size_t len) { return ros_syscall(SYS_munmap, addr, len, 0, 0, 0, 0); }

long sys_mprotect(void *addr, size_t len, int prot)
{
	return ros_syscall(SYS_mprotect, addr, len, prot, 0, 0, 0);
}

long sys_provision(long pid, int res_type, long pcoreid)
{
	return ros_syscall(SYS_provision, pid, res_type, pcoreid, 0, 0, 0);
}

long sys_notify(long pid, uint32_t ev_type, struct event_msg *msg, int flags)
{
	return ros_syscall(SYS_notify, pid, ev_type, msg, flags, 0, 0);
}

long sys_self_notify(uint32_t vcoreid, uint32_t ev_type, struct event_msg *msg, int flags)
{
	return ros_syscall(SYS_self_notify, vcoreid, ev_type, msg, flags, 0, 0);
}

long sys_send_event(struct event_queue *ev_q, struct event_msg *msg, uint32_t vcoreid)
{
	return ros_syscall(SYS_send_event, ev_q, msg, vcoreid, 0, 0, 0);
}

long sys_halt_core(uint64_t usec) { return ros_syscall(SYS_halt_core, usec, 0, 0, 0, 0, 0); }
long sys_change_to_m(void) { return ros_syscall(SYS_change_to_m, 0, 0, 0, 0, 0, 0); }

long sys_poke_ksched(long pid, int res_type)
{
	return ros_syscall(SYS_poke_ksched, pid, res_type, 0, 0, 0, 0);
}

bool sys_abort_sysc(struct syscall *sysc)
{
	return ros_syscall(SYS_abort_sysc, (long)sysc, 0, 0, 0, 0, 0) == 1;
}

long sys_vc_entry(void) { return ros_syscall(SYS_vc_entry, 0, 0, 0, 0, 0, 0); }

long sys_nanosleep(const struct timespec *req, struct timespec *rem)
{
	return ros_blocking(SYS_nanosleep, req, rem, 0, 0, 0, 0);
}

long sys_read(int fd, void *buf, size_t len) { return ros_blocking(SYS_read, fd, buf, len, 0, 0, 0); }

long sys_write(int fd, const void *buf, size_t len)
{
	return ros_blocking(SYS_write, fd, buf, len, 0, 0, 0);
}

long sys_openat(int dirfd, const char *path, int flags, int mode)
{
	return ros_blocking(SYS_openat, dirfd, path, flags, mode, 0, 0);
}

long sys_open(const char *path, int flags) { return sys_openat(AT_FDCWD, path, flags, 0); }
/* net.c's (weak: syscall.c does not need it): forget the descriptor's FD tap, which the kernel
 * drops with the descriptor, so that a file opened later under the same number gets its own. */
void uth_net_fd_closed(int fd) __attribute__((weak));

long sys_close(int fd)
{
	if (uth_net_fd_closed)
		uth_net_fd_closed(fd);
	return ros_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
}

long sys_tap_fds(struct fd_tap_req *reqs, size_t nr_reqs)
{
	return ros_syscall(SYS_tap_fds, reqs, nr_reqs, 0, 0, 0, 0);
}

long sys_fstat(int fd, struct kstat *st) { return ros_syscall(SYS_fstat, fd, st, 0, 0, 0, 0); }

long sys_stat(const char *path, struct kstat *st)
{
	return ros_syscall(SYS_stat, path, strlen(path), st, 0, 0, 0);
}

long sys_dup_fds_to(long pid, struct childfdmap *map, size_t nentries)
{
	return ros_syscall(SYS_dup_fds_to, pid, map, nentries, 0, 0, 0);
}

long sys_proc_sigstate(long pid, uint64_t blocked, uint64_t ignored)
{
	return ros_syscall(SYS_proc_sigstate, pid, blocked, ignored, 0, 0, 0);
}

long sys_setpgid(long pid, long pgid)
{
	return ros_syscall(SYS_setpgid, pid, pgid, 0, 0, 0, 0);
}

long sys_getpgid(long pid)
{
	return ros_syscall(SYS_getpgid, pid, 0, 0, 0, 0, 0);
}

long sys_setsid(long pid)
{
	return ros_syscall(SYS_setsid, pid, 0, 0, 0, 0, 0);
}

long sys_getsid(long pid)
{
	return ros_syscall(SYS_getsid, pid, 0, 0, 0, 0, 0);
}

long sys_kill(long pid, int sig)
{
	return ros_syscall(SYS_kill, pid, sig, 0, 0, 0, 0);
}

long sys_fcntl(int fd, int cmd, long arg)
{
	return ros_syscall(SYS_fcntl, fd, cmd, arg, 0, 0, 0);
}
