/* POSIX calls over parlib and the Akaros personality: files, directories, time. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parlib/alarm.h"
#include "parlib/uthread.h"
#include "posix.h"

ssize_t read(int fd, void *buf, size_t n)
{
	return posix_ret(posix_cancelable_sysc(SYS_read, posix_io_fd(fd), (long)buf, (long)n, 0));
}

ssize_t write(int fd, const void *buf, size_t n)
{
	return posix_ret(posix_cancelable_sysc(SYS_write, posix_io_fd(fd), (long)buf, (long)n, 0));
}

void (*posix_close_hook)(int fd);

int close(int fd)
{
	struct posix_vfork *v = posix_vfork_of_self();
	if (v->in_child)
		return posix_vfork_close(v, fd);
	if (posix_close_hook)
		posix_close_hook(fd);
	int data = posix_socket_closed(fd);
	if (data >= 0)
		sys_close(data);
	return (int)posix_ret(sys_close(fd));
}

/* A pipe is Plan 9's #pipe, as Akaros's libc makes it: each attach is a new pipe with two ends,
 * data (read here) and data1 (written here). */
int pipe2(int fds[2], int flags)
{
	if (flags & ~(O_NONBLOCK | O_CLOEXEC)) {
		errno = EINVAL;
		return -1;
	}
	long dir = sys_open("#pipe", O_RDONLY);
	if (dir < 0)
		return (int)posix_ret(dir);
	long rd = sys_openat((int)dir, "data", O_RDONLY | flags, 0);
	long wr = rd < 0 ? rd : sys_openat((int)dir, "data1", O_WRONLY | flags, 0);
	sys_close((int)dir);
	if (wr < 0) {
		if (rd >= 0)
			sys_close((int)rd);
		return (int)posix_ret(wr);
	}
	fds[0] = (int)rd;
	fds[1] = (int)wr;
	return 0;
}

int pipe(int fds[2])
{
	return pipe2(fds, 0);
}

int fcntl(int fd, int cmd, ...)
{
	va_list ap;
	va_start(ap, cmd);
	long arg = cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC || cmd == F_SETFD || cmd == F_SETFL
	                   ? va_arg(ap, long) : 0;
	va_end(ap);
	long r = sys_fcntl(fd, cmd, arg);
	struct posix_vfork *v = posix_vfork_of_self();
	if (r >= 0 && v->in_child && (cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC))
		return posix_vfork_temp(v, (int)r);
	return (int)posix_ret(r);
}

int dup(int fd)
{
	return fcntl(fd, F_DUPFD, 0L);
}

/* Akaros has no dup2: close newfd, then the lowest free descriptor from newfd up (which is
 * newfd unless another pthread took it meanwhile: EBUSY, as Linux's dup2 racing an open). */
int dup2(int fd, int newfd)
{
	struct posix_vfork *v = posix_vfork_of_self();
	if (v->in_child)
		return posix_vfork_dup2(v, fd, newfd);
	if (sys_fcntl(fd, F_GETFD, 0) < 0 || newfd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fd == newfd)
		return newfd;
	close(newfd);
	long r = sys_fcntl(fd, F_DUPFD, newfd);
	if (r >= 0 && r != newfd) {
		sys_close((int)r);
		r = -EBUSY;
	}
	return (int)posix_ret(r);
}

/* The mode argument that follows flags when they create a file. */
static int vopenat(int dirfd, const char *path, int flags, va_list ap)
{
	int mode = flags & O_CREAT ? va_arg(ap, int) : 0;
	/* a cancellation point: opening may wait (a listener's call, say) */
	int fd = (int)posix_ret(posix_cancelable_sysc(SYS_openat, dirfd, (long)path, flags, mode));
	struct posix_vfork *v = posix_vfork_of_self();
	return fd >= 0 && v->in_child ? posix_vfork_temp(v, fd) : fd;
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int r = vopenat(dirfd, path, flags, ap);
	va_end(ap);
	return r;
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	va_start(ap, flags);
	int r = vopenat(AT_FDCWD, path, flags, ap);
	va_end(ap);
	return r;
}

int stat(const char *path, struct stat *st)
{
	return (int)posix_ret(sys_stat(path, (struct kstat *)st));
}

int fstat(int fd, struct stat *st)
{
	return (int)posix_ret(sys_fstat(posix_io_fd(fd), (struct kstat *)st));
}

pid_t getppid(void)
{
	return (pid_t)procinfo()->ppid;
}

void abort(void)
{
	exit(134);
}

int abs(int x)
{
	return x < 0 ? -x : x;
}

long labs(long x)
{
	return x < 0 ? -x : x;
}

/* --- time: virtual time, from the time-stamp counter ------------------------------------- */

int clock_gettime(clockid_t clock, struct timespec *ts)
{
	(void)clock;
	uint64_t freq = procinfo()->tsc_freq, tsc = read_tsc();
	ts->tv_sec = (int64_t)(tsc / freq);
	ts->tv_nsec = (int64_t)((tsc % freq) * 1000000000 / freq);
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}

/* A pthread sleeps on a parlib alarm: only it stops, its vcore runs others meanwhile, and
 * pthread_cancel wakes it (a cancellation point).  Outside a pthread: the kernel's sleep. */
static int sleep_usec(uint64_t usec, uint64_t *left)
{
	*left = 0;
	struct uthread *uth = current_uthread();
	if (!uth || in_vcore_context())
		return (int)posix_ret(sys_block(usec));
	posix_cancel_point();
	uint64_t deadline = alarm_deadline_in(usec);
	for (;;) {
		struct posix_wait w;
		posix_wait_begin(&w);
		if (!uth_sleep_until(deadline, true))
			return 0;
		posix_cancel_point();
		/* a handler ends a sleep, SA_RESTART or not, as on Linux */
		if (posix_wait_end(&w) != POSIX_WAIT_AGAIN) {
			*left = alarm_usec_until(deadline);
			errno = EINTR;
			return -1;
		}
	}
}

int nanosleep(const struct timespec *req, struct timespec *rem)
{
	if (req->tv_nsec < 0 || req->tv_nsec >= 1000000000 || req->tv_sec < 0) {
		errno = EINVAL;
		return -1;
	}
	uint64_t left;
	int r = sleep_usec((uint64_t)req->tv_sec * 1000000 + ((uint64_t)req->tv_nsec + 999) / 1000, &left);
	if (r < 0 && rem) {
		rem->tv_sec = (time_t)(left / 1000000);
		rem->tv_nsec = (long)(left % 1000000) * 1000;
	}
	return r;
}

int usleep(useconds_t usec)
{
	uint64_t left;
	return sleep_usec(usec, &left);
}

/* The whole seconds left if a handler cut it short, as musl's */
unsigned int sleep(unsigned int seconds)
{
	uint64_t left;
	if (sleep_usec((uint64_t)seconds * 1000000, &left) < 0)
		return (unsigned int)(left / 1000000);
	return 0;
}

/* --- directories: read() on one gives struct kdirent records --------------------------------- */

struct posix_dir {
	int fd;
	long have, at;
	struct dirent entry;
	struct kdirent buf[8];
};

DIR *opendir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY);
	if (fd < 0)
		return NULL;
	DIR *dir = calloc(1, sizeof *dir);
	if (!dir) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	dir->fd = fd;
	return dir;
}

struct dirent *readdir(DIR *dir)
{
	if (dir->at >= dir->have) {
		long n = sys_read(dir->fd, dir->buf, sizeof dir->buf);
		if (n <= 0) {
			if (n < 0)
				errno = (int)-n;
			return NULL;
		}
		dir->have = n / (long)sizeof(struct kdirent);
		dir->at = 0;
	}
	struct kdirent *k = &dir->buf[dir->at++];
	dir->entry.d_ino = k->d_ino;
	dir->entry.d_off = k->d_off;
	dir->entry.d_reclen = sizeof dir->entry;
	dir->entry.d_type = k->d_type;
	memcpy(dir->entry.d_name, k->d_name, sizeof dir->entry.d_name);
	return &dir->entry;
}

int closedir(DIR *dir)
{
	int r = close(dir->fd);
	free(dir);
	return r;
}

/* --- strings POSIX has and parlib lacks ----------------------------------------------------- */

char *strstr(const char *haystack, const char *needle)
{
	size_t n = strlen(needle);
	for (; *haystack; haystack++)
		if (!strncmp(haystack, needle, n))
			return (char *)haystack;
	return n ? NULL : (char *)haystack;
}

char *strncpy(char *dst, const char *src, size_t n)
{
	size_t i = 0;
	for (; i < n && src[i]; i++)
		dst[i] = src[i];
	for (; i < n; i++)
		dst[i] = 0;
	return dst;
}

char *strcat(char *dst, const char *src)
{
	strcpy(dst + strlen(dst), src);
	return dst;
}

char *strncat(char *dst, const char *src, size_t n)
{
	char *end = dst + strlen(dst);
	size_t i = 0;
	for (; i < n && src[i]; i++)
		end[i] = src[i];
	end[i] = 0;
	return dst;
}

char *strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *copy = malloc(n);
	return copy ? memcpy(copy, s, n) : NULL;
}

void *memchr(const void *s, int c, size_t n)
{
	const unsigned char *p = s;
	for (size_t i = 0; i < n; i++)
		if (p[i] == (unsigned char)c)
			return (void *)(p + i);
	return NULL;
}

size_t strspn(const char *s, const char *accept)
{
	size_t n = 0;
	while (s[n] && strchr(accept, s[n]))
		n++;
	return n;
}

size_t strcspn(const char *s, const char *reject)
{
	size_t n = 0;
	while (s[n] && !strchr(reject, s[n]))
		n++;
	return n;
}

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

int strncasecmp(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int d = lower((unsigned char)a[i]) - lower((unsigned char)b[i]);
		if (d || !a[i])
			return d;
	}
	return 0;
}

int strcasecmp(const char *a, const char *b)
{
	return strncasecmp(a, b, (size_t)-1);
}

static const char *const messages[] = {
	[0] = "Success", [EPERM] = "Operation not permitted", [ENOENT] = "No such file or directory",
	[ESRCH] = "No such process", [EINTR] = "Interrupted system call", [EIO] = "I/O error",
	[EBADF] = "Bad file descriptor", [ECHILD] = "No child processes",
	[EAGAIN] = "Resource temporarily unavailable", [ENOMEM] = "Out of memory",
	[EACCES] = "Permission denied", [EFAULT] = "Bad address", [EBUSY] = "Resource busy",
	[EEXIST] = "File exists", [ENOTDIR] = "Not a directory", [EISDIR] = "Is a directory",
	[EINVAL] = "Invalid argument", [ENFILE] = "Too many open files in system",
	[EMFILE] = "No file descriptors available", [ENOSPC] = "No space left on device",
	[EPIPE] = "Broken pipe", [ENOSYS] = "Function not implemented",
	[EADDRINUSE] = "Address in use", [ECONNRESET] = "Connection reset by peer",
	[ECONNREFUSED] = "Connection refused",
};

char *strerror(int errnum)
{
	if (errnum >= 0 && errnum < (int)(sizeof messages / sizeof messages[0]) && messages[errnum])
		return (char *)messages[errnum];
	return "Unknown error";
}
