/* posix_spawn: Akaros's way to start a program (proc_create with the caller's descriptors, then
 * proc_run).  File actions (open, dup2, close) are applied to the new process before it runs
 * (SYS_dup_fds_to); its signal mask and ignored signals are the caller's, or the attributes'
 * (SYS_proc_sigstate).  POSIX_SPAWN_SETSID and _SETPGROUP are done to the new process before it
 * runs, in that order (as musl's child does them).  The personality has no user ids
 * (POSIX_SPAWN_RESETIDS has nothing to reset) and no scheduling policies (_SETSCHEDPARAM and
 * _SETSCHEDULER are ignored, as musl ignores them). */
#ifndef POSIX_SPAWN_H
#define POSIX_SPAWN_H

#include <signal.h>
#include <sys/types.h>

struct __spawn_action;
typedef struct {
	int nr, cap;
	struct __spawn_action *actions;
} posix_spawn_file_actions_t;
typedef struct {
	short flags;
	pid_t pgroup;
	sigset_t sigdefault, sigmask;
} posix_spawnattr_t;

#define POSIX_SPAWN_RESETIDS 1
#define POSIX_SPAWN_SETPGROUP 2
#define POSIX_SPAWN_SETSIGDEF 4
#define POSIX_SPAWN_SETSIGMASK 8
#define POSIX_SPAWN_SETSCHEDPARAM 16
#define POSIX_SPAWN_SETSCHEDULER 32
#define POSIX_SPAWN_USEVFORK 64
#define POSIX_SPAWN_SETSID 128

int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *actions,
                const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *actions,
                 const posix_spawnattr_t *attr, char *const argv[], char *const envp[]);
int posix_spawn_file_actions_init(posix_spawn_file_actions_t *actions);
int posix_spawn_file_actions_destroy(posix_spawn_file_actions_t *actions);
int posix_spawn_file_actions_addopen(posix_spawn_file_actions_t *actions, int fd, const char *path,
                                     int oflag, mode_t mode);
int posix_spawn_file_actions_adddup2(posix_spawn_file_actions_t *actions, int fd, int newfd);
int posix_spawn_file_actions_addclose(posix_spawn_file_actions_t *actions, int fd);
int posix_spawnattr_init(posix_spawnattr_t *attr);
int posix_spawnattr_destroy(posix_spawnattr_t *attr);
int posix_spawnattr_setflags(posix_spawnattr_t *attr, short flags);
int posix_spawnattr_getflags(const posix_spawnattr_t *attr, short *flags);
int posix_spawnattr_setpgroup(posix_spawnattr_t *attr, pid_t pgroup);
int posix_spawnattr_getpgroup(const posix_spawnattr_t *attr, pid_t *pgroup);
int posix_spawnattr_setsigmask(posix_spawnattr_t *attr, const sigset_t *mask);
int posix_spawnattr_getsigmask(const posix_spawnattr_t *attr, sigset_t *mask);
int posix_spawnattr_setsigdefault(posix_spawnattr_t *attr, const sigset_t *def);
int posix_spawnattr_getsigdefault(const posix_spawnattr_t *attr, sigset_t *def);

#endif
