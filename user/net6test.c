/* net6test: AF_INET6 and UDP-Lite sockets on loopback, one fact a line (compared with Linux).
 *
 *   net6test tcp6       ::1 and ::, dual-stack listeners and v4-mapped peers, IPV6_V6ONLY,
 *                       sockaddr_in6 checks and errors, IPv6 options
 *   net6test udp6       datagrams over ::1, v4 peers of a dual-stack socket, the hop limit and
 *                       traffic class as ancillary data (sent and received), their truncation
 *   net6test udplite    IPPROTO_UDPLITE: options, delivery, checksum coverage on delivery
 *   net6test mmsg       sendmmsg and recvmmsg on UDP
 *
 * Ports are fixed (7100-7399) and printed; ephemeral ones are printed as "ephemeral".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#define UDPLITE_SEND_CSCOV 10
#define UDPLITE_RECV_CSCOV 11

static const char *err(long r) {
    static char buf[32];
    if (r >= 0) {
        snprintf(buf, sizeof buf, "%ld", r);
        return buf;
    }
    switch (errno) {
    case EINVAL: return "EINVAL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ENETUNREACH: return "ENETUNREACH";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EAGAIN: return "EAGAIN";
    case EDESTADDRREQ: return "EDESTADDRREQ";
    case EISCONN: return "EISCONN";
    default: snprintf(buf, sizeof buf, "errno %d", errno); return buf;
    }
}

static void say(const char *what, long r) { printf("%s: %s\n", what, err(r)); }

static struct sockaddr_in6 a6(const char *ip, int port) {
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof a);
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    inet_pton(AF_INET6, ip, &a.sin6_addr);
    return a;
}

static struct sockaddr_in a4(const char *ip, int port) {
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

/* "[ADDR]:PORT flow F scope S (len L)" or "ADDR:PORT (len L)" */
static void show(const char *what, struct sockaddr_storage *s, socklen_t len) {
    char text[INET6_ADDRSTRLEN];
    char port[16];
    if (s->ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)s;
        int p = ntohs(a->sin6_port);
        snprintf(port, sizeof port, "%d", p);
        inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
        printf("%s: [%s]:%s flow %u scope %u (len %u)\n", what, text, p >= 32768 ? "ephemeral" : port,
               a->sin6_flowinfo, a->sin6_scope_id, len);
    } else if (s->ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)s;
        int p = ntohs(a->sin_port);
        snprintf(port, sizeof port, "%d", p);
        inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
        printf("%s: %s:%s (len %u)\n", what, text, p >= 32768 ? "ephemeral" : port, len);
    } else {
        printf("%s: family %d (len %u)\n", what, s->ss_family, len);
    }
}

static void name_of(const char *what, int fd, int peer) {
    struct sockaddr_storage s;
    socklen_t len = sizeof s;
    memset(&s, 0, sizeof s);
    int r = peer ? getpeername(fd, (struct sockaddr *)&s, &len) : getsockname(fd, (struct sockaddr *)&s, &len);
    if (r < 0)
        say(what, r);
    else
        show(what, &s, len);
}

static int opt(int fd, int level, int name) {
    int v = -99;
    socklen_t len = sizeof v;
    int r = getsockopt(fd, level, name, &v, &len);
    return r < 0 ? r : v;
}

static void show_opt(const char *what, int fd, int level, int name) {
    int v = opt(fd, level, name);
    if (v == -1)
        say(what, -1);
    else
        printf("%s: %d\n", what, v);
}

static int setopt(int fd, int level, int name, int v) { return setsockopt(fd, level, name, &v, sizeof v); }

static int tcp6_listener(const char *ip, int port, int v6only) {
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    if (v6only >= 0) setopt(s, IPPROTO_IPV6, IPV6_V6ONLY, v6only);
    struct sockaddr_in6 a = a6(ip, port);
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0) {
        say("listener", -1);
        exit(1);
    }
    return s;
}

static void round_trip(const char *what, int client, int server) {
    char buf[16] = {0};
    write(client, "ping", 4);
    long n = read(server, buf, sizeof buf);
    write(server, "pong", 4);
    long m = read(client, buf + 4, sizeof buf - 4);
    printf("%s: %ld+%ld '%.8s'\n", what, n, m, buf);
}

static int tcp6(void) {
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    show_opt("v6only default", s, IPPROTO_IPV6, IPV6_V6ONLY);
    show_opt("SO_DOMAIN", s, SOL_SOCKET, SO_DOMAIN);
    show_opt("SO_PROTOCOL", s, SOL_SOCKET, SO_PROTOCOL);
    show_opt("unicast hops default", s, IPPROTO_IPV6, IPV6_UNICAST_HOPS);
    say("unicast hops 5", setopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 5));
    show_opt("unicast hops", s, IPPROTO_IPV6, IPV6_UNICAST_HOPS);
    say("unicast hops -1", setopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, -1));
    show_opt("unicast hops", s, IPPROTO_IPV6, IPV6_UNICAST_HOPS);
    say("unicast hops 256", setopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 256));
    show_opt("tclass default", s, IPPROTO_IPV6, IPV6_TCLASS);
    say("ipv6 option 9999", setopt(s, IPPROTO_IPV6, 9999, 1));
    name_of("unbound name", s, 0);
    struct sockaddr_in v4 = a4("127.0.0.1", 7100);
    say("bind sockaddr_in", bind(s, (struct sockaddr *)&v4, sizeof v4));
    struct sockaddr_in6 wrong = a6("::1", 7100);
    wrong.sin6_family = AF_INET;
    say("bind family AF_INET, 28 bytes", bind(s, (struct sockaddr *)&wrong, sizeof wrong));
    struct sockaddr_in6 other = a6("::2", 7100);
    say("bind ::2", bind(s, (struct sockaddr *)&other, sizeof other));
    struct sockaddr_in6 scoped = a6("::1", 7105);
    scoped.sin6_flowinfo = htonl(0x12345);
    scoped.sin6_scope_id = 0;
    say("bind ::1 with a flow label", bind(s, (struct sockaddr *)&scoped, sizeof scoped));
    name_of("bound name", s, 0);
    say("v6only after bind", setopt(s, IPPROTO_IPV6, IPV6_V6ONLY, 1));
    close(s);

    int four = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in6 six = a6("::1", 7100);
    say("AF_INET bind sockaddr_in6", bind(four, (struct sockaddr *)&six, sizeof six));
    say("AF_INET ipv6 option", setopt(four, IPPROTO_IPV6, IPV6_V6ONLY, 1));
    close(four);

    /* a dual-stack listener on [::]:7100 takes IPv6 and IPv4 calls */
    int dual = tcp6_listener("::", 7100, -1);
    name_of("dual listener", dual, 0);
    int c6 = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 to6 = a6("::1", 7100);
    say("connect [::1]:7100", connect(c6, (struct sockaddr *)&to6, sizeof to6));
    name_of("v6 client name", c6, 0);
    name_of("v6 client peer", c6, 1);
    struct sockaddr_storage from;
    socklen_t len = sizeof from;
    int a = accept(dual, (struct sockaddr *)&from, &len);
    show("accepted v6 call from", &from, len);
    name_of("accepted v6 name", a, 0);
    round_trip("v6 round trip", c6, a);
    close(a);
    close(c6);
    int c4 = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to4 = a4("127.0.0.1", 7100);
    say("connect 127.0.0.1:7100", connect(c4, (struct sockaddr *)&to4, sizeof to4));
    name_of("v4 client peer", c4, 1);
    len = sizeof from;
    a = accept(dual, (struct sockaddr *)&from, &len);
    show("accepted v4 call from", &from, len);
    name_of("accepted v4 name", a, 0);
    round_trip("v4 round trip", c4, a);
    close(a);
    close(c4);
    int taken = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in at4 = a4("127.0.0.1", 7100);
    say("AF_INET bind 127.0.0.1:7100 beside [::]:7100", bind(taken, (struct sockaddr *)&at4, sizeof at4));
    close(taken);
    int mapped = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 tom = a6("::ffff:127.0.0.1", 7100);
    say("connect [::ffff:127.0.0.1]:7100", connect(mapped, (struct sockaddr *)&tom, sizeof tom));
    name_of("mapped client name", mapped, 0);
    len = sizeof from;
    a = accept(dual, (struct sockaddr *)&from, &len);
    show("accepted mapped call from", &from, len);
    close(a);
    close(mapped);
    close(dual);

    /* a v6-only listener leaves IPv4 alone */
    int only = tcp6_listener("::", 7101, 1);
    show_opt("v6only listener", only, IPPROTO_IPV6, IPV6_V6ONLY);
    c4 = socket(AF_INET, SOCK_STREAM, 0);
    to4 = a4("127.0.0.1", 7101);
    say("connect 127.0.0.1:7101 (v6-only listener)", connect(c4, (struct sockaddr *)&to4, sizeof to4));
    close(c4);
    int beside = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any4 = a4("0.0.0.0", 7101);
    say("AF_INET bind 0.0.0.0:7101 beside v6-only [::]:7101", bind(beside, (struct sockaddr *)&any4, sizeof any4));
    close(beside);
    int v6o = socket(AF_INET6, SOCK_STREAM, 0);
    setopt(v6o, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    tom = a6("::ffff:127.0.0.1", 7101);
    say("v6-only connect to a v4-mapped address", connect(v6o, (struct sockaddr *)&tom, sizeof tom));
    struct sockaddr_in6 bm = a6("::ffff:127.0.0.1", 7102);
    say("v6-only bind to a v4-mapped address", bind(v6o, (struct sockaddr *)&bm, sizeof bm));
    close(v6o);
    close(only);

    int lonely = socket(AF_INET6, SOCK_STREAM, 0);
    to6 = a6("::1", 7199);
    say("connect [::1]:7199 (nobody)", connect(lonely, (struct sockaddr *)&to6, sizeof to6));
    close(lonely);
    int short6 = socket(AF_INET6, SOCK_STREAM, 0);
    say("connect with 20 bytes", connect(short6, (struct sockaddr *)&to6, 20));
    close(short6);
    return 0;
}

/* recvmsg with ROOM bytes of control space: the data, flags and each item */
static void receive(const char *what, int fd, size_t room, size_t buffer) {
    char data[256];
    union {
        char bytes[512];
        struct cmsghdr align;
    } control;
    struct sockaddr_storage from;
    struct iovec iov = {data, buffer};
    struct msghdr m = {0};
    m.msg_name = &from;
    m.msg_namelen = sizeof from;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = room ? control.bytes : NULL;
    m.msg_controllen = room;
    memset(control.bytes, 0xAA, sizeof control.bytes);
    long n = recvmsg(fd, &m, MSG_DONTWAIT);
    if (n < 0) {
        say(what, n);
        return;
    }
    printf("%s: %ld '%.*s' flags%s%s controllen %zu\n", what, n, (int)n, data, m.msg_flags & MSG_TRUNC ? " TRUNC" : "",
           m.msg_flags & MSG_CTRUNC ? " CTRUNC" : "", (size_t)m.msg_controllen);
    show("  from", &from, m.msg_namelen);
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
        int value = -1;
        size_t have = c->cmsg_len > CMSG_LEN(0) ? c->cmsg_len - CMSG_LEN(0) : 0;
        if (have >= sizeof value) memcpy(&value, CMSG_DATA(c), sizeof value);
        printf("  item level %d type %d len %zu value %d\n", c->cmsg_level, c->cmsg_type, (size_t)c->cmsg_len,
               value);
    }
}

static long send_items(int fd, const char *text, struct sockaddr_in6 *to, int tclass, int hops, int odd) {
    union {
        char bytes[CMSG_SPACE(sizeof(int)) * 2 + 8];
        struct cmsghdr align;
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {(void *)text, strlen(text)};
    struct msghdr m = {0};
    m.msg_name = to;
    m.msg_namelen = sizeof *to;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = control.bytes;
    m.msg_controllen = CMSG_SPACE(sizeof(int) + odd) + CMSG_SPACE(sizeof(int));
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_TCLASS;
    c->cmsg_len = CMSG_LEN(sizeof(int) + odd);
    memcpy(CMSG_DATA(c), &tclass, sizeof tclass);
    c = (struct cmsghdr *)((char *)c + CMSG_SPACE(sizeof(int) + odd));
    c->cmsg_level = IPPROTO_IPV6;
    c->cmsg_type = IPV6_HOPLIMIT;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &hops, sizeof hops);
    return sendmsg(fd, &m, 0);
}

static int bound_udp(int family, int protocol, const char *ip, int port) {
    int s = socket(family, SOCK_DGRAM, protocol);
    if (family == AF_INET6) {
        struct sockaddr_in6 a = a6(ip, port);
        if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) say("bind", -1);
    } else {
        struct sockaddr_in a = a4(ip, port);
        if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) say("bind", -1);
    }
    return s;
}

static int udp6(void) {
    int r = bound_udp(AF_INET6, 0, "::1", 7200);
    int s = bound_udp(AF_INET6, 0, "::1", 7201);
    struct sockaddr_in6 to = a6("::1", 7200);
    sendto(s, "plain", 5, 0, (struct sockaddr *)&to, sizeof to);
    receive("no options", r, 64, 64);
    say("recvhoplimit on", setopt(r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT, 1));
    say("recvtclass on", setopt(r, IPPROTO_IPV6, IPV6_RECVTCLASS, 1));
    show_opt("recvhoplimit", r, IPPROTO_IPV6, IPV6_RECVHOPLIMIT);
    sendto(s, "defaults", 8, 0, (struct sockaddr *)&to, sizeof to);
    receive("defaults", r, 512, 64);
    say("send tclass 4 hops 2", send_items(s, "chosen", &to, 4, 2, 0));
    receive("chosen", r, 512, 64);
    say("send tclass -1 hops -1", send_items(s, "minus", &to, -1, -1, 0));
    receive("minus", r, 512, 64);
    say("send an odd-sized tclass", send_items(s, "odd", &to, 4, 2, 1));
    say("send tclass 256", send_items(s, "big", &to, 256, 2, 0));
    setopt(s, IPPROTO_IPV6, IPV6_UNICAST_HOPS, 9);
    setopt(s, IPPROTO_IPV6, IPV6_TCLASS, 32);
    sendto(s, "sockopts", 8, 0, (struct sockaddr *)&to, sizeof to);
    receive("socket options", r, 512, 64);
    for (int i = 0; i < 4; i++) sendto(s, "truncated", 9, 0, (struct sockaddr *)&to, sizeof to);
    receive("no control room", r, 0, 64);
    receive("room for a header", r, CMSG_LEN(0), 64);
    receive("room short of one int", r, CMSG_LEN(sizeof(int)) - 1, 64);
    receive("room for one item", r, CMSG_SPACE(sizeof(int)), 4);
    receive("empty queue", r, 64, 64);
    close(s);
    close(r);

    int dual = bound_udp(AF_INET6, 0, "::", 7202);
    int v4 = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to4 = a4("127.0.0.1", 7202);
    say("AF_INET sendto 127.0.0.1:7202", sendto(v4, "four", 4, 0, (struct sockaddr *)&to4, sizeof to4));
    receive("dual socket gets", dual, 64, 64);
    struct sockaddr_in back = a4("127.0.0.1", 7203);
    int v4r = bound_udp(AF_INET, 0, "127.0.0.1", 7203);
    say("AF_INET6 sendto a sockaddr_in", sendto(dual, "back", 4, 0, (struct sockaddr *)&back, sizeof back));
    receive("v4 socket gets", v4r, 64, 64);
    int only = socket(AF_INET6, SOCK_DGRAM, 0);
    setopt(only, IPPROTO_IPV6, IPV6_V6ONLY, 1);
    say("v6-only sendto a sockaddr_in", sendto(only, "x", 1, 0, (struct sockaddr *)&back, sizeof back));
    say("v6-only connect a sockaddr_in", connect(only, (struct sockaddr *)&back, sizeof back));
    struct sockaddr_in6 mapped = a6("::ffff:127.0.0.1", 7203);
    say("v6-only sendto a v4-mapped address", sendto(only, "x", 1, 0, (struct sockaddr *)&mapped, sizeof mapped));
    close(only);
    close(v4r);
    close(v4);
    close(dual);
    return 0;
}

static int udplite(void) {
    int r = bound_udp(AF_INET, IPPROTO_UDPLITE, "127.0.0.1", 7300);
    show_opt("SO_PROTOCOL", r, SOL_SOCKET, SO_PROTOCOL);
    show_opt("send coverage default", r, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV);
    show_opt("recv coverage default", r, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV);
    int s = socket(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE);
    int values[] = {5, 100000, -3, 0, 20};
    for (int i = 0; i < 5; i++) {
        char what[64];
        snprintf(what, sizeof what, "send coverage %d", values[i]);
        say(what, setopt(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, values[i]));
        show_opt("  reads", s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV);
    }
    say("send coverage at level IPPROTO_UDP", setopt(s, IPPROTO_UDP, UDPLITE_SEND_CSCOV, 12));
    show_opt("  reads", s, IPPROTO_UDP, UDPLITE_SEND_CSCOV);
    int plain = socket(AF_INET, SOCK_DGRAM, 0);
    say("UDPLITE option on a UDP socket", setopt(plain, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, 12));
    say("UDPLITE option at IPPROTO_UDP on a UDP socket", setopt(plain, IPPROTO_UDP, UDPLITE_SEND_CSCOV, 12));
    say("stream socket with IPPROTO_UDPLITE", socket(AF_INET, SOCK_STREAM, IPPROTO_UDPLITE));
    char payload[100];
    memset(payload, 'p', sizeof payload);
    struct sockaddr_in to = a4("127.0.0.1", 7300);
    setopt(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, 0);
    sendto(s, "lite", 4, 0, (struct sockaddr *)&to, sizeof to);
    receive("lite to lite", r, 0, 64);
    sendto(plain, "udp", 3, 0, (struct sockaddr *)&to, sizeof to);
    receive("udp to a lite port", r, 0, 64);
    say("recv coverage 20", setopt(r, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, 20));
    setopt(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, 10);
    sendto(s, payload, 100, 0, (struct sockaddr *)&to, sizeof to);
    receive("coverage 10 of 108", r, 0, 8);
    sendto(s, payload, 1, 0, (struct sockaddr *)&to, sizeof to);
    receive("coverage 10 of 9 (full)", r, 0, 8);
    setopt(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, 30);
    sendto(s, payload, 100, 0, (struct sockaddr *)&to, sizeof to);
    receive("coverage 30 of 108", r, 0, 8);
    setopt(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, 0);
    sendto(s, payload, 100, 0, (struct sockaddr *)&to, sizeof to);
    receive("full coverage", r, 0, 8);
    say("recv coverage 0", setopt(r, IPPROTO_UDPLITE, UDPLITE_RECV_CSCOV, 0));
    setopt(s, IPPROTO_UDPLITE, UDPLITE_SEND_CSCOV, 30);
    sendto(s, payload, 100, 0, (struct sockaddr *)&to, sizeof to);
    receive("coverage 30, receiver wants all", r, 0, 8);
    close(plain);
    close(s);
    close(r);

    int r6 = bound_udp(AF_INET6, IPPROTO_UDPLITE, "::1", 7301);
    int s6 = socket(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE);
    struct sockaddr_in6 to6 = a6("::1", 7301);
    sendto(s6, "lite6", 5, 0, (struct sockaddr *)&to6, sizeof to6);
    receive("lite over ::1", r6, 0, 64);
    close(s6);
    close(r6);
    return 0;
}

static int mmsg(void) {
    int r = bound_udp(AF_INET, 0, "127.0.0.1", 7302);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to = a4("127.0.0.1", 7302);
    const char *texts[] = {"one", "two2", "three"};
    struct iovec iov[3];
    struct mmsghdr out[3];
    memset(out, 0, sizeof out);
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = (void *)texts[i];
        iov[i].iov_len = strlen(texts[i]);
        out[i].msg_hdr.msg_name = &to;
        out[i].msg_hdr.msg_namelen = sizeof to;
        out[i].msg_hdr.msg_iov = &iov[i];
        out[i].msg_hdr.msg_iovlen = 1;
    }
    say("sendmmsg 3", sendmmsg(s, out, 3, 0));
    for (int i = 0; i < 3; i++) printf("  msg_len %u\n", out[i].msg_len);
    char bufs[4][8];
    struct iovec in_iov[4];
    struct mmsghdr in[4];
    struct sockaddr_in from[4];
    memset(in, 0, sizeof in);
    for (int i = 0; i < 4; i++) {
        in_iov[i].iov_base = bufs[i];
        in_iov[i].iov_len = 4;
        in[i].msg_hdr.msg_name = &from[i];
        in[i].msg_hdr.msg_namelen = sizeof from[i];
        in[i].msg_hdr.msg_iov = &in_iov[i];
        in[i].msg_hdr.msg_iovlen = 1;
    }
    say("recvmmsg 4 (3 queued)", recvmmsg(r, in, 4, MSG_DONTWAIT, NULL));
    for (int i = 0; i < 3; i++)
        printf("  msg_len %u '%.*s' flags%s\n", in[i].msg_len, (int)in[i].msg_len, bufs[i],
               in[i].msg_hdr.msg_flags & MSG_TRUNC ? " TRUNC" : "");
    say("recvmmsg on an empty queue", recvmmsg(r, in, 4, MSG_DONTWAIT, NULL));
    say("sendmmsg 0", sendmmsg(s, out, 0, 0));
    close(s);
    close(r);
    return 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *cmd = argc > 1 ? argv[1] : "";
    if (!strcmp(cmd, "tcp6")) return tcp6();
    if (!strcmp(cmd, "udp6")) return udp6();
    if (!strcmp(cmd, "udplite")) return udplite();
    if (!strcmp(cmd, "mmsg")) return mmsg();
    fprintf(stderr, "usage: net6test tcp6|udp6|udplite|mmsg\n");
    return 2;
}
