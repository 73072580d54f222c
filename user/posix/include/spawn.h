/* posix_spawn: Akaros's way to start a program (proc_create with the caller's descriptors, then
 * proc_run).  File actions (open, dup2, close) are applied to the new process before it runs
 * (SYS_dup_fds_to); no attributes: posix_spawn returns ENOSYS if any were set. */
#ifndef POSIX_SPAWN_H
#define POSIX_SPAWN_H

#include <sys/types.h>

struct __spawn_action;
typedef struct {
	int nr, cap;
	struct __spawn_action *actions;
} posix_spawn_file_actions_t;
typedef struct {
	int flags;
} posix_spawnattr_t;

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

#endif
