/* Processes from a pthread program.  Akaros has no fork or exec for a many-core process (its
 * kernel refuses both unless the caller is a single-core process); programs create processes
 * with proc_create and proc_run, which posix_spawn is.  fork and exec are built on the same
 * calls, as vfork: the forking pthread goes on as the child, sharing the parent's memory, until
 * it calls an exec function (the new process is created and the pthread returns from fork again,
 * as the parent, with its pid) or _exit (fork returns the pid of a child that exited so, which
 * waitpid reports).  So the child may only call exec* or _exit, as after vfork. */
#include <errno.h>
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

static pid_t spawn(const char *path, char *const argv[], char *const envp[])
{
	char *const none[] = { NULL };
	long pid = sys_proc_create(path, strlen(path), argv ? argv : none, envp ? envp : environ, 0);
	if (pid < 0)
		return (pid_t)pid;
	long r = sys_proc_run(pid);
	return r < 0 ? (pid_t)r : (pid_t)pid;
}

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	if ((actions && actions->nr) || (attr && attr->flags))
		return ENOSYS; /* proc_create takes no file actions or attributes */
	pid_t child = spawn(path, argv, envp);
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

int posix_spawn_file_actions_init(posix_spawn_file_actions_t *actions)
{
	actions->nr = 0;
	return 0;
}

int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *actions)
{
	(void)actions;
	return 0;
}

int posix_spawnattr_init(posix_spawnattr_t *attr)
{
	attr->flags = 0;
	return 0;
}

int posix_spawnattr_destroy(posix_spawnattr_t *attr)
{
	(void)attr;
	return 0;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	struct posix_vfork *v = posix_vfork_of_self();
	if (!v->in_child) {
		errno = EINVAL; /* as Akaros: an MCP cannot exec */
		return -1;
	}
	pid_t child = spawn(path, argv, envp);
	if (child < 0) {
		errno = -child;
		return -1; /* the child goes on: it usually _exits */
	}
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
	posix_cancel_point();
	return (pid_t)posix_ret(sys_waitpid(pid, status, options));
}

pid_t wait(int *status)
{
	return waitpid(-1, status, 0);
}
