/* uhttpd: httpd's HTTP/1.1 server with a uthread per connection on a many-core process.
 *
 *   uhttpd [PORT [ROOT [VCORES]]]   serve files under ROOT (default /) on PORT (default 80)
 *                                   with VCORES vcores (default: all the process may have)
 *
 * The same HTTP as user/httpd.c: GET and HEAD, keep-alive (HTTP/1.1 unless "Connection: close";
 * HTTP/1.0 with "keep-alive"), pipelined requests, a directory's index.html, 404 for what is not
 * there, 400 for what is not HTTP, 501 for other methods.  Directories without index.html are
 * 403 (the personality has no call to list a directory).
 *
 * Thread 0 announces tcp!*!PORT and loops on listen/accept (parlib/net.c, Plan 9 style); each
 * call gets a detached uthread.  Reads and writes on /net files are nonblocking: a uthread that
 * would wait parks until the file's FD tap fires, and its vcore runs other connections; idle
 * vcores give their cores back and the tap's event wakes the process again. */
#include "parlib/net.h"

#define REQ_MAX 8192
#define SMALL_REPLY 8192

static const char *root = "";
static volatile uint64_t served, connections;

static int lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

static int prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix; s++, prefix++)
		if (lower(*s) != lower(*prefix))
			return 0;
	return 1;
}

static char *find(char *s, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (!memcmp(s + i, needle, n))
			return s + i;
	return NULL;
}

static int reply(int fd, int code, const char *reason, const char *type, const char *body,
                 size_t len, int head, int keep)
{
	char hdr[512];
	int n = snprintf(hdr, sizeof hdr,
	                 "HTTP/1.1 %d %s\r\nServer: kernkit-uhttpd\r\nContent-Type: %s\r\n"
	                 "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
	                 code, reason, type, len, keep ? "keep-alive" : "close");
	if (!head && len && (size_t)n + len <= SMALL_REPLY) { /* one write for small replies */
		char buf[SMALL_REPLY];
		memcpy(buf, hdr, n);
		memcpy(buf + n, body, len);
		return uth_write_all(fd, buf, n + len);
	}
	int r = uth_write_all(fd, hdr, n);
	if (r < 0 || head)
		return r;
	return uth_write_all(fd, body, len);
}

static const char *mime(const char *path)
{
	const char *dot = strrchr(path, '.');
	if (!dot)
		return "application/octet-stream";
	if (!strcmp(dot, ".html") || !strcmp(dot, ".htm"))
		return "text/html";
	if (!strcmp(dot, ".txt") || !strcmp(dot, ".c") || !strcmp(dot, ".md"))
		return "text/plain";
	if (!strcmp(dot, ".css"))
		return "text/css";
	if (!strcmp(dot, ".js"))
		return "application/javascript";
	if (!strcmp(dot, ".png"))
		return "image/png";
	return "application/octet-stream";
}

/* The whole file: in buf (cap bytes) if it fits, else in a malloc'd block (*big, for the
 * caller to free).  Returns its size, or -errno (-ENOENT, -EISDIR, ..., -ENOMEM when the
 * block cannot grow: never part of the file as if it were all of it). */
static long slurp(const char *path, char *buf, size_t cap, char **big)
{
	*big = NULL;
	int f = (int)sys_open(path, O_RDONLY);
	if (f < 0)
		return f;
	char *body = buf;
	size_t got = 0;
	long r;
	for (;;) {
		if (got == cap) {
			char *bigger = realloc(*big, cap * 2);
			if (!bigger) {
				r = -ENOMEM;
				break;
			}
			if (!*big)
				memcpy(bigger, buf, got);
			*big = body = bigger;
			cap *= 2;
		}
		r = sys_read(f, body + got, cap - got);
		if (r <= 0)
			break;
		got += r;
	}
	sys_close(f);
	if (r < 0) {
		free(*big);
		*big = NULL;
		return r;
	}
	return (long)got;
}

static int serve_path(int fd, const char *url, int head, int keep)
{
	char path[1200];
	for (const char *p = url; *p; p++)
		if (p[0] == '.' && p[1] == '.')
			return reply(fd, 403, "Forbidden", "text/plain", "forbidden\n", 10, head, keep);
	size_t ulen = strlen(url);
	int n = snprintf(path, sizeof path, "%s%s%s", root, url,
	                 ulen && url[ulen - 1] == '/' ? "index.html" : "");
	char small[8192], *big;
	long size = slurp(path, small, sizeof small, &big);
	int index = size == -EISDIR;
	if (index) {
		snprintf(path + n, sizeof path - n, "/index.html");
		size = slurp(path, small, sizeof small, &big);
	}
	if (size == -ENOMEM)
		return reply(fd, 500, "Internal Server Error", "text/plain", "out of memory\n", 14, head, keep);
	if (size < 0 && index)
		return reply(fd, 403, "Forbidden", "text/plain", "forbidden\n", 10, head, keep);
	if (size < 0)
		return reply(fd, 404, "Not Found", "text/plain", "not found\n", 10, head, keep);
	int r = reply(fd, 200, "OK", mime(path), big ? big : small, size, head, keep);
	free(big);
	return r;
}

/* Split "METHOD URL VERSION" at the start of the request; 0 if it is not that. */
static int request_line(char *buf, char **method, char **url, char **version)
{
	char *words[3];
	char *p = buf;
	for (int i = 0; i < 3; i++) {
		while (*p == ' ')
			p++;
		if (*p == '\r' || !*p)
			return 0;
		words[i] = p;
		while (*p && *p != ' ' && *p != '\r')
			p++;
		if (i < 2 && *p != ' ')
			return 0;
		if (*p)
			*p++ = 0;
	}
	*method = words[0];
	*url = words[1];
	*version = words[2];
	return strlen(*url) < 1024 && strlen(*method) < 16;
}

static void *connection(void *arg)
{
	int fd = (int)(long)arg;
	char buf[REQ_MAX + 1]; /* uthread stacks are 64 KiB: requests, files and replies fit */
	size_t have = 0;
	atomic_add(&connections, 1);
	for (;;) {
		char *end;
		while (!(end = find(buf, have, "\r\n\r\n"))) {
			if (have >= REQ_MAX)
				goto done;
			long r = uth_read(fd, buf + have, REQ_MAX - have);
			if (r <= 0)
				goto done;
			have += r;
		}
		size_t used = end + 4 - buf;
		int keep = 0;
		/* headers first: request_line writes NULs into the first line */
		int http11 = 0;
		for (char *line = find(buf, used, "\r\n"); line && line < end;
		     line = find(line + 2, end + 2 - (line + 2), "\r\n")) {
			if (prefix_nocase(line + 2, "Connection:")) {
				char *v = line + 13;
				while (*v == ' ')
					v++;
				if (prefix_nocase(v, "close"))
					keep = -1;
				else if (prefix_nocase(v, "keep-alive"))
					keep = 1;
			}
		}
		char *method, *url, *version;
		if (!request_line(buf, &method, &url, &version) || strncmp(version, "HTTP/1.", 7)) {
			reply(fd, 400, "Bad Request", "text/plain", "bad request\n", 12, 0, 0);
			goto done;
		}
		http11 = !strcmp(version, "HTTP/1.1");
		keep = keep == 0 ? http11 : keep > 0;
		int head = !strcmp(method, "HEAD");
		int r;
		if (strcmp(method, "GET") && !head)
			r = reply(fd, 501, "Not Implemented", "text/plain", "not implemented\n", 16, 0, keep);
		else
			r = serve_path(fd, url, head, keep);
		atomic_add(&served, 1);
		if (r < 0 || !keep)
			break;
		memmove(buf, buf + used, have - used); /* pipelined requests */
		have -= used;
	}
done:
	uth_close(fd);
	return NULL;
}

int main(int argc, char **argv)
{
	int port = argc > 1 ? atoi(argv[1]) : 80;
	if (argc > 2 && strcmp(argv[2], "/"))
		root = argv[2];
	uth_net_init();
	if (uthread_mcp_init(NULL) < 0) {
		printf("uhttpd: cannot become an MCP (the Akaros personality and a scheduler with "
		       "vcores are needed)\n");
		return 1;
	}
	uint32_t vcores = argc > 3 ? (uint32_t)atoi(argv[3]) : max_vcores();
	char addr[32], dir[NETPATH];
	snprintf(addr, sizeof addr, "tcp!*!%d", port);
	int actl = announce9(addr, dir);
	if (actl < 0) {
		printf("uhttpd: announce %s: error %d\n", addr, -actl);
		return 1;
	}
	vcore_request_total(vcores);
	printf("uhttpd: serving %s on port %d (%s), %u vcores wanted of %u\n", argc > 2 ? argv[2] : "/",
	       port, dir, vcores, max_vcores());
	for (;;) {
		char newdir[NETPATH];
		int ctl = listen9(dir, newdir);
		if (ctl < 0) {
			printf("uhttpd: listen: error %d\n", -ctl);
			sys_block(1000);
			continue;
		}
		int data = accept9(ctl, newdir);
		sys_close(ctl); /* the conversation lives on in its data file */
		if (data < 0)
			continue;
		struct uthread *t = uthread_create(connection, (void *)(long)data);
		if (!t) {
			uth_close(data);
			continue;
		}
		uthread_detach(t);
	}
}
