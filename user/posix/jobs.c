/* Process groups and sessions: the kernel's (kernkit's calls; Akaros has neither), which Linux
 * programs share, so a shell's job control and kill(-pgid) reach parlib programs too.  A fork
 * child (vfork-like, see process.c) runs in the parent until it execs: its setpgid(0, pgid) and
 * setsid are recorded and done to the new process before it runs, as posix_spawn's
 * POSIX_SPAWN_SETPGROUP and _SETSID are. */
#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include "posix.h"

int setpgid(pid_t pid, pid_t pgid)
{
	struct posix_vfork *v = posix_vfork_of_self();
	if (v->in_child && (pid == 0 || pid == getpid())) {
		if (pgid < 0) {
			errno = EINVAL;
			return -1;
		}
		v->job_flags |= POSIX_SPAWN_SETPGROUP;
		v->job_pgroup = pgid;
		return 0;
	}
	return (int)posix_ret(sys_setpgid(pid, pgid));
}

pid_t getpgid(pid_t pid)
{
	return (pid_t)posix_ret(sys_getpgid(pid));
}

pid_t getpgrp(void)
{
	return getpgid(0);
}

int setpgrp(void)
{
	return setpgid(0, 0);
}

pid_t setsid(void)
{
	struct posix_vfork *v = posix_vfork_of_self();
	if (v->in_child) {
		v->job_flags = POSIX_SPAWN_SETSID; /* a setpgid before it no longer matters */
		return getpid();
	}
	return (pid_t)posix_ret(sys_setsid(0));
}

pid_t getsid(pid_t pid)
{
	return (pid_t)posix_ret(sys_getsid(pid));
}

int killpg(pid_t pgrp, int sig)
{
	if (pgrp < 0) {
		errno = EINVAL;
		return -1;
	}
	return kill(-pgrp, sig);
}
