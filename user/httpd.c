/* httpd: a small HTTP/1.1 server, one thread per connection (pthreads), with keep-alive.
 *
 *   httpd [PORT [ROOT [SPARE]]]   serve files under ROOT (default /) on PORT (default 80)
 *
 * Without SPARE (or with 0) the main thread accepts and makes a thread for each connection,
 * which ends with it. With SPARE > 0 the threads are reused, as pre-threaded servers do: SPARE
 * workers wait in accept(); the last idle one to take a connection starts another, and a worker
 * done with its connection goes back to accept() unless 2 x SPARE others already wait there.
 *
 * GET and HEAD; a directory serves its index.html, or a listing; 404 for what is not there,
 * 400 for what is not HTTP, 501 for other methods. Connections stay open across requests unless
 * the client asks "Connection: close" or speaks HTTP/1.0 without "keep-alive".
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define REQ_MAX 8192

static const char *root = "/";
static long served;
static int listener, spare, idle;
static pthread_attr_t attr;

static int send_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0) return -1;
        p += w;
        n -= w;
    }
    return 0;
}

static int reply(int fd, int code, const char *reason, const char *type, const char *body, size_t len,
                 int head, int keep) {
    char hdr[512];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nServer: kernkit-httpd\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\n\r\n",
                     code, reason, type, len, keep ? "keep-alive" : "close");
    if (!head && len && (size_t)n + len <= 16384) { /* one write for small replies */
        char buf[16384];
        memcpy(buf, hdr, n);
        memcpy(buf + n, body, len);
        return send_all(fd, buf, n + len);
    }
    if (send_all(fd, hdr, n) < 0) return -1;
    return head ? 0 : send_all(fd, body, len);
}

static const char *mime(const char *path) {
    const char *dot = strrchr(path, '.');
    if (!dot) return "application/octet-stream";
    if (!strcmp(dot, ".html") || !strcmp(dot, ".htm")) return "text/html";
    if (!strcmp(dot, ".txt") || !strcmp(dot, ".c") || !strcmp(dot, ".md")) return "text/plain";
    if (!strcmp(dot, ".css")) return "text/css";
    if (!strcmp(dot, ".js")) return "application/javascript";
    if (!strcmp(dot, ".png")) return "image/png";
    return "application/octet-stream";
}

static int serve_path(int fd, const char *url, int head, int keep) {
    char path[1024];
    if (strstr(url, "..")) return reply(fd, 403, "Forbidden", "text/plain", "forbidden\n", 10, head, keep);
    snprintf(path, sizeof path, "%s%s", strcmp(root, "/") ? root : "", url);
    struct stat st;
    if (stat(path, &st) < 0) return reply(fd, 404, "Not Found", "text/plain", "not found\n", 10, head, keep);
    if (S_ISDIR(st.st_mode)) {
        char index[1100];
        snprintf(index, sizeof index, "%s/index.html", path);
        if (stat(index, &st) == 0) {
            strcpy(path, index);
        } else {
            DIR *d = opendir(path);
            if (!d) return reply(fd, 403, "Forbidden", "text/plain", "forbidden\n", 10, head, keep);
            char *list = malloc(65536);
            size_t len = snprintf(list, 65536, "<html><body><h1>%s</h1><ul>\n", url);
            struct dirent *e;
            while ((e = readdir(d)) && len < 65000)
                if (e->d_name[0] != '.')
                    len += snprintf(list + len, 65536 - len, "<li><a href=\"%s%s%s\">%s</a></li>\n", url,
                                    url[strlen(url) - 1] == '/' ? "" : "/", e->d_name, e->d_name);
            closedir(d);
            len += snprintf(list + len, 65536 - len, "</ul></body></html>\n");
            int r = reply(fd, 200, "OK", "text/html", list, len, head, keep);
            free(list);
            return r;
        }
    }
    int f = open(path, O_RDONLY);
    if (f < 0) return reply(fd, 404, "Not Found", "text/plain", "not found\n", 10, head, keep);
    size_t size = st.st_size;
    char *body = malloc(size ? size : 1);
    size_t got = 0;
    while (got < size) {
        ssize_t r = read(f, body + got, size - got);
        if (r <= 0) break;
        got += r;
    }
    close(f);
    int r = reply(fd, 200, "OK", mime(path), body, got, head, keep);
    free(body);
    return r;
}

static void serve(int fd) {
    char buf[REQ_MAX + 1]; /* on the stack: a free() of it per connection returns pages (madvise) */
    size_t have = 0;
    for (;;) {
        char *end;
        while (!(buf[have] = 0, end = strstr(buf, "\r\n\r\n"))) {
            if (have >= REQ_MAX) goto done;
            ssize_t r = recv(fd, buf + have, REQ_MAX - have, 0);
            if (r <= 0) goto done;
            have += r;
        }
        size_t used = end + 4 - buf;
        char method[16], url[1024], version[16];
        if (sscanf(buf, "%15s %1023s %15s", method, url, version) != 3 || strncmp(version, "HTTP/1.", 7)) {
            reply(fd, 400, "Bad Request", "text/plain", "bad request\n", 12, 0, 0);
            goto done;
        }
        int keep = !strcmp(version, "HTTP/1.1");
        for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
            if (!strncasecmp(line + 2, "Connection:", 11)) {
                char *v = line + 13;
                while (*v == ' ') v++;
                if (!strncasecmp(v, "close", 5)) keep = 0;
                if (!strncasecmp(v, "keep-alive", 10)) keep = 1;
            }
        }
        int head = !strcmp(method, "HEAD");
        int r;
        if (strcmp(method, "GET") && !head)
            r = reply(fd, 501, "Not Implemented", "text/plain", "not implemented\n", 16, 0, keep);
        else
            r = serve_path(fd, url, head, keep);
        __atomic_add_fetch(&served, 1, __ATOMIC_RELAXED);
        if (r < 0 || !keep) break;
        memmove(buf, buf + used, have - used); /* pipelined requests */
        have -= used;
    }
done:
    close(fd);
}

static void *connection(void *arg) {
    serve((int)(long)arg);
    return NULL;
}

static int take(void) {
    static const int one = 1;
    for (;;) {
        int c = accept(listener, NULL, NULL);
        if (c >= 0) {
            setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return c;
        }
        if (errno == EMFILE || errno == ENFILE) usleep(1000);
    }
}

static void *worker(void *arg);

static void start_worker(void) {
    pthread_t t;
    __atomic_add_fetch(&idle, 1, __ATOMIC_SEQ_CST);
    if (pthread_create(&t, &attr, worker, NULL)) __atomic_sub_fetch(&idle, 1, __ATOMIC_SEQ_CST);
}

/* arg non-NULL: the main thread's worker, which never ends */
static void *worker(void *arg) {
    for (;;) {
        int c = take();
        if (__atomic_sub_fetch(&idle, 1, __ATOMIC_SEQ_CST) == 0) start_worker();
        serve(c);
        if (__atomic_add_fetch(&idle, 1, __ATOMIC_SEQ_CST) > 2 * spare && !arg) {
            __atomic_sub_fetch(&idle, 1, __ATOMIC_SEQ_CST);
            return NULL;
        }
    }
}

int main(int argc, char **argv) {
    int port = argc > 1 ? atoi(argv[1]) : 80;
    if (argc > 2) root = argv[2];
    spare = argc > 3 ? atoi(argv[3]) : 0;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 128) < 0) {
        fprintf(stderr, "httpd: port %d: %s\n", port, strerror(errno));
        return 1;
    }
    printf("httpd: serving %s on port %d\n", root, port);
    fflush(stdout);
    listener = s;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    if (spare > 0) {
        for (int i = 1; i < spare; i++) start_worker();
        __atomic_add_fetch(&idle, 1, __ATOMIC_SEQ_CST);
        worker(&attr);
    }
    for (;;) {
        int c = take();
        pthread_t t;
        if (pthread_create(&t, &attr, connection, (void *)(long)c)) close(c);
    }
}
