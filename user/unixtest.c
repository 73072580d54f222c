/* unixtest DIR: AF_UNIX sockets as a program sees them, one fact a line (compared with Linux).
 * DIR is a scratch directory where socket files are made. Covers named sockets (a path, the
 * abstract namespace, autobind), stream, seqpacket and datagram sockets, names, errors,
 * SO_PEERCRED, SO_PASSCRED with SCM_CREDENTIALS, and SCM_RIGHTS with short control buffers
 * (MSG_CTRUNC) and descriptors let go when their message is dropped. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

static const char *dir;

static const char *err(long r) {
    if (r >= 0) return "ok";
    static char buf[32];
    switch (errno) {
    case EADDRINUSE: return "EADDRINUSE";
    case EAGAIN: return "EAGAIN";
    case ENXIO: return "ENXIO";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EINVAL: return "EINVAL";
    case EISCONN: return "EISCONN";
    case ENOENT: return "ENOENT";
    case ENOTCONN: return "ENOTCONN";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPERM: return "EPERM";
    case EPIPE: return "EPIPE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case ECONNRESET: return "ECONNRESET";
    case EBADF: return "EBADF";
    default: snprintf(buf, sizeof buf, "errno %d", errno); return buf;
    }
}

static socklen_t named(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    snprintf(a->sun_path, sizeof a->sun_path, "%s/%s", dir, name);
    return offsetof(struct sockaddr_un, sun_path) + strlen(a->sun_path) + 1;
}

static socklen_t abstract(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

/* The name a call gave: its length and, past the directory, the path (or the abstract bytes). */
static void show(const char *what, struct sockaddr_un *a, socklen_t len) {
    if (len > offsetof(struct sockaddr_un, sun_path) && a->sun_path[0] != 0)
        printf("%s: length", what);
    else
        printf("%s: length %u", what, (unsigned)len);
    if (len > offsetof(struct sockaddr_un, sun_path)) {
        if (a->sun_path[0] == 0)
            printf(", abstract %zu bytes", (size_t)len - offsetof(struct sockaddr_un, sun_path) - 1);
        else
            printf(" (the path's + %zu), path .../%s", (size_t)len - strlen(a->sun_path), strrchr(a->sun_path, '/') + 1);
    }
    printf("\n");
}

static int send_fds(int s, const char *data, size_t len, int *fds, int n) {
    char control[CMSG_SPACE(sizeof(int) * 8)] = {0};
    struct iovec iov = {(void *)data, len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n) {
        m.msg_control = control;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * n);
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n);
    }
    return sendmsg(s, &m, 0);
}

/* recvmsg with a control buffer of `room` bytes: what came, the flags, the descriptors got. */
static int recv_fds(int s, size_t want, size_t room, int *got) {
    char data[64] = {0};
    char control[256] __attribute__((aligned(8)));
    memset(control, 0, sizeof control);
    struct iovec iov = {data, want};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = room ? control : NULL,
                       .msg_controllen = room};
    long n = recvmsg(s, &m, 0);
    int count = 0;
    for (struct cmsghdr *c = room ? CMSG_FIRSTHDR(&m) : NULL; c; c = CMSG_NXTHDR(&m, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(got + count, CMSG_DATA(c), sizeof(int) * k);
            count += k;
        }
    }
    printf("  recvmsg %s: %ld bytes '%.*s', control %zu, %s%s, %d descriptors\n", err(n), n, (int)(n > 0 ? n : 0),
           data, (size_t)m.msg_controllen, m.msg_flags & MSG_CTRUNC ? "MSG_CTRUNC" : "-",
           m.msg_flags & MSG_TRUNC ? " MSG_TRUNC" : "", count);
    return count;
}

static void names(void) {
    struct sockaddr_un a, b;
    socklen_t len = named(&a, "s1"), blen;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind a path: %s\n", err(bind(s, (struct sockaddr *)&a, len)));
    struct stat st;
    stat(a.sun_path, &st);
    printf("the file is a socket: %d\n", S_ISSOCK(st.st_mode));
    printf("open the socket file: %s\n", err(open(a.sun_path, O_RDONLY)));
    printf("bind again: %s\n", err(bind(s, (struct sockaddr *)&a, len)));
    struct sockaddr_un other;
    printf("bind a bound socket elsewhere: %s", err(bind(s, (struct sockaddr *)&other, named(&other, "s0"))));
    printf(", the file stays: %s\n", err(access(other.sun_path, F_OK)));
    printf("autobind a bound socket: %s\n", err(bind(s, (struct sockaddr *)&other, offsetof(struct sockaddr_un, sun_path))));
    int t = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("another on the same path: %s\n", err(bind(t, (struct sockaddr *)&a, len)));
    blen = sizeof b;
    getsockname(s, (struct sockaddr *)&b, &blen);
    show("getsockname", &b, blen);
    printf("connect before listen: %s\n", err(connect(t, (struct sockaddr *)&a, len)));
    printf("listen on an unbound socket: %s\n", err(listen(t, 1)));
    struct sockaddr_un none;
    printf("connect to no file: %s\n", err(connect(t, (struct sockaddr *)&none, named(&none, "none"))));
    close(open(none.sun_path, O_CREAT | O_WRONLY, 0600));
    printf("connect to a plain file: %s\n", err(connect(t, (struct sockaddr *)&none, named(&none, "none"))));
    struct sockaddr_in *in = (struct sockaddr_in *)&none;
    in->sin_family = AF_INET;
    printf("bind an AF_INET address: %s\n", err(bind(t, (struct sockaddr *)in, sizeof *in)));
    close(t);
    close(s);
    printf("connect after the socket closed: %s\n",
           err(connect(t = socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, len)));
    close(t);
    printf("bind where a closed socket's file is: %s\n",
           err(bind(t = socket(AF_UNIX, SOCK_STREAM, 0), (struct sockaddr *)&a, len)));
    unlink(a.sun_path);
    printf("bind after unlink: %s\n", err(bind(t, (struct sockaddr *)&a, len)));
    close(t);
    unlink(a.sun_path);

    len = abstract(&a, "kernkit-unixtest\0x");
    len += 2;
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("bind an abstract name: %s\n", err(bind(s, (struct sockaddr *)&a, len)));
    blen = sizeof b;
    getsockname(s, (struct sockaddr *)&b, &blen);
    show("getsockname", &b, blen);
    printf("same bytes: %d\n", blen == len && !memcmp(&a, &b, len));
    t = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("the same abstract name again: %s\n", err(bind(t, (struct sockaddr *)&a, len)));
    printf("a shorter one (a prefix): %s\n", err(bind(t, (struct sockaddr *)&a, len - 2)));
    close(t);
    close(s);
    t = socket(AF_UNIX, SOCK_STREAM, 0);
    printf("connect after it closed: %s\n", err(connect(t, (struct sockaddr *)&a, len)));
    close(t);

    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    printf("autobind: %s\n", err(bind(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path))));
    blen = sizeof b;
    getsockname(s, (struct sockaddr *)&b, &blen);
    int hex = 1;
    for (int i = 1; i < 6; i++) hex &= !!strchr("0123456789abcdef", b.sun_path[i]);
    printf("autobound: length %u, leading NUL %d, five hex digits %d\n", (unsigned)blen, b.sun_path[0] == 0, hex);
    close(s);
}

static void stream(int kind, const char *label) {
    struct sockaddr_un a, b;
    socklen_t len = named(&a, label), blen;
    printf("%s:\n", label);
    int l = socket(AF_UNIX, kind, 0);
    bind(l, (struct sockaddr *)&a, len);
    printf("  listen(0): %s\n", err(listen(l, 0)));
    int c = socket(AF_UNIX, kind | SOCK_NONBLOCK, 0);
    printf("  connect: %s\n", err(connect(c, (struct sockaddr *)&a, len)));
    printf("  connect again: %s\n", err(connect(c, (struct sockaddr *)&a, len)));
    int c2 = socket(AF_UNIX, kind | SOCK_NONBLOCK, 0);
    printf("  a second connect, backlog 0: %s\n", err(connect(c2, (struct sockaddr *)&a, len)));
    int c3 = socket(AF_UNIX, kind | SOCK_NONBLOCK, 0);
    printf("  a third: %s\n", err(connect(c3, (struct sockaddr *)&a, len)));
    struct pollfd p = {l, POLLIN, 0};
    printf("  listener polls %d\n", poll(&p, 1, 0) > 0 ? p.revents : 0);
    char buf[64];
    printf("  recv on the listener: %s\n", err(recv(l, buf, sizeof buf, 0)));
    blen = sizeof b;
    int s = accept(l, (struct sockaddr *)&b, &blen);
    printf("  accept: %s, ", err(s));
    show("address", &b, blen);
    blen = sizeof b;
    getpeername(c, (struct sockaddr *)&b, &blen);
    show("  client's peer", &b, blen);
    blen = sizeof b;
    getsockname(s, (struct sockaddr *)&b, &blen);
    show("  accepted's name", &b, blen);
    blen = sizeof b;
    printf("  getpeername unconnected: %s\n", err(getpeername(l, (struct sockaddr *)&b, &blen)));
    struct ucred cred;
    socklen_t clen = sizeof cred;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &clen);
    printf("  SO_PEERCRED: length %u, my pid %d, uid %d\n", (unsigned)clen, cred.pid == getpid(), (int)cred.uid);
    int value;
    clen = sizeof value;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &value, &clen);
    printf("  SO_TYPE %d", value);
    getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &value, &clen);
    printf(", listener SO_ACCEPTCONN %d\n", value);
    send(c, "hello", 5, 0);
    send(c, "world", 5, 0);
    printf("  recv 3: %ld\n", (long)recv(s, buf, 3, 0));
    printf("  recv 20: %ld\n", (long)recv(s, buf, 20, 0));
    printf("  recv nothing: %s\n", err(recv(s, buf, 20, MSG_DONTWAIT)));
    send(s, "abc", 3, 0);
    long peeked = recv(c, buf, 20, MSG_PEEK);
    printf("  peek: %ld, then recv %ld\n", peeked, (long)recv(c, buf, 20, 0));
    shutdown(c, SHUT_WR);
    p = (struct pollfd){s, POLLIN | POLLRDHUP, 0};
    poll(&p, 1, 0);
    printf("  after the peer's SHUT_WR: poll %#x, recv %ld\n", p.revents, (long)recv(s, buf, 20, 0));
    printf("  send after own SHUT_WR: %s\n", err(send(c, "x", 1, MSG_NOSIGNAL)));
    send(s, "unread", 6, 0);
    close(c);
    printf("  a peer closed: send %s", err(send(s, "x", 1, MSG_NOSIGNAL)));
    printf(", recv %ld\n", (long)recv(s, buf, 20, 0));
    close(s);
    printf("  connect now: %s\n", err(connect(c2, (struct sockaddr *)&a, len)));
    s = accept(l, NULL, NULL);
    send(c2, "pending", 7, 0);
    close(s);
    printf("  the client of a closed unread connection: recv %s", err(recv(c2, buf, 20, 0)));
    printf(", then %ld\n", (long)recv(c2, buf, 20, 0));
    printf("  connect now: %s\n", err(connect(c3, (struct sockaddr *)&a, len)));
    close(l);
    printf("  a connection never accepted, its listener closed: recv %s\n", err(recv(c3, buf, 20, 0)));
    close(c2);
    close(c3);
    unlink(a.sun_path);
}

static void seqpacket(void) {
    int sv[2];
    printf("seqpacket pair: %s\n", err(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv)));
    send(sv[0], "12345", 5, 0);
    send(sv[0], "678", 3, 0);
    int got[8];
    recv_fds(sv[1], 3, 0, got);
    char buf[16];
    printf("  MSG_TRUNC asks the length: %ld\n", (long)recv(sv[1], buf, 1, MSG_TRUNC));
    send(sv[0], "", 0, 0);
    printf("  an empty message: %ld\n", (long)recv(sv[1], buf, 16, MSG_DONTWAIT));
    close(sv[0]);
    printf("  after close: %ld\n", (long)recv(sv[1], buf, 16, 0));
    close(sv[1]);
}

static void datagrams(void) {
    struct sockaddr_un a, b, c;
    socklen_t alen = named(&a, "d1"), blen = named(&b, "d2"), clen;
    int s1 = socket(AF_UNIX, SOCK_DGRAM, 0), s2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    int s3 = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(s1, (struct sockaddr *)&a, alen);
    bind(s2, (struct sockaddr *)&b, blen);
    printf("datagrams:\n  listen: %s\n", err(listen(s1, 1)));
    printf("  send unconnected: %s\n", err(send(s2, "x", 1, 0)));
    printf("  sendto a path: %s\n", err(sendto(s2, "one", 3, 0, (struct sockaddr *)&a, alen)));
    printf("  sendto from an unnamed socket: %s\n", err(sendto(s3, "two", 3, 0, (struct sockaddr *)&a, alen)));
    char buf[16];
    clen = sizeof c;
    long n = recvfrom(s1, buf, sizeof buf, 0, (struct sockaddr *)&c, &clen);
    printf("  recvfrom %ld, ", n);
    show("from", &c, clen);
    clen = sizeof c;
    n = recvfrom(s1, buf, 2, 0, (struct sockaddr *)&c, &clen);
    printf("  recvfrom 2 of 3: %ld, from length %u\n", n, (unsigned)clen);
    printf("  nothing left: %s\n", err(recv(s1, buf, sizeof buf, MSG_DONTWAIT)));
    printf("  connect s1 to s2: %s\n", err(connect(s1, (struct sockaddr *)&b, blen)));
    printf("  s3 sends to s1, connected elsewhere: %s\n", err(sendto(s3, "x", 1, 0, (struct sockaddr *)&a, alen)));
    printf("  s2 sends to s1: %s\n", err(sendto(s2, "y", 1, 0, (struct sockaddr *)&a, alen)));
    printf("  s1 sends to its peer: %s", err(send(s1, "z", 1, 0)));
    printf(", s2 gets %ld\n", (long)recv(s2, buf, 16, 0));
    clen = sizeof c;
    getpeername(s1, (struct sockaddr *)&c, &clen);
    show("  s1's peer", &c, clen);
    struct sockaddr_un st;
    socklen_t stlen = named(&st, "st");
    int stream = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(stream, (struct sockaddr *)&st, stlen);
    listen(stream, 1);
    printf("  sendto a stream socket: %s\n", err(sendto(s3, "x", 1, 0, (struct sockaddr *)&st, stlen)));
    close(stream);
    close(s2);
    printf("  send to a closed peer: %s", err(send(s1, "x", 1, 0)));
    printf(", then %s\n", err(send(s1, "x", 1, 0)));
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    printf("  connect AF_UNSPEC: %s\n", err(connect(s1, &unspec, sizeof unspec)));
    close(s1);
    close(s3);
    unlink(a.sun_path);
    unlink(b.sun_path);
    unlink(st.sun_path);
}

static void rights(void) {
    int sv[2], p[2], q[2], got[8];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    pipe(q);
    printf("SCM_RIGHTS:\n  send two: %d\n", send_fds(sv[0], "ab", 2, (int[]){p[1], q[1]}, 2));
    int n = recv_fds(sv[1], 10, 256, got);
    if (n == 2) {
        printf("  the first is the pipe: %ld", (long)write(got[0], "P", 1));
        char c = 0;
        read(p[0], &c, 1);
        printf(" '%c'\n", c);
        close(got[0]);
        close(got[1]);
    }
    send_fds(sv[0], "cd", 2, (int[]){p[1], q[1]}, 2);
    n = recv_fds(sv[1], 10, CMSG_LEN(sizeof(int)), got);
    for (int i = 0; i < n; i++) close(got[i]);
    send_fds(sv[0], "ef", 2, (int[]){p[1]}, 1);
    recv_fds(sv[1], 10, 0, got);
    send_fds(sv[0], "gh", 2, (int[]){p[1]}, 1);
    recv_fds(sv[1], 10, sizeof(struct cmsghdr), got);
    printf("  bytes then files, files then bytes:\n");
    send(sv[0], "12", 2, 0);
    send_fds(sv[0], "34", 2, (int[]){q[1]}, 1);
    send(sv[0], "56", 2, 0);
    n = recv_fds(sv[1], 10, 256, got);
    for (int i = 0; i < n; i++) close(got[i]);
    recv_fds(sv[1], 10, 256, got);
    printf("  an empty stream message with a file: %d\n", send_fds(sv[0], "", 0, (int[]){q[1]}, 1));
    printf("  a bad descriptor: %s\n", err(send_fds(sv[0], "x", 1, (int[]){999}, 1)));
    /* the write end of q travels in a message nobody reads: closing our copy and the
       socket that holds the message leaves no writer */
    send_fds(sv[0], "ij", 2, (int[]){q[1]}, 1);
    close(q[1]);
    close(sv[1]);
    char c;
    printf("  the pipe after its last writer went with the message: read %ld\n", (long)read(q[0], &c, 1));
    close(sv[0]);
    close(q[0]);
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    send_fds(sv[0], "kl", 2, (int[]){p[1]}, 1);
    recv_fds(sv[1], 10, 0, got);
    close(p[1]);
    printf("  a dropped datagram's file is let go: read %ld\n", (long)read(p[0], &c, 1));
    close(p[0]);
    close(sv[0]);
    close(sv[1]);
}

static void credentials(void) {
    int sv[2], on = 1;
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    int value = 0;
    socklen_t len = sizeof value;
    getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &value, &len);
    printf("SO_PASSCRED: %d\n", value);
    send(sv[0], "c", 1, 0);
    char data[8], control[64] __attribute__((aligned(8)));
    struct iovec iov = {data, sizeof data};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    long n = recvmsg(sv[1], &m, 0);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    struct ucred cred;
    if (c) memcpy(&cred, CMSG_DATA(c), sizeof cred);
    printf("  received %ld, control %zu: type %d, my pid %d, uid %d\n", n, (size_t)m.msg_controllen,
           c ? c->cmsg_type : -1, c && cred.pid == getpid(), c ? (int)cred.uid : -1);
    char out[CMSG_SPACE(sizeof(struct ucred))] __attribute__((aligned(8))) = {0};
    struct msghdr s = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = out, .msg_controllen = sizeof out};
    c = CMSG_FIRSTHDR(&s);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    cred = (struct ucred){getpid(), getuid(), getgid()};
    memcpy(CMSG_DATA(c), &cred, sizeof cred);
    iov.iov_len = 1;
    printf("  send my own credentials: %s\n", err(sendmsg(sv[0], &s, 0)));
    close(sv[0]);
    close(sv[1]);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: unixtest DIR\n");
        return 2;
    }
    dir = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    names();
    stream(SOCK_STREAM, "stream");
    stream(SOCK_SEQPACKET, "seqpacket");
    seqpacket();
    datagrams();
    rights();
    credentials();
    struct stat st;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    fstat(s, &st);
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", s);
    readlink(path, link, sizeof link - 1);
    printf("fstat: a socket %d; /proc/self/fd: %.8s\n", S_ISSOCK(st.st_mode), link);
    return 0;
}
