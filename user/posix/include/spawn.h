/* posix_spawn: Akaros's way to start a program (proc_create, then proc_run).  No file actions
 * or attributes: posix_spawn returns ENOSYS if any were set. */
#ifndef POSIX_SPAWN_H
#define POSIX_SPAWN_H

#include <sys/types.h>

typedef struct {
	int nr;
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
int posix_spawnattr_init(posix_spawnattr_t *attr);
int posix_spawnattr_destroy(posix_spawnattr_t *attr);

#endif
