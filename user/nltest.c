/* nltest: network interfaces as a program sees them, one fact a line (compared with Linux).
 * The libc's view (if_nameindex, if_nametoindex, if_indextoname, getifaddrs) and NETLINK_ROUTE
 * itself: binding and port ids, RTM_GETLINK and RTM_GETADDR dumps, MSG_PEEK and MSG_TRUNC,
 * errors and acks, options, unicast between sockets, the SIOCGIF* ioctls. Only the loopback
 * interface is shown, so the output is the same on any Linux whose lo is up (the comparison
 * runs natively in a fresh network namespace, where a second address is on lo as "lo:0"). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netpacket/packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Linux's netlink ABI (<linux/netlink.h>, <linux/rtnetlink.h>), which musl has no headers for. */
struct nlmsghdr { unsigned nlmsg_len; unsigned short nlmsg_type, nlmsg_flags; unsigned nlmsg_seq, nlmsg_pid; };
struct sockaddr_nl { unsigned short nl_family, nl_pad; unsigned nl_pid, nl_groups; };
struct nlmsgerr { int error; struct nlmsghdr msg; };
struct rtattr { unsigned short rta_len, rta_type; };
struct rtgenmsg { unsigned char rtgen_family; };
struct ifinfomsg { unsigned char ifi_family, pad; unsigned short ifi_type; int ifi_index; unsigned ifi_flags, ifi_change; };
struct ifaddrmsg { unsigned char ifa_family, ifa_prefixlen, ifa_flags, ifa_scope; unsigned ifa_index; };
#define NETLINK_ROUTE 0
#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif
#define NETLINK_CAP_ACK 10
#define NLM_F_REQUEST 1
#define NLM_F_ACK 4
#define NLM_F_DUMP 0x300
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_GETADDR 22
#define IFLA_ADDRESS 1
#define IFLA_BROADCAST 2
#define IFLA_IFNAME 3
#define IFLA_MTU 4
#define IFLA_STATS 7
#define IFLA_TXQLEN 13
#define IFLA_OPERSTATE 16
#define IFLA_STATS64 23
#define IFA_ADDRESS 1
#define IFA_LOCAL 2
#define IFA_LABEL 3
#define IFA_BROADCAST 4
#define NLMSG_ALIGN(len) (((len) + 3) & ~3u)
#define NLMSG_HDRLEN ((int)NLMSG_ALIGN(sizeof(struct nlmsghdr)))
#define NLMSG_LENGTH(len) ((len) + NLMSG_HDRLEN)
#define NLMSG_DATA(h) ((void *)((char *)(h) + NLMSG_HDRLEN))
#define NLMSG_OK(h, len) ((len) >= (int)sizeof(struct nlmsghdr) && (h)->nlmsg_len >= sizeof(struct nlmsghdr) && \
                          (h)->nlmsg_len <= (unsigned)(len))
#define NLMSG_NEXT(h, len) ((len) -= NLMSG_ALIGN((h)->nlmsg_len), \
                            (struct nlmsghdr *)((char *)(h) + NLMSG_ALIGN((h)->nlmsg_len)))
#define RTA_ALIGN(len) (((len) + 3) & ~3u)
#define RTA_OK(a, len) ((len) >= (int)sizeof(struct rtattr) && (a)->rta_len >= sizeof(struct rtattr) && \
                        (a)->rta_len <= (unsigned)(len))
#define RTA_NEXT(a, len) ((len) -= RTA_ALIGN((a)->rta_len), (struct rtattr *)((char *)(a) + RTA_ALIGN((a)->rta_len)))
#define RTA_DATA(a) ((void *)((char *)(a) + RTA_ALIGN(sizeof(struct rtattr))))
#define RTA_PAYLOAD(a) ((int)(a)->rta_len - (int)RTA_ALIGN(sizeof(struct rtattr)))
#define IFLA_RTA(r) ((struct rtattr *)((char *)(r) + NLMSG_ALIGN(sizeof(struct ifinfomsg))))
#define IFLA_PAYLOAD(h) ((int)(h)->nlmsg_len - NLMSG_LENGTH((int)sizeof(struct ifinfomsg)))
#define IFA_RTA(r) ((struct rtattr *)((char *)(r) + NLMSG_ALIGN(sizeof(struct ifaddrmsg))))
#define IFA_PAYLOAD(h) ((int)(h)->nlmsg_len - NLMSG_LENGTH((int)sizeof(struct ifaddrmsg)))

static const char *err(long r) {
    if (r >= 0) return "ok";
    static char buf[32];
    switch (errno) {
    case EADDRINUSE: return "EADDRINUSE";
    case EAGAIN: return "EAGAIN";
    case EINVAL: return "EINVAL";
    case ENODEV: return "ENODEV";
    case ENXIO: return "ENXIO";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case ESOCKTNOSUPPORT: return "ESOCKTNOSUPPORT";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ENOTTY: return "ENOTTY";
    default: snprintf(buf, sizeof buf, "errno %d", errno); return buf;
    }
}

static char text[INET6_ADDRSTRLEN];

static const char *show(const struct sockaddr *sa) {
    if (!sa) return "-";
    if (sa->sa_family == AF_INET)
        return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, text, sizeof text);
    if (sa->sa_family == AF_INET6)
        return inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, text, sizeof text);
    if (sa->sa_family == AF_PACKET) {
        const struct sockaddr_ll *ll = (const void *)sa;
        snprintf(text, sizeof text, "hatype %d halen %d %02x:%02x:%02x:%02x:%02x:%02x", ll->sll_hatype,
                 ll->sll_halen, ll->sll_addr[0], ll->sll_addr[1], ll->sll_addr[2], ll->sll_addr[3],
                 ll->sll_addr[4], ll->sll_addr[5]);
        return text;
    }
    snprintf(text, sizeof text, "family %d", sa->sa_family);
    return text;
}

static void libc_view(void) {
    struct if_nameindex *list = if_nameindex();
    if (!list) {
        printf("if_nameindex: %s\n", err(-1));
        return;
    }
    int consistent = 1, count = 0;
    for (struct if_nameindex *p = list; p->if_index; p++, count++) {
        if (if_nametoindex(p->if_name) != p->if_index) consistent = 0;
        if (!strcmp(p->if_name, "lo")) printf("if_nameindex: lo is %u\n", p->if_index);
    }
    printf("if_nameindex: %s interfaces, each name leading back to its index: %s\n", count ? "some" : "no",
           consistent ? "yes" : "no");
    if_freenameindex(list);
    printf("if_nametoindex lo: %u\n", if_nametoindex("lo"));
    errno = 0;
    unsigned none = if_nametoindex("nosuch0");
    printf("if_nametoindex nosuch0: %u %s\n", none, err(none ? 0 : -1));
    char name[IF_NAMESIZE];
    printf("if_indextoname 1: %s\n", if_indextoname(1, name) ? name : "NULL");
    char *gone = if_indextoname(99999, name);
    printf("if_indextoname 99999: %s %s\n", gone ? name : "NULL", err(gone ? 0 : -1));

    struct ifaddrs *all;
    if (getifaddrs(&all) < 0) {
        printf("getifaddrs: %s\n", err(-1));
        return;
    }
    for (struct ifaddrs *a = all; a; a = a->ifa_next) {
        if (strcmp(a->ifa_name, "lo")) continue;
        int family = a->ifa_addr ? a->ifa_addr->sa_family : -1;
        printf("getifaddrs lo: family %d flags %#x addr %s", family, a->ifa_flags, show(a->ifa_addr));
        printf(" netmask %s", show(a->ifa_netmask));
        if (family == AF_PACKET) printf(" stats %s", a->ifa_data ? "yes" : "no");
        printf("\n");
    }
    freeifaddrs(all);
}

static int sock(void) { return socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE); }

static unsigned portid(int fd) {
    struct sockaddr_nl nl;
    socklen_t len = sizeof nl;
    memset(&nl, 0xff, sizeof nl);
    if (getsockname(fd, (struct sockaddr *)&nl, &len) < 0) return 0xdead;
    return nl.nl_family == AF_NETLINK && len == sizeof nl ? nl.nl_pid : 0xbad;
}

static int request(int fd, int type, int flags, int seq, const void *body, size_t length) {
    struct {
        struct nlmsghdr h;
        char body[64];
    } req;
    memset(&req, 0, sizeof req);
    req.h.nlmsg_len = NLMSG_LENGTH(length);
    req.h.nlmsg_type = type;
    req.h.nlmsg_flags = flags;
    req.h.nlmsg_seq = seq;
    memcpy(req.body, body, length);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    return sendto(fd, &req, NLMSG_ALIGN(req.h.nlmsg_len), 0, (struct sockaddr *)&kernel, sizeof kernel);
}

static char buf[65536];

static void links(const struct nlmsghdr *h, unsigned me) {
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    if (ifi->ifi_index != 1) return;
    printf("RTM_NEWLINK lo: flags %#x seq %u pid-mine %d type %u index %d ifflags %#x\n", h->nlmsg_flags,
           h->nlmsg_seq, h->nlmsg_pid == me, ifi->ifi_type, ifi->ifi_index, ifi->ifi_flags);
    int length = IFLA_PAYLOAD(h);
    for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, length); a = RTA_NEXT(a, length)) {
        const unsigned char *d = RTA_DATA(a);
        switch (a->rta_type) {
        case IFLA_IFNAME: printf("  IFLA_IFNAME %s\n", (const char *)d); break;
        case IFLA_MTU: printf("  IFLA_MTU %u\n", *(const unsigned *)d); break;
        case IFLA_ADDRESS: printf("  IFLA_ADDRESS %d bytes, first %02x\n", (int)RTA_PAYLOAD(a), d[0]); break;
        case IFLA_BROADCAST: printf("  IFLA_BROADCAST %d bytes\n", (int)RTA_PAYLOAD(a)); break;
        case IFLA_STATS: printf("  IFLA_STATS %d bytes\n", (int)RTA_PAYLOAD(a)); break;
        case IFLA_STATS64: printf("  IFLA_STATS64 %d bytes\n", (int)RTA_PAYLOAD(a)); break;
        case IFLA_TXQLEN: printf("  IFLA_TXQLEN %u\n", *(const unsigned *)d); break;
        case IFLA_OPERSTATE: printf("  IFLA_OPERSTATE %u\n", d[0]); break;
        }
    }
}

static void addresses(const struct nlmsghdr *h, int *v4, int *v6) {
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    int length = IFA_PAYLOAD(h);
    const char *label = "";
    for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, length); a = RTA_NEXT(a, length))
        if (a->rta_type == IFA_LABEL) label = RTA_DATA(a);
    *(ifa->ifa_family == AF_INET ? v4 : v6) += 1;
    if (ifa->ifa_index != 1 || (ifa->ifa_family == AF_INET && strcmp(label, "lo"))) return;
    printf("RTM_NEWADDR lo: family %u prefix %u flags %#x scope %u\n", ifa->ifa_family, ifa->ifa_prefixlen,
           ifa->ifa_flags, ifa->ifa_scope);
    length = IFA_PAYLOAD(h);
    for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, length); a = RTA_NEXT(a, length)) {
        switch (a->rta_type) {
        case IFA_ADDRESS: printf("  IFA_ADDRESS %s\n", inet_ntop(ifa->ifa_family, RTA_DATA(a), text, sizeof text)); break;
        case IFA_LOCAL: printf("  IFA_LOCAL %s\n", inet_ntop(ifa->ifa_family, RTA_DATA(a), text, sizeof text)); break;
        case IFA_LABEL: printf("  IFA_LABEL %s\n", (const char *)RTA_DATA(a)); break;
        case IFA_BROADCAST: printf("  IFA_BROADCAST present\n"); break;
        }
    }
}

/* Reads a dump's datagrams to its NLMSG_DONE, printing the loopback's messages. */
static void dump(int fd, unsigned me, int seq, int *v4, int *v6) {
    for (;;) {
        struct sockaddr_nl from;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr msg = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1};
        int n = recvmsg(fd, &msg, 0);
        if (n < 0) {
            printf("dump recvmsg: %s\n", err(n));
            return;
        }
        if (from.nl_pid != 0 || msg.msg_namelen != sizeof from) printf("dump: a datagram not from the kernel\n");
        for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_seq != (unsigned)seq || h->nlmsg_pid != me) printf("dump: wrong seq or pid\n");
            if (h->nlmsg_type == NLMSG_DONE) {
                printf("NLMSG_DONE: len %u flags %#x error %d\n", h->nlmsg_len, h->nlmsg_flags, *(int *)NLMSG_DATA(h));
                return;
            }
            if (h->nlmsg_type == RTM_NEWLINK) links(h, me);
            else if (h->nlmsg_type == RTM_NEWADDR) addresses(h, v4, v6);
            else printf("dump: message type %u\n", h->nlmsg_type);
        }
    }
}

static void show_error(int fd) {
    int n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0) {
        printf("  reply: %s\n", err(n));
        return;
    }
    struct nlmsghdr *h = (void *)buf;
    if (h->nlmsg_type != NLMSG_ERROR) {
        printf("  reply: type %u len %u flags %#x\n", h->nlmsg_type, h->nlmsg_len, h->nlmsg_flags);
        return;
    }
    struct nlmsgerr *e = NLMSG_DATA(h);
    printf("  NLMSG_ERROR: datagram %d len %u flags %#x error %d echo type %u seq %u\n", n, h->nlmsg_len,
           h->nlmsg_flags, e->error, e->msg.nlmsg_type, e->msg.nlmsg_seq);
}

static void route(void) {
    int fd = sock();
    printf("socket NETLINK_ROUTE: %s\n", err(fd));
    struct stat st;
    printf("fstat is a socket: %d\n", fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode));
    char link[64], target[64] = "";
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t said = readlink(link, target, sizeof target - 1);
    printf("/proc/self/fd names a socket: %d\n", said > 8 && !strncmp(target, "socket:[", 8));
    printf("unbound port id: %u\n", portid(fd));
    struct sockaddr_nl nl = {.nl_family = AF_NETLINK};
    printf("bind port 0: %s\n", err(bind(fd, (struct sockaddr *)&nl, sizeof nl)));
    unsigned me = portid(fd);
    printf("port id is the pid: %d\n", me == (unsigned)getpid());
    int other = sock();
    printf("second socket bind: %s\n", err(bind(other, (struct sockaddr *)&nl, sizeof nl)));
    unsigned second = portid(other);
    printf("second port id differs: %d\n", second != me && second != 0);
    int third = sock();
    nl.nl_pid = me;
    printf("bind a port in use: %s\n", err(bind(third, (struct sockaddr *)&nl, sizeof nl)));
    nl.nl_pid = 0;
    printf("bind short address: %s\n", err(bind(third, (struct sockaddr *)&nl, 4)));

    struct rtgenmsg any = {.rtgen_family = AF_UNSPEC};
    request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 1, &any, sizeof any);
    int peeked = recv(fd, buf, 0, MSG_PEEK | MSG_TRUNC);
    int whole = recv(fd, buf, sizeof buf, MSG_PEEK);
    printf("MSG_PEEK|MSG_TRUNC tells the datagram's length: %d\n", peeked > 0 && peeked == whole);
    struct iovec iov = {buf, 20};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    int got = recvmsg(fd, &msg, 0);
    printf("recvmsg into 20 bytes: %d MSG_TRUNC %d\n", got, !!(msg.msg_flags & MSG_TRUNC));
    got = recvmsg(fd, &msg, MSG_TRUNC);
    printf("then NLMSG_DONE (with MSG_TRUNC): %d type %u\n", got, ((struct nlmsghdr *)buf)->nlmsg_type);
    printf("nothing left, MSG_DONTWAIT: %s\n", err(recv(fd, buf, sizeof buf, MSG_DONTWAIT)));

    int v4 = 0, v6 = 0;
    request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 2, &any, sizeof any);
    dump(fd, me, 2, &v4, &v6);
    request(fd, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 3, &any, sizeof any);
    dump(fd, me, 3, &v4, &v6);
    printf("AF_UNSPEC address dump has both families: %d\n", v4 > 0 && v6 > 0);
    v4 = v6 = 0;
    struct rtgenmsg inet = {.rtgen_family = AF_INET};
    request(fd, RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, 4, &inet, sizeof inet);
    dump(fd, me, 4, &v4, &v6);
    printf("AF_INET address dump: IPv4 %d IPv6 %d\n", v4 > 0, v6);

    struct ifinfomsg one = {.ifi_index = 1};
    printf("RTM_GETLINK index 1 with NLM_F_ACK:\n");
    request(fd, RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, 5, &one, sizeof one);
    int n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0 && ((struct nlmsghdr *)buf)->nlmsg_type == RTM_NEWLINK) links((void *)buf, me);
    else printf("  reply: %s\n", err(n));
    show_error(fd);
    one.ifi_index = 99999;
    printf("RTM_GETLINK index 99999:\n");
    request(fd, RTM_GETLINK, NLM_F_REQUEST, 6, &one, sizeof one);
    show_error(fd);
    printf("an unknown request type:\n");
    request(fd, 0x1000, NLM_F_REQUEST | NLM_F_DUMP, 7, &any, 4);
    show_error(fd);
    printf("not a request, with NLM_F_ACK:\n");
    request(fd, RTM_GETLINK, NLM_F_ACK, 8, &any, 4);
    show_error(fd);
    int on = 1;
    printf("NETLINK_CAP_ACK: %s\n", err(setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &on, sizeof on)));
    request(fd, 0x1000, NLM_F_REQUEST, 9, &any, 4);
    show_error(fd);

    int value = 0;
    socklen_t len = sizeof value;
    getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len);
    printf("SO_TYPE %d", value);
    getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &len);
    printf(" SO_DOMAIN %d", value);
    getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &value, &len);
    printf(" SO_PROTOCOL %d\n", value);
    value = 32768;
    printf("SO_RCVBUF 32768: %s", err(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, sizeof value)));
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &value, &len);
    printf(", reads back %d\n", value);

    const char hello[] = "hello, port";
    struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = me};
    printf("send to another socket's port: %s\n",
           err(sendto(other, hello, sizeof hello, 0, (struct sockaddr *)&to, sizeof to)));
    struct sockaddr_nl from;
    socklen_t fromlen = sizeof from;
    n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
    printf("received %d bytes from the sender's port: %d\n", n, n > 0 && from.nl_pid == second);

    struct pollfd ready = {.fd = fd, .events = POLLIN};
    printf("poll, nothing queued: %d\n", poll(&ready, 1, 0));
    pid_t child = fork();
    if (child == 0) {
        int mine = sock();
        sendto(mine, "wake", 5, 0, (struct sockaddr *)&to, sizeof to);
        _exit(0);
    }
    int polled = poll(&ready, 1, 5000);
    printf("poll waits for another process's datagram: %d revents %#x\n", polled, ready.revents);
    n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    printf("recvfrom: %d bytes from the child's pid: %d\n", n, from.nl_pid == (unsigned)child);
    waitpid(child, NULL, 0);
    child = fork();
    if (child == 0) {
        usleep(20000);
        int mine = sock();
        sendto(mine, "late", 5, 0, (struct sockaddr *)&to, sizeof to);
        _exit(0);
    }
    n = recv(fd, buf, sizeof buf, 0);
    printf("a blocked recv wakes for it: %d %s\n", n, n == 5 ? buf : "");
    waitpid(child, NULL, 0);

    printf("socket NETLINK_ROUTE SOCK_STREAM: %s\n", err(socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE)));
    printf("socket protocol 31: %s\n", err(socket(AF_NETLINK, SOCK_RAW, 31)));
    printf("socket protocol 32: %s\n", err(socket(AF_NETLINK, SOCK_RAW, 32)));
    int pair[2];
    printf("socketpair: %s\n", err(socketpair(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, pair)));
    printf("listen: %s\n", err(listen(fd, 1)));
    close(third);
    close(other);
    close(fd);
}

static void ioctls(void) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq r;
    memset(&r, 0, sizeof r);
    strcpy(r.ifr_name, "lo");
    int got = ioctl(fd, SIOCGIFINDEX, &r);
    printf("SIOCGIFINDEX lo: %s %d\n", err(got), r.ifr_ifindex);
    got = ioctl(fd, SIOCGIFFLAGS, &r);
    printf("SIOCGIFFLAGS lo: %s %#x\n", err(got), (unsigned short)r.ifr_flags);
    got = ioctl(fd, SIOCGIFMTU, &r);
    printf("SIOCGIFMTU lo: %s %d\n", err(got), r.ifr_mtu);
    got = ioctl(fd, SIOCGIFHWADDR, &r);
    printf("SIOCGIFHWADDR lo: %s family %d\n", err(got), r.ifr_hwaddr.sa_family);
    got = ioctl(fd, SIOCGIFADDR, &r);
    printf("SIOCGIFADDR lo: %s %s\n", err(got), show(&r.ifr_addr));
    got = ioctl(fd, SIOCGIFNETMASK, &r);
    printf("SIOCGIFNETMASK lo: %s %s\n", err(got), show(&r.ifr_netmask));
    strcpy(r.ifr_name, "lo:0");
    got = ioctl(fd, SIOCGIFINDEX, &r);
    printf("SIOCGIFINDEX lo:0 (an alias is its interface): %s %d\n", err(got), r.ifr_ifindex);
    r.ifr_ifindex = 1;
    got = ioctl(fd, SIOCGIFNAME, &r);
    printf("SIOCGIFNAME 1: %s %s\n", err(got), r.ifr_name);
    strcpy(r.ifr_name, "nosuch0");
    printf("SIOCGIFINDEX nosuch0: %s\n", err(ioctl(fd, SIOCGIFINDEX, &r)));
    struct ifconf conf = {.ifc_len = 0, .ifc_buf = NULL};
    got = ioctl(fd, SIOCGIFCONF, &conf);
    printf("SIOCGIFCONF, no buffer: %s, whole ifreqs: %d\n", err(got), conf.ifc_len > 0 && conf.ifc_len % (int)sizeof r == 0);
    conf.ifc_len = sizeof r + 3;
    conf.ifc_req = &r;
    got = ioctl(fd, SIOCGIFCONF, &conf);
    printf("SIOCGIFCONF, room for one: %s %d %s %s\n", err(got), conf.ifc_len, r.ifr_name, show(&r.ifr_addr));
    close(fd);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    strcpy(r.ifr_name, "lo");
    got = ioctl(fd, SIOCGIFINDEX, &r);
    printf("AF_UNIX SIOCGIFINDEX lo: %s %d\n", err(got), r.ifr_ifindex);
    printf("AF_UNIX SIOCGIFADDR lo: %s\n", err(ioctl(fd, SIOCGIFADDR, &r)));
    close(fd);
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    libc_view();
    route();
    ioctls();
    return 0;
}
