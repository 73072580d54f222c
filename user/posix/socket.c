/* BSD sockets over Plan 9's /net, as Akaros's libc does it.  A socket is its conversation's ctl
 * file (/net/tcp/N/ctl, from /net/tcp/clone); listen announces on it, accept opens the listen
 * file (which waits for a call: only the calling pthread blocks) and returns the new
 * conversation's data file, connect writes "connect" and does its I/O through the data file. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "parlib/uthread.h"
#include "posix.h"

#define MAX_SOCKETS 1024

struct sock {
	char dir[40];   /* /net/tcp/N, or "" for a descriptor that is no socket */
	int port;       /* from bind */
	int data;       /* the data file, once connected (-1 before) */
};

static struct sock socks[MAX_SOCKETS];
static struct spin_pdr_lock socks_lock = SPIN_PDR_INITIALIZER;

static struct sock *sock_of(int fd)
{
	return fd >= 0 && fd < MAX_SOCKETS && socks[fd].dir[0] ? &socks[fd] : NULL;
}

int posix_io_fd(int fd)
{
	struct sock *s = sock_of(fd);
	return s && s->data >= 0 ? s->data : fd;
}

bool posix_is_socket(int fd)
{
	return sock_of(fd) != NULL;
}

int posix_socket_closed(int fd)
{
	struct sock *s = sock_of(fd);
	if (!s)
		return -1;
	spin_pdr_lock(&socks_lock);
	int data = s->data != fd ? s->data : -1;
	memset(s, 0, sizeof *s);
	spin_pdr_unlock(&socks_lock);
	return data;
}

static int remember(int fd, const char *dir, int data)
{
	if (fd < 0 || fd >= MAX_SOCKETS)
		return -1;
	spin_pdr_lock(&socks_lock);
	snprintf(socks[fd].dir, sizeof socks[fd].dir, "%s", dir);
	socks[fd].data = data;
	socks[fd].port = 0;
	spin_pdr_unlock(&socks_lock);
	return 0;
}

/* The conversation number a ctl file reads as, made "/net/tcp/N" in dir. */
static int conversation(int ctl, char *dir, size_t size)
{
	char num[16];
	long n = sys_read(ctl, num, sizeof num - 1);
	if (n <= 0)
		return n < 0 ? (int)n : -EINVAL;
	num[n] = 0;
	snprintf(dir, size, "/net/tcp/%ld", strtol(num, NULL, 10));
	return 0;
}

int socket(int domain, int type, int protocol)
{
	(void)protocol;
	if (domain != AF_INET || type != SOCK_STREAM) {
		errno = domain != AF_INET ? EAFNOSUPPORT : EPROTONOSUPPORT;
		return -1;
	}
	long ctl = sys_open("/net/tcp/clone", O_RDWR);
	if (ctl < 0)
		return (int)posix_ret(ctl);
	char dir[40];
	int r = conversation((int)ctl, dir, sizeof dir);
	if (r < 0 || remember((int)ctl, dir, -1) < 0) {
		sys_close((int)ctl);
		return (int)posix_ret(r < 0 ? r : -EMFILE);
	}
	return (int)ctl;
}

int setsockopt(int fd, int level, int name, const void *value, socklen_t len)
{
	(void)level;
	(void)name;
	(void)value;
	(void)len;
	if (!sock_of(fd) && !(fd >= 0 && fd < MAX_SOCKETS)) {
		errno = EBADF;
		return -1;
	}
	return 0; /* SO_REUSEADDR, TCP_NODELAY: nothing to do over loopback */
}

int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sock *s = sock_of(fd);
	if (!s || len < sizeof(struct sockaddr_in)) {
		errno = s ? EINVAL : ENOTSOCK;
		return -1;
	}
	s->port = ntohs(((const struct sockaddr_in *)addr)->sin_port);
	return 0;
}

int listen(int fd, int backlog)
{
	(void)backlog;
	struct sock *s = sock_of(fd);
	if (!s) {
		errno = ENOTSOCK;
		return -1;
	}
	char msg[32];
	int n = snprintf(msg, sizeof msg, "announce *!%d", s->port);
	long r = sys_write(fd, msg, (size_t)n);
	return r < 0 ? (int)posix_ret(r == -EBUSY ? -EADDRINUSE : r) : 0;
}

int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	struct sock *s = sock_of(fd);
	if (!s) {
		errno = ENOTSOCK;
		return -1;
	}
	char path[48];
	snprintf(path, sizeof path, "%s/listen", s->dir);
	/* waits for a call: a cancellation point */
	long ctl = posix_cancelable_sysc(SYS_openat, AT_FDCWD, (long)path, O_RDWR, 0);
	if (ctl < 0)
		return (int)posix_ret(ctl);
	char dir[40];
	int r = conversation((int)ctl, dir, sizeof dir);
	long data = r < 0 ? r : 0;
	if (r == 0) {
		snprintf(path, sizeof path, "%s/data", dir);
		data = sys_open(path, O_RDWR);
	}
	sys_close((int)ctl); /* the conversation lives on in its data file */
	if (data < 0)
		return (int)posix_ret(data);
	remember((int)data, dir, (int)data);
	if (addr && len && *len >= sizeof(struct sockaddr_in)) {
		struct sockaddr_in peer = { .sin_family = AF_INET, .sin_addr = { htonl(INADDR_LOOPBACK) } };
		memcpy(addr, &peer, sizeof peer);
		*len = sizeof peer;
	}
	return (int)data;
}

int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	struct sock *s = sock_of(fd);
	if (!s || len < sizeof(struct sockaddr_in)) {
		errno = s ? EINVAL : ENOTSOCK;
		return -1;
	}
	const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
	uint32_t ip = ntohl(in->sin_addr.s_addr);
	char msg[64];
	int n = snprintf(msg, sizeof msg, "connect %u.%u.%u.%u!%u", ip >> 24, ip >> 16 & 255,
	                 ip >> 8 & 255, ip & 255, ntohs(in->sin_port));
	/* a cancellation point: the dial may wait */
	long r = posix_cancelable_sysc(SYS_write, fd, (long)msg, n, 0);
	if (r < 0)
		return (int)posix_ret(r);
	char path[48];
	snprintf(path, sizeof path, "%s/data", s->dir);
	long data = sys_open(path, O_RDWR);
	if (data < 0)
		return (int)posix_ret(data);
	s->data = (int)data;
	return 0;
}

ssize_t send(int fd, const void *buf, size_t n, int flags)
{
	(void)flags; /* MSG_NOSIGNAL: Akaros sends no SIGPIPE anyway */
	return write(fd, buf, n); /* a cancellation point, as write */
}

ssize_t recv(int fd, void *buf, size_t n, int flags)
{
	(void)flags;
	return read(fd, buf, n); /* a cancellation point, as read */
}

int shutdown(int fd, int how)
{
	(void)how;
	struct sock *s = sock_of(fd);
	if (!s) {
		errno = ENOTSOCK;
		return -1;
	}
	return 0;
}

int inet_pton(int af, const char *src, void *dst)
{
	unsigned a, b, c, d;
	if (af != AF_INET || sscanf(src, "%u.%u.%u.%u", &a, &b, &c, &d) != 4 || (a | b | c | d) > 255)
		return 0;
	((struct in_addr *)dst)->s_addr = htonl(a << 24 | b << 16 | c << 8 | d);
	return 1;
}
