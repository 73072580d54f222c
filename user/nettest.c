/* nettest: exercises the kernel's TCP/UDP through sockets and /net files.
 *
 *   nettest echo PORT COUNT      a forked echo server; COUNT round trips, checked
 *   nettest many N               N connections at once to an epoll server (a forked child)
 *   nettest refused PORT         connect to a port nobody listens on
 *   nettest reset                the peer closes with unread input: ECONNRESET
 *   nettest big BYTES            BYTES from one process to another, checked; MiB/s in virtual time
 *   nettest stream BYTES         BYTES one way as fast as they go (a benchmark)
 *   nettest halfclose            shutdown(SHUT_WR), the server reads to EOF, answers
 *   nettest leak                 sockets until the kernel says no; then the kernel goes on
 *   nettest udp                  datagrams both ways, sendto/recvfrom, connected UDP
 *   nettest files                /net/tcp/clone, ctl verbs, listen, and malformed ctl writes
 *   nettest select               select and poll on a listener and a connection, timeouts
 *   nettest pair                 socketpair(AF_UNIX, SOCK_STREAM), one fact a line (as on Linux)
 *   nettest serve PORT           accept one connection, echo until EOF (for host clients)
 *   nettest dial ADDR PORT MSG   connect, send MSG, shut down writing, print what comes back
 *   nettest intr                 a signal in a blocked accept and recv, with and without SA_RESTART
 *   nettest pingpong N [read|poll]  N one-byte round trips between two processes over pipes
 *                                with blocking read(), then N more each side waiting in poll()
 *                                first (or only the one kind)
 *   nettest intrio               the same for read(), readv() on a pipe and a socket, and poll,
 *                                ppoll, select and epoll_wait (never restarted), which also wait
 *                                for bytes that come later
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <signal.h>
#include <sys/select.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what) {
    printf("FAIL %s: %s\n", what, strerror(errno));
    exit(1);
}

static struct sockaddr_in addr_of(const char *ip, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

static int listener(int port, int backlog) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) die("socket");
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = addr_of("0.0.0.0", port);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
    if (listen(s, backlog) < 0) die("listen");
    return s;
}

static int dial(const char *ip, int port) {
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0) die("socket");
    struct sockaddr_in a = addr_of(ip, port);
    if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(s);
        errno = e;
        return -1;
    }
    return s;
}

static int write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w;
        n -= w;
    }
    return 0;
}

static ssize_t read_full(int fd, void *buf, size_t n) {
    char *p = buf;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0) return -1;
        if (r == 0) break;
        got += r;
    }
    return got;
}

static void echo_loop(int c) {
    char buf[65536];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0)
        if (write_all(c, buf, n) < 0) break;
    close(c);
}

static int echo(int port, int count) {
    int s = listener(port, 16);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(s, NULL, NULL);
        if (c < 0) die("accept");
        close(s);
        echo_loop(c);
        _exit(0);
    }
    close(s);
    int c = dial("127.0.0.1", port);
    if (c < 0) die("connect");
    struct sockaddr_in me, peer;
    socklen_t len = sizeof me;
    getsockname(c, (struct sockaddr *)&me, &len);
    len = sizeof peer;
    getpeername(c, (struct sockaddr *)&peer, &len);
    printf("local %s:%d -> ", inet_ntoa(me.sin_addr), ntohs(me.sin_port));
    printf("remote %s:%d\n", inet_ntoa(peer.sin_addr), ntohs(peer.sin_port));
    for (int i = 0; i < count; i++) {
        char msg[64], back[64];
        int n = snprintf(msg, sizeof msg, "message %d", i);
        if (write_all(c, msg, n) < 0) die("write");
        if (read_full(c, back, n) != n || memcmp(msg, back, n)) {
            printf("FAIL echo %d\n", i);
            return 1;
        }
    }
    close(c);
    int status;
    waitpid(pid, &status, 0);
    printf("echo ok %d round trips\n", count);
    return 0;
}

static int many(int n) {
    int s = listener(7000, 128);
    pid_t pid = fork();
    if (pid == 0) { /* an epoll server: echo on every connection until each closes */
        int ep = epoll_create1(0);
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = s};
        epoll_ctl(ep, EPOLL_CTL_ADD, s, &ev);
        int open_conns = 0, served = 0;
        while (served < n || open_conns) {
            struct epoll_event evs[64];
            int k = epoll_wait(ep, evs, 64, -1);
            if (k < 0) die("epoll_wait");
            for (int i = 0; i < k; i++) {
                int fd = evs[i].data.fd;
                if (fd == s) {
                    int c = accept4(s, NULL, NULL, SOCK_NONBLOCK);
                    if (c < 0) continue;
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
                    open_conns++;
                    served++;
                } else {
                    char buf[4096];
                    ssize_t r = read(fd, buf, sizeof buf);
                    if (r > 0) {
                        write_all(fd, buf, r);
                    } else if (r == 0 || errno != EAGAIN) {
                        epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
                        close(fd);
                        open_conns--;
                    }
                }
            }
        }
        _exit(0);
    }
    close(s);
    int *fds = calloc(n, sizeof *fds);
    for (int i = 0; i < n; i++) {
        fds[i] = dial("127.0.0.1", 7000);
        if (fds[i] < 0) die("connect");
    }
    for (int i = 0; i < n; i++) {
        char msg[32];
        int len = snprintf(msg, sizeof msg, "conn %d", i);
        write_all(fds[i], msg, len);
    }
    int good = 0;
    for (int i = n - 1; i >= 0; i--) {
        char msg[32], back[32];
        int len = snprintf(msg, sizeof msg, "conn %d", i);
        if (read_full(fds[i], back, len) == len && !memcmp(msg, back, len)) good++;
        close(fds[i]);
    }
    int status;
    waitpid(pid, &status, 0);
    printf("many ok %d/%d connections, server exit %d\n", good, n, WEXITSTATUS(status));
    return good == n ? 0 : 1;
}

static int refused(int port) {
    int c = dial("127.0.0.1", port);
    printf("connect to %d: %s\n", port, c < 0 ? strerror(errno) : "connected");
    c = dial("10.0.2.15", port);
    printf("connect to own address: %s\n", c < 0 ? strerror(errno) : "connected");
    c = dial("192.0.2.1", 80);
    printf("connect to 192.0.2.1: %s\n", c < 0 ? strerror(errno) : "connected");
    return 0;
}

static int reset(void) {
    int s = listener(7001, 4);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(s, NULL, NULL);
        char b[4];
        read(c, b, 4); /* reads 4 of 10 bytes, then closes with 6 unread */
        close(c);
        _exit(0);
    }
    int c = dial("127.0.0.1", 7001);
    write_all(c, "0123456789", 10);
    int status;
    waitpid(pid, &status, 0);
    char buf[16];
    ssize_t r = read(c, buf, sizeof buf);
    printf("read after reset: %zd (%s)\n", r, r < 0 ? strerror(errno) : "data");
    int e = 0;
    socklen_t len = sizeof e;
    getsockopt(c, SOL_SOCKET, SO_ERROR, &e, &len);
    r = send(c, "x", 1, MSG_NOSIGNAL);
    printf("send after reset: %zd (%s)\n", r, r < 0 ? strerror(errno) : "sent");
    close(c);
    return 0;
}

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int big(long total) {
    int s = listener(7002, 4);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(s, NULL, NULL);
        static char buf[1 << 16];
        long got = 0;
        uint32_t sum = 0, expect = 0;
        ssize_t r;
        int bad = 0;
        while ((r = read(c, buf, sizeof buf)) > 0) {
            for (ssize_t i = 0; i < r; i++) {
                unsigned char want = (unsigned char)((got + i) * 7 + ((got + i) >> 12));
                if ((unsigned char)buf[i] != want) bad++;
                sum = sum * 31 + (unsigned char)buf[i];
            }
            got += r;
        }
        (void)expect;
        char reply[64];
        int n = snprintf(reply, sizeof reply, "%ld %u %d", got, sum, bad);
        write_all(c, reply, n);
        close(c);
        _exit(0);
    }
    close(s);
    int c = dial("127.0.0.1", 7002);
    static char buf[1 << 16];
    long sent = 0;
    uint32_t sum = 0;
    uint64_t t0 = now_ns();
    while (sent < total) {
        long n = total - sent < (long)sizeof buf ? total - sent : (long)sizeof buf;
        for (long i = 0; i < n; i++) {
            buf[i] = (char)((sent + i) * 7 + ((sent + i) >> 12));
            sum = sum * 31 + (unsigned char)buf[i];
        }
        if (write_all(c, buf, n) < 0) die("write");
        sent += n;
    }
    shutdown(c, SHUT_WR);
    char reply[64] = {0};
    read_full(c, reply, sizeof reply - 1);
    uint64_t t1 = now_ns();
    long got;
    unsigned rsum;
    int bad;
    sscanf(reply, "%ld %u %d", &got, &rsum, &bad);
    int status;
    waitpid(pid, &status, 0);
    double secs = (t1 - t0) / 1e9;
    printf("big %s: sent %ld received %ld mismatches %d checksum %s; %.1f MiB/s virtual\n",
           got == total && rsum == sum && !bad ? "ok" : "FAIL", sent, got, bad,
           rsum == sum ? "equal" : "differs", secs > 0 ? total / secs / (1 << 20) : 0.0);
    return got == total && rsum == sum && !bad ? 0 : 1;
}

/* throughput only: no per-byte work on either side */
static int stream(long total) {
    int s = listener(7007, 4);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(s, NULL, NULL);
        static char buf[1 << 17];
        long got = 0;
        ssize_t r;
        while ((r = read(c, buf, sizeof buf)) > 0) got += r;
        write_all(c, &got, sizeof got);
        _exit(0);
    }
    close(s);
    int c = dial("127.0.0.1", 7007);
    static char buf[1 << 17];
    memset(buf, 'x', sizeof buf);
    uint64_t t0 = now_ns();
    long sent = 0;
    while (sent < total) {
        long n = total - sent < (long)sizeof buf ? total - sent : (long)sizeof buf;
        if (write_all(c, buf, n) < 0) die("write");
        sent += n;
    }
    shutdown(c, SHUT_WR);
    long got = 0;
    read_full(c, &got, sizeof got);
    uint64_t t1 = now_ns();
    int status;
    waitpid(pid, &status, 0);
    printf("stream %s: %ld bytes, %.1f MiB/s virtual\n", got == total ? "ok" : "FAIL", got,
           total / ((t1 - t0) / 1e9) / (1 << 20));
    return got == total ? 0 : 1;
}

static int halfclose(void) {
    int s = listener(7003, 4);
    pid_t pid = fork();
    if (pid == 0) {
        int c = accept(s, NULL, NULL);
        char buf[256];
        ssize_t got = read_full(c, buf, sizeof buf); /* to EOF */
        char reply[300];
        int n = snprintf(reply, sizeof reply, "got %zd bytes: %.*s", got, (int)got, buf);
        write_all(c, reply, n);
        close(c);
        _exit(0);
    }
    int c = dial("127.0.0.1", 7003);
    write_all(c, "request", 7);
    shutdown(c, SHUT_WR);
    char buf[300] = {0};
    ssize_t r = read_full(c, buf, sizeof buf - 1);
    printf("halfclose: %s (then %zd)\n", buf, read(c, buf, 1));
    (void)r;
    int status;
    waitpid(pid, &status, 0);
    return 0;
}

static int leak(void) {
    int n = 0, first_err = 0;
    for (;;) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (s < 0) {
            first_err = errno;
            break;
        }
        n++;
    }
    printf("leak: %d sockets, then %s\n", n, strerror(first_err));
    /* with descriptors gone, the kernel still works for others: a child can talk */
    pid_t pid = fork();
    if (pid == 0) {
        for (int fd = 3; fd < 1024; fd++) close(fd);
        _exit(echo(7004, 3));
    }
    int status;
    waitpid(pid, &status, 0);
    printf("leak: child exit %d\n", WEXITSTATUS(status));
    return 0;
}

static int udp(void) {
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in aa = addr_of("127.0.0.1", 9000), ba = addr_of("127.0.0.1", 9001);
    if (bind(a, (struct sockaddr *)&aa, sizeof aa) < 0) die("bind a");
    if (bind(b, (struct sockaddr *)&ba, sizeof ba) < 0) die("bind b");
    sendto(b, "ping", 4, 0, (struct sockaddr *)&aa, sizeof aa);
    sendto(b, "pong!", 5, 0, (struct sockaddr *)&aa, sizeof aa);
    char buf[64];
    struct sockaddr_in from;
    socklen_t len = sizeof from;
    ssize_t r = recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
    printf("udp: %zd bytes '%.*s' from %s:%d\n", r, (int)r, buf, inet_ntoa(from.sin_addr), ntohs(from.sin_port));
    r = recvfrom(a, buf, 2, 0, NULL, NULL);
    printf("udp: truncated to %zd '%.*s'\n", r, (int)r, buf);
    connect(a, (struct sockaddr *)&ba, sizeof ba);
    write(a, "reply", 5);
    r = read(b, buf, sizeof buf);
    printf("udp: connected reply '%.*s'\n", (int)r, buf);
    r = recv(a, buf, sizeof buf, MSG_DONTWAIT);
    printf("udp: empty queue: %s\n", r < 0 ? strerror(errno) : "data?");
    return 0;
}

static void ctl_try(int ctl, const char *msg, const char *errpath) {
    ssize_t r = write(ctl, msg, strlen(msg));
    char err[256] = {0};
    int e = errno;
    if (r < 0) {
        int fd = open(errpath, O_RDONLY);
        read(fd, err, sizeof err - 1);
        close(fd);
        err[strcspn(err, "\n")] = 0;
    }
    printf("ctl '%s': %s%s%s\n", msg, r < 0 ? strerror(e) : "ok", r < 0 ? " -- " : "", err);
}

static int files(void) {
    char num[16] = {0}, path[64], errpath[64];
    int ctl = open("/net/tcp/clone", O_RDWR);
    if (ctl < 0) die("open clone");
    read(ctl, num, sizeof num - 1);
    printf("clone: conversation %s\n", num);
    snprintf(errpath, sizeof errpath, "/net/tcp/%s/err", num);
    ctl_try(ctl, "frobnicate", errpath);
    ctl_try(ctl, "connect 127.0.0.1", errpath);
    ctl_try(ctl, "connect 300.1.2.3!80", errpath);
    ctl_try(ctl, "announce 99999", errpath);
    ctl_try(ctl, "", errpath);
    ctl_try(ctl, "announce 7005", errpath);
    pid_t pid = fork();
    if (pid == 0) {
        int c = dial("127.0.0.1", 7005);
        write_all(c, "hello over /net", 15);
        close(c);
        _exit(0);
    }
    snprintf(path, sizeof path, "/net/tcp/%s/listen", num);
    int lctl = open(path, O_RDWR); /* waits for the call */
    char n2[16] = {0};
    read(lctl, n2, sizeof n2 - 1);
    char remote[64] = {0}, status[128] = {0}, data[64] = {0};
    snprintf(path, sizeof path, "/net/tcp/%s/remote", n2);
    int fd = open(path, O_RDONLY);
    read(fd, remote, sizeof remote - 1);
    close(fd);
    snprintf(path, sizeof path, "/net/tcp/%s/data", n2);
    int dfd = open(path, O_RDWR);
    ssize_t got = read_full(dfd, data, 15);
    snprintf(path, sizeof path, "/net/tcp/%s/status", n2);
    fd = open(path, O_RDONLY);
    read(fd, status, sizeof status - 1);
    close(fd);
    printf("listen: conversation %s from %s", n2, remote);
    printf("data: '%.*s'\nstatus: %s", (int)got, data, status);
    int st;
    waitpid(pid, &st, 0);
    close(dfd);
    close(lctl);
    close(ctl);
    return 0;
}

static int selecttest(void) {
    int s = listener(7006, 4);
    fd_set r;
    FD_ZERO(&r);
    FD_SET(s, &r);
    struct timeval tv = {0, 5000};
    int k = select(s + 1, &r, NULL, NULL, &tv);
    printf("select on idle listener, 5 ms: %d\n", k);
    /* The child writes only when told to, so "poll now" sees no input natively however late
     * a loaded host runs the parent (a 2 ms sleep here once raced it). */
    int go[2];
    if (pipe(go) < 0) return 1;
    pid_t pid = fork();
    if (pid == 0) {
        close(go[1]);
        int c = dial("127.0.0.1", 7006);
        char token;
        if (read(go[0], &token, 1) != 1) _exit(1);
        write_all(c, "late", 4);
        close(c);
        _exit(0);
    }
    FD_ZERO(&r);
    FD_SET(s, &r);
    k = select(s + 1, &r, NULL, NULL, NULL);
    printf("select after a connect: %d, listener ready %d\n", k, FD_ISSET(s, &r) != 0);
    int c = accept(s, NULL, NULL);
    struct pollfd p = {.fd = c, .events = POLLIN | POLLOUT};
    k = poll(&p, 1, 0);
    printf("poll now: %d in=%d out=%d\n", k, !!(p.revents & POLLIN), !!(p.revents & POLLOUT));
    close(go[0]);
    write_all(go[1], "g", 1);
    close(go[1]);
    p.events = POLLIN;
    k = poll(&p, 1, 1000);
    printf("poll for input: %d in=%d\n", k, !!(p.revents & POLLIN));
    char buf[8];
    read(c, buf, sizeof buf);
    k = poll(&p, 1, 1000);
    printf("poll at EOF: %d in=%d hup=%d\n", k, !!(p.revents & POLLIN), !!(p.revents & POLLHUP));
    int st;
    waitpid(pid, &st, 0);
    return 0;
}

static int serve(int port) {
    int s = listener(port, 4);
    printf("serving on %d\n", port);
    fflush(stdout);
    int c = accept(s, NULL, NULL);
    echo_loop(c);
    return 0;
}

static int dialout(const char *ip, int port, const char *msg) {
    int c = dial(ip, port);
    if (c < 0) {
        printf("dial %s:%d: %s\n", ip, port, strerror(errno));
        return 1;
    }
    write_all(c, msg, strlen(msg));
    shutdown(c, SHUT_WR);
    char buf[4096] = {0};
    ssize_t r = read_full(c, buf, sizeof buf - 1);
    printf("got %zd: %s\n", r, buf);
    return 0;
}

/* socketpair(AF_UNIX, SOCK_STREAM): what a program sees, one fact a line (compared with Linux) */
static const char *errname(long r)
{
    if (r >= 0) return "ok";
    switch (errno) {
    case EAGAIN: return "EAGAIN";
    case EPIPE: return "EPIPE";
    case EISCONN: return "EISCONN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    default: return strerror(errno);
    }
}

static int pair(void) {
    int sv[2];
    printf("socketpair: %s\n", errname(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv)));
    printf("close-on-exec: %d %d\n", fcntl(sv[0], F_GETFD), fcntl(sv[1], F_GETFD));
    char buf[64] = {0};
    write(sv[0], "hello", 5);
    printf("read on the other end: %.*s\n", (int)read(sv[1], buf, sizeof buf), buf);
    send(sv[1], "back", 4, 0);
    printf("recv on the first: %.*s\n", (int)recv(sv[0], buf, sizeof buf, 0), buf);
    printf("recv MSG_DONTWAIT on nothing: %s\n", errname(recv(sv[0], buf, sizeof buf, MSG_DONTWAIT)));
    struct iovec out[2] = {{"ab", 2}, {"cd", 2}};
    struct msghdr msg = {.msg_iov = out, .msg_iovlen = 2};
    printf("sendmsg of two pieces: %zd\n", sendmsg(sv[0], &msg, 0));
    char a[1], b[1], c[10];
    struct iovec in[3] = {{a, 1}, {b, 1}, {c, sizeof c}};
    struct sockaddr_un peer;
    char control[64];
    struct msghdr got = {.msg_name = &peer, .msg_namelen = sizeof peer, .msg_iov = in, .msg_iovlen = 3,
                         .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n = recvmsg(sv[1], &got, 0);
    printf("recvmsg into three: %zd %c %c %.2s, name %u, control %zu\n", n, a[0], b[0], c, got.msg_namelen,
           (size_t)got.msg_controllen);
    int value = -1;
    socklen_t length = sizeof value;
    getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &value, &length);
    printf("SO_TYPE %d", value);
    getsockopt(sv[0], SOL_SOCKET, SO_DOMAIN, &value, &length);
    printf(", SO_DOMAIN %d", value);
    getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &value, &length);
    printf(", SO_ERROR %d\n", value);
    struct sockaddr_un name;
    length = sizeof name;
    getsockname(sv[0], (struct sockaddr *)&name, &length);
    printf("getsockname: length %u, family %d\n", length, name.sun_family);
    struct sockaddr_in to = {.sin_family = AF_INET};
    printf("sendto with an address: %s\n", errname(sendto(sv[0], "x", 1, 0, (struct sockaddr *)&to, sizeof to)));
    struct pollfd pfd = {.fd = sv[1], .events = POLLIN};
    write(sv[0], "p", 1);
    int ready = poll(&pfd, 1, 0);
    printf("poll after a write: %d %s\n", ready, pfd.revents & POLLIN ? "POLLIN" : "-");
    read(sv[1], buf, 1);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        write(sv[1], "from the child", 14);
        _exit(0);
    }
    n = read(sv[0], buf, sizeof buf);
    printf("from a forked child: %.*s\n", (int)n, buf);
    waitpid(pid, NULL, 0);
    close(sv[1]);
    printf("read after the other end closed: %zd\n", read(sv[0], buf, sizeof buf));
    printf("send after it closed, MSG_NOSIGNAL: %s\n", errname(send(sv[0], "x", 1, MSG_NOSIGNAL)));
    close(sv[0]);
    printf("SOCK_NONBLOCK: %s", errname(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv)));
    printf(", read on nothing: %s\n", errname(read(sv[0], buf, 1)));
    close(sv[0]);
    close(sv[1]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "last", 4);
    printf("shutdown(SHUT_WR): %s", errname(shutdown(sv[0], SHUT_WR)));
    n = read(sv[1], buf, sizeof buf);
    printf(", the other end reads %.*s", (int)n, buf);
    printf(", then %zd", read(sv[1], buf, sizeof buf));
    printf(", a send is %s", errname(send(sv[0], "x", 1, MSG_NOSIGNAL)));
    write(sv[1], "reply", 5);
    n = read(sv[0], buf, sizeof buf);
    printf(", the other way still works: %.*s\n", (int)n, buf);
    printf("shutdown(42): %s\n", errname(shutdown(sv[0], 42)));
    printf("socketpair(AF_INET): %s\n", errname(socketpair(AF_INET, SOCK_STREAM, 0, sv)));
    return 0;
}

/* A signal while accept() and recv() wait: EINTR without SA_RESTART, the call goes on with it
 * (and returns what came later); one fact a line, as on Linux. */
static volatile sig_atomic_t alarms;

static void on_alarm(int sig) {
    (void)sig;
    alarms++;
}

static void alarm_soon(int restart) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    alarms = 0;
    struct itimerval in20ms = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &in20ms, NULL);
}

static void pause_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static int intr(void) {
    int s = listener(7001, 4);
    char buf[64];
    alarm_soon(0);
    int c = accept(s, NULL, NULL);
    printf("accept, no SA_RESTART: %s, handler ran %d\n", errname(c), (int)alarms);
    pid_t pid = fork();
    if (pid == 0) {
        pause_ms(150);
        int d = dial("127.0.0.1", 7001);
        pause_ms(150);
        write(d, "late", 4);
        read(d, buf, 1); /* until the other end closes */
        _exit(0);
    }
    alarm_soon(1);
    c = accept(s, NULL, NULL);
    printf("accept, SA_RESTART: %s, handler ran %d\n", c >= 0 ? "a connection" : errname(c), (int)alarms);
    alarm_soon(0);
    ssize_t n = recv(c, buf, sizeof buf, 0);
    printf("recv, no SA_RESTART: %s, handler ran %d\n", errname(n), (int)alarms);
    alarm_soon(1);
    n = recv(c, buf, sizeof buf, 0);
    printf("recv, SA_RESTART: %.*s, handler ran %d\n", n > 0 ? (int)n : 0, buf, (int)alarms);
    close(c);
    waitpid(pid, NULL, 0);
    close(s);
    return 0;
}

/* Round trips between two processes over two pipes: each side blocks in read() (or poll()
 * first, with `polled`) until the other's byte comes. */
static void bounce(int in, int out, long rounds, int first, int polled) {
    char c = 'x';
    struct pollfd pfd = {in, POLLIN, 0};
    for (long i = 0; i < rounds; i++) {
        if (first && write(out, &c, 1) != 1) die("write");
        if (polled && poll(&pfd, 1, -1) != 1) die("poll");
        if (read(in, &c, 1) != 1) die("read");
        if (!first && write(out, &c, 1) != 1) die("write");
    }
}

static int pingpong(long rounds, const char *only) {
    int there[2], back[2];
    long reads = strcmp(only, "poll") ? rounds : 0, polls = strcmp(only, "read") ? rounds : 0;
    if (pipe(there) || pipe(back)) die("pipe");
    pid_t pid = fork();
    if (pid == 0) {
        bounce(there[0], back[1], reads, 0, 0);
        bounce(there[0], back[1], polls, 0, 1);
        _exit(0);
    }
    bounce(back[0], there[1], reads, 1, 0);
    bounce(back[0], there[1], polls, 1, 1);
    int status;
    waitpid(pid, &status, 0);
    printf("pingpong ok: %ld round trips with read, %ld with poll, child exit %d\n", reads, polls,
           WEXITSTATUS(status));
    return 0;
}

/* A signal while read() waits on a pipe and on a socket, and while poll, select and epoll_wait
 * wait (they end with EINTR even under SA_RESTART); then each waits for bytes that come later. */
static int intrio(void) {
    int p[2], sv[2];
    char buf[64];
    pipe(p);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t pid = fork();
    if (pid == 0) {
        static const char *const sent[] = {"pipe", "sock", "poll", "ppol", "epol", "sele", "vect"};
        for (int i = 0; i < 7; i++) {
            pause_ms(150);
            write(i == 1 ? sv[1] : p[1], sent[i], 4);
        }
        _exit(0);
    }
    close(p[1]);
    alarm_soon(0);
    ssize_t n = read(p[0], buf, sizeof buf);
    printf("pipe read, no SA_RESTART: %s, handler ran %d\n", errname(n), (int)alarms);
    alarm_soon(1);
    n = read(p[0], buf, sizeof buf);
    printf("pipe read, SA_RESTART: %.*s, handler ran %d\n", n > 0 ? (int)n : 0, buf, (int)alarms);
    alarm_soon(1);
    n = read(sv[0], buf, sizeof buf);
    printf("socket read, SA_RESTART: %.*s, handler ran %d\n", n > 0 ? (int)n : 0, buf, (int)alarms);
    struct pollfd pfd = {p[0], POLLIN, 0};
    alarm_soon(1);
    int r = poll(&pfd, 1, -1);
    printf("poll, SA_RESTART: %s, handler ran %d\n", errname(r), (int)alarms);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 42};
    epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev);
    alarm_soon(1);
    r = epoll_wait(ep, &ev, 1, -1);
    printf("epoll_wait, SA_RESTART: %s, handler ran %d\n", errname(r), (int)alarms);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    alarm_soon(1);
    r = select(p[0] + 1, &rd, NULL, NULL, NULL);
    printf("select, SA_RESTART: %s, handler ran %d\n", errname(r), (int)alarms);
    printf("poll for 20 ms: %d, revents %d\n", poll(&pfd, 1, 20), pfd.revents);
    pfd.revents = 0;
    r = poll(&pfd, 1, -1);
    n = read(p[0], buf, sizeof buf);
    printf("poll until bytes come: %d, revents %#x, then read %.*s\n", r, pfd.revents, n > 0 ? (int)n : 0, buf);
    sigset_t usr2, old, now;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    sigprocmask(SIG_SETMASK, NULL, &old);
    r = ppoll(&pfd, 1, NULL, &usr2);
    sigprocmask(SIG_SETMASK, NULL, &now);
    n = read(p[0], buf, sizeof buf);
    printf("ppoll with SIGUSR2 masked: %d, then read %.*s, mask back: %s\n", r, n > 0 ? (int)n : 0, buf,
           sigismember(&now, SIGUSR2) == sigismember(&old, SIGUSR2) ? "yes" : "no");
    ev.data.u64 = 0;
    r = epoll_wait(ep, &ev, 1, -1);
    n = read(p[0], buf, sizeof buf);
    printf("epoll_wait until bytes come: %d, data %llu, then read %.*s\n", r, (unsigned long long)ev.data.u64,
           n > 0 ? (int)n : 0, buf);
    FD_ZERO(&rd);
    FD_SET(p[0], &rd);
    r = select(p[0] + 1, &rd, NULL, NULL, NULL);
    n = read(p[0], buf, sizeof buf);
    printf("select until bytes come: %d, set %d, then read %.*s\n", r, FD_ISSET(p[0], &rd), n > 0 ? (int)n : 0,
           buf);
    char a[2], b[8];
    struct iovec iov[2] = {{a, sizeof a}, {b, sizeof b}};
    n = readv(p[0], iov, 2);
    printf("readv until bytes come: %zd: %.2s|%.2s\n", n, a, b);
    printf("then end of file: %zd\n", read(p[0], buf, sizeof buf));
    waitpid(pid, NULL, 0);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "echo")) return echo(argc > 2 ? atoi(argv[2]) : 7000, argc > 3 ? atoi(argv[3]) : 10);
    if (!strcmp(cmd, "many")) return many(argc > 2 ? atoi(argv[2]) : 50);
    if (!strcmp(cmd, "refused")) return refused(argc > 2 ? atoi(argv[2]) : 9);
    if (!strcmp(cmd, "reset")) return reset();
    if (!strcmp(cmd, "big")) return big(argc > 2 ? atol(argv[2]) : 1 << 20);
    if (!strcmp(cmd, "halfclose")) return halfclose();
    if (!strcmp(cmd, "stream")) return stream(argc > 2 ? atol(argv[2]) : 64 << 20);
    if (!strcmp(cmd, "leak")) return leak();
    if (!strcmp(cmd, "udp")) return udp();
    if (!strcmp(cmd, "files")) return files();
    if (!strcmp(cmd, "select")) return selecttest();
    if (!strcmp(cmd, "pair")) return pair();
    if (!strcmp(cmd, "serve")) return serve(argc > 2 ? atoi(argv[2]) : 7000);
    if (!strcmp(cmd, "dial") && argc > 4) return dialout(argv[2], atoi(argv[3]), argv[4]);
    if (!strcmp(cmd, "intr")) return intr();
    if (!strcmp(cmd, "intrio")) return intrio();
    if (!strcmp(cmd, "pingpong")) return pingpong(argc > 2 ? atol(argv[2]) : 1000, argc > 3 ? argv[3] : "");
    fprintf(stderr, "usage: nettest echo|many|refused|reset|big|halfclose|leak|udp|files|select|pair|serve|dial|intr|intrio|pingpong\n");
    return 2;
}
