/* Raw Akaros-personality system calls.  Every sys_* returns what the kernel returned: a value
 * >= 0, or -errno (parlib keeps no errno variable). */
#ifndef PARLIB_SYSCALL_H
#define PARLIB_SYSCALL_H

#include <stddef.h>
#include <stdint.h>

#include "ros_abi.h"

static inline long ros_syscall6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;
	long ret;
	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
	                 : "rcx", "r11", "memory");
	return ret;
}

#define ros_syscall(nr, a0, a1, a2, a3, a4, a5)                                                   \
	ros_syscall6((nr), (long)(a0), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5))

/* Submit struct syscalls (SYS_submit): returns how many the kernel finished before returning;
 * the others finish later (SC_DONE). */
static inline long ros_submit(struct syscall *sysc, long count)
{
	return ros_syscall6(SYS_submit, (long)sysc, count, 0, 0, 0, 0);
}

/* A system call that may block, the Akaros way: in a uthread of an MCP it is submitted as a
 * struct syscall and, if the kernel could not finish it at once, the uthread blocks in the 2LS
 * (thread_blockon_sysc) while its vcore runs others; elsewhere (an SCP, vcore context) the call
 * blocks the caller as a plain one does.  Returns what the call returned (>= 0 or -errno). */
long ros_syscall_blocking(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
#define ros_blocking(nr, a0, a1, a2, a3, a4, a5)                                                   \
	ros_syscall_blocking((nr), (long)(a0), (long)(a1), (long)(a2), (long)(a3), (long)(a4), (long)(a5))
/* As ros_syscall_blocking, but uthread_interrupt ends the wait: the kernel aborts the call
 * (SYS_abort_sysc), which returns -EINTR; -EINTR at once if the uthread was interrupted already.
 * For the blocking calls that are cancellation points. */
long ros_syscall_interruptible(long nr, long a0, long a1, long a2, long a3, long a4, long a5);
/* End a call a kernel task still waits in: true if it was aborted (it finishes with -EINTR). */
_Bool sys_abort_sysc(struct syscall *sysc);
/* How many calls went the asynchronous way and had to block their uthread. */
extern volatile uint64_t parlib_async_blocked;

/* Linux values, which the Akaros personality's mmap family uses. */
#define PROT_NONE 0
#define PROT_READ 1
#define PROT_WRITE 2
#define PROT_EXEC 4
#define MAP_SHARED 0x01
#define MAP_PRIVATE 0x02
#define MAP_FIXED 0x10
#define MAP_ANONYMOUS 0x20
#define MAP_FAILED ((void *)-1)

/* Open flags (Akaros's values, which are Linux's) and the errors parlib programs test for. */
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR 2
#define O_NONBLOCK 04000
#define O_DIRECTORY 0200000
#define O_CLOEXEC 02000000
#define AT_FDCWD (-100)
#define EPERM 1
#define ENOENT 2
#define ESRCH 3
#define EINTR 4
#define ENXIO 6
#define EBADF 9
#define EAGAIN 11
#define ENOMEM 12
#define EFAULT 14
#define EBUSY 16
#define EISDIR 21
#define EINVAL 22
#define EMFILE 24
#define EPIPE 32
#define ENOSYS 38
#define ECONNRESET 104

#ifndef __DEFINED_struct_timespec
#define __DEFINED_struct_timespec
struct timespec {
	int64_t tv_sec;
	int64_t tv_nsec;
};
#endif

long sys_null(void);
long sys_block(uint64_t usec);
long sys_cputs(const char *buf, size_t len);
long sys_getpcoreid(void);
long sys_getvcoreid(void);
long sys_getpid(void);
long sys_proc_create(const char *path, size_t pathlen, char *const argv[], char *const envp[],
                     int flags);
long sys_proc_run(long pid);
long sys_proc_destroy(long pid, int status);
long sys_proc_yield(int being_nice);
long sys_change_vcore(uint32_t vcoreid, int enable_my_notif);
long sys_waitpid(long pid, int *status, int options);
void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
long sys_munmap(void *addr, size_t len);
long sys_mprotect(void *addr, size_t len, int prot);
long sys_provision(long pid, int res_type, long pcoreid);
long sys_notify(long pid, uint32_t ev_type, struct event_msg *msg, int flags);
long sys_self_notify(uint32_t vcoreid, uint32_t ev_type, struct event_msg *msg, int flags);
long sys_send_event(struct event_queue *ev_q, struct event_msg *msg, uint32_t vcoreid);
long sys_halt_core(uint64_t usec);
long sys_change_to_m(void);
long sys_poke_ksched(long pid, int res_type);
long sys_vc_entry(void);
long sys_nanosleep(const struct timespec *req, struct timespec *rem);
long sys_read(int fd, void *buf, size_t len);
long sys_write(int fd, const void *buf, size_t len);
long sys_openat(int dirfd, const char *path, int flags, int mode);
long sys_open(const char *path, int flags);
long sys_close(int fd);
long sys_tap_fds(struct fd_tap_req *reqs, size_t nr_reqs);
long sys_dup_fds_to(long pid, struct childfdmap *map, size_t nentries);
long sys_proc_sigstate(long pid, uint64_t blocked, uint64_t ignored);
long sys_setpgid(long pid, long pgid);
long sys_getpgid(long pid);
long sys_setsid(long pid); /* 0: the caller; else a created child that has not run */
long sys_getsid(long pid);
long sys_kill(long pid, int sig); /* Linux's kill: a group with pid -pgid, 0 the caller's */
long sys_fcntl(int fd, int cmd, long arg); /* Linux's F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL */
long sys_fstat(int fd, struct kstat *st);
long sys_stat(const char *path, struct kstat *st);

/* The status sys_waitpid stores: Linux's encoding (exit status in bits 8..15, or a signal). */
#define WIFEXITED(s) (((s)&0x7f) == 0)
#define WEXITSTATUS(s) (((s) >> 8) & 0xff)
#define WTERMSIG(s) ((s)&0x7f)

#endif
