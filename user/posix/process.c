/* Processes from a pthread program.  Akaros has no fork or exec for a many-core process (its
 * kernel refuses both unless the caller is a single-core process); programs create processes
 * with proc_create and proc_run, which posix_spawn is.  fork and exec are built on the same
 * calls, as vfork: the forking pthread goes on as the child, sharing the parent's memory, until
 * it calls an exec function (the new process is created and the pthread returns from fork again,
 * as the parent, with its pid) or _exit (fork returns the pid of a child that exited so, which
 * waitpid reports).  So the child may only call exec* or _exit, as after vfork, and set up the
 * program's descriptors: its dup2 and close are recorded and applied to the new process before
 * it runs, as posix_spawn's file actions are (SYS_dup_fds_to), and what its open and dup made in
 * the shared table is closed there when the parent resumes; the parent's descriptors stay as
 * they were.  Its setpgid(0, pgid) and setsid are recorded too (jobs.c) and done to the new
 * process as posix_spawn's SETPGROUP and SETSID are. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "parlib/uthread.h"
#include "posix.h"

/* Children that _exit'ed before exec: no process ever ran; their pids are above any the kernel
 * gives, and waitpid reports them. */
#define FAKE_PID_BASE 0x40000000
#define MAX_FAKE 16
static struct {
	pid_t pid;
	int status;
} fake[MAX_FAKE];
static int nr_fake, next_fake = FAKE_PID_BASE;
static struct spin_pdr_lock fake_lock = SPIN_PDR_INITIALIZER;

/* --- file actions: the new process's descriptors, set before it runs -------------------- */

enum { SPAWN_OPEN, SPAWN_DUP2, SPAWN_CLOSE };
#define SPAWN_OPEN_MAX 1024 /* the kernel's descriptor limit */

struct __spawn_action {
	int kind, fd, newfd, oflag;
	mode_t mode;
	char *path;
};

static int add_action(posix_spawn_file_actions_t *fa, struct __spawn_action a)
{
	if (a.fd < 0 || a.fd >= SPAWN_OPEN_MAX || a.newfd < 0 || a.newfd >= SPAWN_OPEN_MAX)
		return EBADF;
	if (fa->nr == fa->cap) {
		int cap = fa->cap ? 2 * fa->cap : 8;
		struct __spawn_action *more = realloc(fa->actions, cap * sizeof *more);
		if (!more)
			return ENOMEM;
		fa->actions = more;
		fa->cap = cap;
	}
	if (a.path && !(a.path = strdup(a.path)))
		return ENOMEM;
	fa->actions[fa->nr++] = a;
	return 0;
}

int posix_spawn_file_actions_init(posix_spawn_file_actions_t *fa)
{
	fa->nr = fa->cap = 0;
	fa->actions = NULL;
	return 0;
}

int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *fa)
{
	for (int i = 0; i < fa->nr; i++)
		free(fa->actions[i].path);
	free(fa->actions);
	return posix_spawn_file_actions_init(fa);
}

int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *fa, int fd, const char *path,
                                     int oflag, mode_t mode)
{
	return add_action(fa, (struct __spawn_action){ SPAWN_OPEN, fd, 0, oflag, mode, (char *)path });
}

int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *fa, int fd, int newfd)
{
	return add_action(fa, (struct __spawn_action){ SPAWN_DUP2, fd, newfd, 0, 0, NULL });
}

int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *fa, int fd)
{
	return add_action(fa, (struct __spawn_action){ SPAWN_CLOSE, fd, 0, 0, 0, NULL });
}

/* The child's descriptors the actions so far changed: which of the parent's holds the same open
 * file (-1: closed in the child). */
struct touched {
	int childfd, parentfd;
};

/* The parent's descriptor that holds what the child has at fd now, or -1 (it has nothing). */
static int source_of(const struct touched *t, int nt, int fd, bool self)
{
	for (int i = nt - 1; i >= 0; i--)
		if (t[i].childfd == fd)
			return t[i].parentfd;
	long flags = sys_fcntl(fd, F_GETFD, 0);
	/* the child got the parent's descriptors but those marked close-on-exec; dup2 of one onto
	 * itself keeps it (it clears the mark) */
	return flags < 0 || ((flags & FD_CLOEXEC) && !self) ? -1 : fd;
}

static int dup_to(pid_t child, int parentfd, int childfd)
{
	struct childfdmap m = { (uint32_t)parentfd, (uint32_t)childfd, 0 };
	long r = sys_dup_fds_to(child, &m, 1);
	return r < 0 ? (int)-r : 0;
}

/* Run fa's actions, in order, on child's descriptors (created, not yet run): 0 or an errno. */
static int apply_actions(pid_t child, const posix_spawn_file_actions_t *fa)
{
	int n = fa->nr, nt = 0, ntemps = 0, err = 0;
	struct touched *t = malloc(n * sizeof *t);
	int *temps = malloc(n * sizeof *temps);
	if (!t || !temps) {
		err = ENOMEM;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct __spawn_action *a = &fa->actions[i];
		int src = -1, dst = a->kind == SPAWN_DUP2 ? a->newfd : a->fd;
		if (a->kind == SPAWN_OPEN) {
			long fd = sys_openat(AT_FDCWD, a->path, a->oflag, (int)a->mode);
			if (fd < 0) {
				err = (int)-fd;
				goto out;
			}
			src = temps[ntemps++] = (int)fd;
		} else if (a->kind == SPAWN_DUP2) {
			src = source_of(t, nt, a->fd, a->fd == a->newfd);
			if (src < 0) {
				err = EBADF;
				goto out;
			}
		}
		int r = dup_to(child, src, dst); /* src -1: close dst in the child */
		if (r && a->kind != SPAWN_CLOSE) { /* closing what is not open is no error (musl, glibc) */
			err = r;
			goto out;
		}
		t[nt++] = (struct touched){ dst, src };
	}
out:
	for (int i = 0; i < ntemps; i++)
		sys_close(temps[i]); /* the child holds its own reference */
	free(t);
	free(temps);
	return err;
}

/* The signals a new program starts with blocked and ignored: what exec keeps on Linux (the
 * caller's mask; what it ignores, as handlers cannot cross), or what attr says. */
static void exec_sigstate(const posix_spawnattr_t *attr, uint64_t *blocked, uint64_t *ignored)
{
	sigset_t mask;
	pthread_sigmask(SIG_SETMASK, NULL, &mask);
	*blocked = mask.__bits[0];
	*ignored = posix_ignored_signals();
	if (attr && (attr->flags & POSIX_SPAWN_SETSIGMASK))
		*blocked = attr->sigmask.__bits[0];
	if (attr && (attr->flags & POSIX_SPAWN_SETSIGDEF))
		*ignored &= ~attr->sigdefault.__bits[0];
}

/* attr's session and group for a created child, in the order a Linux child does them before it
 * execs (musl, glibc): setsid, then setpgid(0, pgroup).  0 or -errno. */
static long set_job(pid_t child, const posix_spawnattr_t *attr)
{
	long r = 0;
	if (attr && (attr->flags & POSIX_SPAWN_SETSID))
		r = sys_setsid(child);
	if (r >= 0 && attr && (attr->flags & POSIX_SPAWN_SETPGROUP))
		r = sys_setpgid(child, attr->pgroup);
	return r < 0 ? r : 0;
}

/* A new process with the caller's descriptors, fa's actions applied, attr's signal state,
 * session and group, running: its pid or -errno.  job_errors: whether a failing setsid or
 * setpgid fails it (posix_spawn) or is ignored (a fork child's, whose calls returned 0). */
static pid_t spawn(const char *path, char *const argv[], char *const envp[],
                   const posix_spawn_file_actions_t *fa, const posix_spawnattr_t *attr,
                   bool job_errors)
{
	char *const none[] = { NULL };
	long pid = sys_proc_create(path, strlen(path), argv ? argv : none, envp ? envp : environ,
	                           PROC_DUP_FGRP);
	if (pid < 0)
		return (pid_t)pid;
	uint64_t blocked, ignored;
	exec_sigstate(attr, &blocked, &ignored);
	long r = sys_proc_sigstate(pid, blocked, ignored);
	if (r == -EINVAL)
		r = 0; /* a personality without signals: there is nothing to give it */
	if (!r) {
		long job = set_job((pid_t)pid, attr);
		r = job_errors ? job : 0;
	}
	if (!r && fa && fa->nr)
		r = -apply_actions(pid, fa);
	if (!r)
		r = sys_proc_run(pid);
	if (r < 0) {
		sys_proc_destroy(pid, 127);
		sys_waitpid(pid, NULL, 0); /* it never ran: nobody else should reap it */
		return (pid_t)r;
	}
	return (pid_t)pid;
}

#define SPAWN_FLAGS \
	(POSIX_SPAWN_RESETIDS | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | \
	 POSIX_SPAWN_SETSCHEDPARAM | POSIX_SPAWN_SETSCHEDULER | POSIX_SPAWN_USEVFORK | \
	 POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSID)

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	/* RESETIDS: every process has the same (no) user ids; USEVFORK: spawning never copies;
	 * SETSCHEDPARAM, SETSCHEDULER: no scheduling policies (musl ignores both too) */
	pid_t child = spawn(path, argv, envp, actions, attr, true);
	if (child < 0)
		return -child;
	if (pid)
		*pid = child;
	return 0;
}

int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	return posix_spawn(pid, file, actions, attr, argv, envp); /* the kernel searches its path */
}

int posix_spawnattr_init(posix_spawnattr_t *attr)
{
	memset(attr, 0, sizeof *attr);
	return 0;
}

int posix_spawnattr_destroy(posix_spawnattr_t *attr)
{
	(void)attr;
	return 0;
}

int posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags)
{
	if ((unsigned short)flags & ~SPAWN_FLAGS)
		return EINVAL;
	attr->flags = flags;
	return 0;
}

int posix_spawnattr_getflags(const posix_spawnattr_t *attr, short *flags)
{
	*flags = attr->flags;
	return 0;
}

int posix_spawnattr_setpgroup(posix_spawnattr_t *attr, pid_t pgroup)
{
	attr->pgroup = pgroup;
	return 0;
}

int posix_spawnattr_getpgroup(const posix_spawnattr_t *attr, pid_t *pgroup)
{
	*pgroup = attr->pgroup;
	return 0;
}

int posix_spawnattr_setsigmask(posix_spawnattr_t *attr, const sigset_t *mask)
{
	attr->sigmask = *mask;
	return 0;
}

int posix_spawnattr_getsigmask(const posix_spawnattr_t *attr, sigset_t *mask)
{
	*mask = attr->sigmask;
	return 0;
}

int posix_spawnattr_setsigdefault(posix_spawnattr_t *attr, const sigset_t *def)
{
	attr->sigdefault = *def;
	return 0;
}

int posix_spawnattr_getsigdefault(const posix_spawnattr_t *attr, sigset_t *def)
{
	*def = attr->sigdefault;
	return 0;
}

/* --- a fork child's descriptors ----------------------------------------------------------- */

int posix_vfork_temp(struct posix_vfork *v, int fd)
{
	if (v->nr_temps == POSIX_VFORK_TEMPS) {
		sys_close(fd);
		errno = EMFILE;
		return -1;
	}
	v->temps[v->nr_temps++] = fd;
	return fd;
}

static int child_fd_result(int r, int value)
{
	if (r) {
		errno = r;
		return -1;
	}
	return value;
}

int posix_vfork_close(struct posix_vfork *v, int fd)
{
	int r = add_action(&v->fd_actions, (struct __spawn_action){ SPAWN_CLOSE, fd, 0, 0, 0, NULL });
	return child_fd_result(r, 0);
}

int posix_vfork_dup2(struct posix_vfork *v, int fd, int newfd)
{
	int r = add_action(&v->fd_actions, (struct __spawn_action){ SPAWN_DUP2, fd, newfd, 0, 0, NULL });
	return child_fd_result(r, newfd);
}

/* The parent goes on: the child's descriptors leave its table, its actions are forgotten. */
static void vfork_done(struct posix_vfork *v)
{
	for (int i = 0; i < v->nr_temps; i++)
		sys_close(v->temps[i]);
	v->nr_temps = 0;
	v->job_flags = 0;
	posix_spawn_file_actions_destroy(&v->fd_actions);
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	struct posix_vfork *v = posix_vfork_of_self();
	if (!v->in_child) {
		errno = EINVAL; /* as Akaros: an MCP cannot exec */
		return -1;
	}
	posix_spawnattr_t job = { .flags = v->job_flags, .pgroup = v->job_pgroup };
	pid_t child = spawn(path, argv, envp, &v->fd_actions, &job, false);
	if (child < 0) {
		errno = -child;
		return -1; /* the child goes on: it usually _exits */
	}
	vfork_done(v);
	posix_vfork_resume(v, child);
}

int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

int execvp(const char *file, char *const argv[])
{
	return execve(file, argv, environ);
}

void _exit(int status)
{
	struct posix_vfork *v = posix_vfork_of_self();
	if (!v->in_child)
		exit(status);
	spin_pdr_lock(&fake_lock);
	if (nr_fake == MAX_FAKE)
		parlib_panic("fork: more than %d children exited without exec and were not waited for", MAX_FAKE);
	pid_t pid = next_fake++;
	fake[nr_fake].pid = pid;
	fake[nr_fake].status = (status & 0xff) << 8;
	nr_fake++;
	spin_pdr_unlock(&fake_lock);
	vfork_done(v);
	posix_vfork_resume(v, pid);
}

/* A child that never ran, for waitpid(pid) (or any, pid -1): its pid, or 0. */
static pid_t reap_fake(pid_t pid, int *status)
{
	spin_pdr_lock(&fake_lock);
	pid_t found = 0;
	for (int i = 0; i < nr_fake; i++) {
		if (pid != -1 && fake[i].pid != pid)
			continue;
		found = fake[i].pid;
		if (status)
			*status = fake[i].status;
		fake[i] = fake[--nr_fake];
		break;
	}
	spin_pdr_unlock(&fake_lock);
	return found;
}

pid_t waitpid(pid_t pid, int *status, int options)
{
	pid_t got = reap_fake(pid, status);
	if (got)
		return got;
	/* a cancellation point; a handler aborts the wait: EINTR, or the call again (SA_RESTART) */
	return (pid_t)posix_ret(posix_cancelable_sysc(SYS_waitpid, pid, (long)status, options, 0));
}

pid_t wait(int *status)
{
	return waitpid(-1, status, 0);
}
