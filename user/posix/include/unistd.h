#ifndef POSIX_UNISTD_H
#define POSIX_UNISTD_H

#include <stddef.h>
#include <sys/types.h>

#define STDIN_FILENO 0
#define STDOUT_FILENO 1
#define STDERR_FILENO 2

ssize_t read(int fd, void *buf, size_t n);   /* blocks only the calling pthread */
ssize_t write(int fd, const void *buf, size_t n);
int close(int fd);
int pipe(int fds[2]); /* #pipe: fds[0] reads what fds[1] writes */
int pipe2(int fds[2], int flags); /* O_NONBLOCK, O_CLOEXEC */
int dup(int fd);
int dup2(int fd, int newfd); /* in a fork child: for the program it execs (see fork) */
pid_t getpid(void);
pid_t getppid(void);
/* Process groups and sessions, as on Linux (and shared with Linux programs).  In a fork child
 * setpgid(0, pgid) and setsid are for the program it execs and return 0 (see fork). */
int setpgid(pid_t pid, pid_t pgid);
pid_t getpgid(pid_t pid);
pid_t getpgrp(void);
int setpgrp(void);
pid_t setsid(void);
pid_t getsid(pid_t pid);
unsigned int sleep(unsigned int seconds);
int pause(void);
int usleep(useconds_t usec);
__attribute__((noreturn)) void _exit(int status);
/* As vfork: the child shares the parent's memory and may only call exec* or _exit, and open,
 * dup, dup2 and close to set up the program's descriptors, and setpgid(0, pgid) and setsid (they
 * take effect in it, not in the parent). */
__attribute__((returns_twice)) pid_t fork(void);
__attribute__((returns_twice)) pid_t vfork(void);
int execve(const char *path, char *const argv[], char *const envp[]); /* EINVAL outside a fork child */
int execv(const char *path, char *const argv[]);
int execvp(const char *file, char *const argv[]);
extern char **environ;

#endif
