/* ethertest: frames through #ether (/net/etherN), the virtual NICs.
 *
 *   ethertest pingpong [COUNT] [TYPE]  fork: a child echoes on ether1, the parent sends COUNT
 *                                      frames from ether0 to it and checks each reply byte for byte
 *   ethertest ping NIC MAC COUNT [TYPE]   send COUNT frames to MAC, check the echoes
 *   ethertest pong NIC COUNT [TYPE]       echo COUNT frames back to their sender
 *   ethertest arp NIC MYIP IP          ask who has IP (a broadcast ARP request), print the answer
 *   ethertest arpd NIC IP              answer one ARP request for IP with this NIC's address
 *   ethertest arpdemo                  fork: arpd 1 10.0.2.16 in a child, arp 0 10.0.2.15 10.0.2.16
 *   ethertest httpget ADDR PORT PATH   an HTTP/1.1 GET over TCP (waiting for a server to listen),
 *                                      to make #ip traffic for [ether] capture_ip
 *   ethertest filter                   type filtering and promiscuity on ether0 (nonblocking reads)
 *   ethertest errors                   bad frames and bad ctl messages, with the err file's reason
 */
#define _DEFAULT_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAXFRAME 1514
#define ETHERTYPE 0x88b5

typedef struct {
	int ctl, data;
	char dir[64];
} Conn;

static void die(const char *what) {
	printf("ethertest: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* open NIC's clone, connect to TYPE (or leave unconnected when type < -1), open data */
static Conn conn_open(int nic, int type, int flags) {
	Conn c;
	char path[96], num[16];
	snprintf(path, sizeof path, "/net/ether%d/clone", nic);
	c.ctl = open(path, O_RDWR);
	if (c.ctl < 0) die(path);
	ssize_t n = read(c.ctl, num, sizeof num - 1);
	if (n <= 0) die("read clone");
	num[n] = 0;
	snprintf(c.dir, sizeof c.dir, "/net/ether%d/%s", nic, num);
	if (type >= -1) {
		char msg[32];
		int len = snprintf(msg, sizeof msg, "connect %d", type);
		if (write(c.ctl, msg, len) != len) die("connect");
	}
	snprintf(path, sizeof path, "%s/data", c.dir);
	c.data = open(path, O_RDWR | flags);
	if (c.data < 0) die(path);
	return c;
}

static void conn_close(Conn *c) {
	close(c->data);
	close(c->ctl);
}

static void read_file(const char *path, char *buf, size_t size) {
	int fd = open(path, O_RDONLY);
	if (fd < 0) die(path);
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	buf[n > 0 ? n : 0] = 0;
	char *nl = strchr(buf, '\n');
	if (nl) *nl = 0;
}

static int parse_mac(const char *text, unsigned char mac[6]) {
	unsigned v[6];
	if (sscanf(text, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6) return -1;
	for (int i = 0; i < 6; i++) mac[i] = v[i];
	return 0;
}

static void nic_mac(int nic, unsigned char mac[6]) {
	char path[64], text[32];
	snprintf(path, sizeof path, "/net/ether%d/addr", nic);
	read_file(path, text, sizeof text);
	for (int i = 0; i < 6; i++) {
		unsigned v;
		sscanf(text + 2 * i, "%2x", &v);
		mac[i] = v;
	}
}

static void print_mac(const unsigned char *m) {
	printf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

static int frame(unsigned char *f, const unsigned char dst[6], int type, int payload, unsigned seed) {
	memcpy(f, dst, 6);
	memset(f + 6, 0, 6); /* the NIC fills in its own address */
	f[12] = type >> 8;
	f[13] = type & 0xff;
	for (int i = 0; i < payload; i++) f[14 + i] = (unsigned char)(seed * 31 + i * 7);
	return 14 + payload;
}

static int pong_on(Conn c, int nic, int count) {
	unsigned char f[MAXFRAME];
	for (int i = 0; i < count; i++) {
		ssize_t n = read(c.data, f, sizeof f);
		if (n < 14) die("pong read");
		unsigned char src[6];
		memcpy(src, f + 6, 6);
		memcpy(f, src, 6); /* back to whoever sent it */
		if (write(c.data, f, n) != n) die("pong write");
	}
	printf("pong: echoed %d frames on ether%d\n", count, nic);
	conn_close(&c);
	return 0;
}

static int pong(int nic, int count, int type) {
	return pong_on(conn_open(nic, type, 0), nic, count);
}

static int ping(int nic, const unsigned char dst[6], int count, int type) {
	Conn c = conn_open(nic, type, 0);
	unsigned char me[6], out[MAXFRAME], in[MAXFRAME];
	nic_mac(nic, me);
	int good = 0;
	long bytes = 0;
	for (int i = 0; i < count; i++) {
		int payload = i == 0 ? 0 : i == 1 ? 1500 : (i * 97) % 1501;
		int len = frame(out, dst, type, payload, i);
		if (write(c.data, out, len) != len) die("ping write");
		ssize_t n = read(c.data, in, sizeof in);
		if (n < 0) die("ping read");
		memcpy(out + 6, dst, 6); /* expected: from dst, back to me */
		memcpy(out, me, 6);
		if (n == len && memcmp(in, out, len) == 0) good++;
		else printf("ping: frame %d: got %zd bytes, expected %d\n", i, n, len);
		bytes += n;
	}
	printf("ping: %d/%d replies byte for byte (%ld bytes) from ", good, count, bytes);
	print_mac(dst);
	printf("\n");
	char path[96], stats[256];
	snprintf(path, sizeof path, "%s/stats", c.dir);
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, stats, sizeof stats - 1);
	stats[n > 0 ? n : 0] = 0;
	close(fd);
	for (char *p = stats; *p; p++)
		if (*p == '\n') *p = ' ';
	printf("ping: stats %s\n", stats);
	conn_close(&c);
	return good == count ? 0 : 1;
}

static int pingpong(int count, int type) {
	unsigned char peer[6];
	nic_mac(1, peer);
	/* the child's connection is made before the fork, so it hears the first frame */
	Conn echo = conn_open(1, type, 0);
	pid_t child = fork();
	if (child < 0) die("fork");
	if (child == 0) exit(pong_on(echo, 1, count));
	conn_close(&echo);
	int rc = ping(0, peer, count, type);
	int status;
	waitpid(child, &status, 0);
	printf("pingpong: child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return rc;
}

/* --- ARP (RFC 826) over ethernet and IPv4 --- */

static int parse_ip(const char *text, unsigned char ip[4]) {
	unsigned v[4];
	if (sscanf(text, "%u.%u.%u.%u", &v[0], &v[1], &v[2], &v[3]) != 4) return -1;
	for (int i = 0; i < 4; i++) ip[i] = v[i];
	return 0;
}

static int arp_frame(unsigned char *f, const unsigned char dst[6], int op, const unsigned char sha[6],
		     const unsigned char spa[4], const unsigned char tha[6], const unsigned char tpa[4]) {
	static const unsigned char head[8] = {0, 1, 8, 0, 6, 4, 0, 0};
	memcpy(f, dst, 6);
	memset(f + 6, 0, 6);
	f[12] = 0x08;
	f[13] = 0x06;
	memcpy(f + 14, head, 8);
	f[21] = op;
	memcpy(f + 22, sha, 6);
	memcpy(f + 28, spa, 4);
	memcpy(f + 32, tha, 6);
	memcpy(f + 38, tpa, 4);
	memset(f + 42, 0, 18); /* pad to the 60-byte minimum, as a real NIC would */
	return 60;
}

static int arp(int nic, const char *myip, const char *target) {
	unsigned char me[6], spa[4], tpa[4], f[MAXFRAME], bcast[6], zero[6] = {0};
	if (parse_ip(myip, spa) || parse_ip(target, tpa)) {
		printf("arp: expected IPv4 addresses\n");
		return 2;
	}
	memset(bcast, 0xff, 6);
	nic_mac(nic, me);
	Conn c = conn_open(nic, 0x0806, 0);
	int len = arp_frame(f, bcast, 1, me, spa, zero, tpa);
	/* as ARP does: ask again when no answer comes within 10 ms (the responder may not be up) */
	for (int tries = 1;; tries++) {
		if (write(c.data, f, len) != len) die("arp write");
		printf("arp: who has %s? tell %s\n", target, myip);
		struct pollfd p = {.fd = c.data, .events = POLLIN};
		int answered = 0;
		while (poll(&p, 1, 10) > 0) {
			ssize_t n = read(c.data, f, sizeof f);
			if (n < 42) die("arp read");
			if (f[21] == 2 && memcmp(f + 28, tpa, 4) == 0) {
				answered = 1;
				break;
			}
		}
		if (answered) break;
		if (tries == 5) {
			printf("arp: no answer for %s\n", target);
			return 1;
		}
		len = arp_frame(f, bcast, 1, me, spa, zero, tpa);
	}
	printf("arp: %s is at ", target);
	print_mac(f + 22);
	printf("\n");
	conn_close(&c);
	return 0;
}

static int arpd(int nic, const char *ip) {
	unsigned char me[6], mine[4], f[MAXFRAME], reply[MAXFRAME];
	if (parse_ip(ip, mine)) {
		printf("arpd: expected an IPv4 address\n");
		return 2;
	}
	nic_mac(nic, me);
	Conn c = conn_open(nic, 0x0806, 0);
	for (;;) {
		ssize_t n = read(c.data, f, sizeof f);
		if (n < 42) die("arpd read");
		if (f[21] != 1 || memcmp(f + 38, mine, 4) != 0) continue;
		int len = arp_frame(reply, f + 22, 2, me, mine, f + 22, f + 28);
		if (write(c.data, reply, len) != len) die("arpd write");
		printf("arpd: told %u.%u.%u.%u that %s is at ", f[28], f[29], f[30], f[31], ip);
		print_mac(me);
		printf("\n");
		break;
	}
	conn_close(&c);
	return 0;
}

static int arpdemo(void) {
	pid_t child = fork();
	if (child < 0) die("fork");
	if (child == 0) exit(arpd(1, "10.0.2.16"));
	int rc = arp(0, "10.0.2.15", "10.0.2.16");
	int status;
	waitpid(child, &status, 0);
	return rc || !WIFEXITED(status) || WEXITSTATUS(status);
}

/* --- TCP traffic for the IP capture --- */

static int httpget(const char *ip, int port, const char *path) {
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
	if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
		printf("httpget: %s is not an IPv4 address\n", ip);
		return 2;
	}
	int s = -1;
	for (int tries = 0; tries < 1000; tries++) { /* the server may not listen yet */
		s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0) die("socket");
		if (connect(s, (struct sockaddr *)&a, sizeof a) == 0) break;
		if (errno != ECONNREFUSED) die("connect");
		close(s);
		s = -1;
		usleep(1000);
	}
	if (s < 0) die("connect");
	char req[512], buf[4096];
	int len = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", path, ip);
	if (write(s, req, len) != len) die("write");
	long total = 0;
	char first[128] = "";
	ssize_t n;
	while ((n = read(s, buf, sizeof buf)) > 0) {
		if (!total) {
			size_t line = strcspn(buf, "\r\n");
			if (line >= sizeof first) line = sizeof first - 1;
			memcpy(first, buf, line);
			first[line] = 0;
		}
		total += n;
	}
	close(s);
	printf("httpget: %s (%ld bytes)\n", first, total);
	return 0;
}

/* --- filtering and errors --- */

static int drain(Conn *c, const char *name) {
	unsigned char f[MAXFRAME];
	int got = 0;
	printf("%s:", name);
	for (;;) {
		ssize_t n = read(c->data, f, sizeof f);
		if (n < 0) {
			printf(" then %s\n", errno == EAGAIN ? "EAGAIN" : strerror(errno));
			return got;
		}
		printf(" %02x%02x", f[12], f[13]);
		got++;
	}
}

static int filter(void) {
	unsigned char me[6], other[6] = {0x02, 0, 0, 0, 0, 0x99}, f[MAXFRAME];
	nic_mac(0, me);
	Conn a = conn_open(0, 0x88b5, O_NONBLOCK), b = conn_open(0, 0x88b6, O_NONBLOCK);
	Conn all = conn_open(0, -1, O_NONBLOCK), prom = conn_open(0, -1, O_NONBLOCK);
	Conn sender = conn_open(0, -2, 0);
	if (write(prom.ctl, "promiscuous", 11) != 11) die("promiscuous");
	struct pollfd p = {.fd = a.data, .events = POLLIN};
	printf("poll before: %d\n", poll(&p, 1, 0));
	int types[] = {0x88b5, 0x88b6, 0x0800};
	for (int i = 0; i < 3; i++) {
		int len = frame(f, me, types[i], 46, i);
		if (write(sender.data, f, len) != len) die("filter write");
	}
	int len = frame(f, other, 0x88b5, 46, 9); /* to a MAC that is no NIC's */
	if (write(sender.data, f, len) != len) die("filter write");
	int ready = poll(&p, 1, 0);
	printf("poll after: %d revents %d\n", ready, p.revents);
	drain(&a, "88b5");
	drain(&b, "88b6");
	drain(&all, "all");
	drain(&prom, "promiscuous");
	drain(&sender, "sender");
	conn_close(&a);
	conn_close(&b);
	conn_close(&all);
	conn_close(&prom);
	conn_close(&sender);
	return 0;
}

static void report(Conn *c, const char *what, ssize_t rc) {
	char path[96], err[160];
	int saved = errno;
	snprintf(path, sizeof path, "%s/err", c->dir);
	read_file(path, err, sizeof err);
	if (rc < 0) printf("%s: %s -- %s\n", what, strerror(saved), err);
	else printf("%s: ok (%zd)\n", what, rc);
}

static int errors(void) {
	static unsigned char f[2000];
	unsigned char me[6];
	nic_mac(0, me);
	Conn c = conn_open(0, -2, 0);
	char buf[64];
	errno = 0;
	ssize_t rc = read(c.data, buf, sizeof buf);
	report(&c, "read before connect", rc);
	int sizes[] = {0, 13, 14, 1514, 1515, 2000};
	for (int i = 0; i < 6; i++) {
		frame(f, me, ETHERTYPE, sizes[i] > 14 ? sizes[i] - 14 : 0, i);
		rc = write(c.data, f, sizes[i]);
		char what[32];
		snprintf(what, sizeof what, "frame of %d bytes", sizes[i]);
		report(&c, what, rc);
	}
	const char *bad[] = {"frobnicate", "connect", "connect ip", "connect 70000", "connect -2",
			     "promiscuous yes", "", "connect 0x88b5"};
	for (int i = 0; i < 8; i++) {
		rc = write(c.ctl, bad[i], strlen(bad[i]));
		char what[48];
		snprintf(what, sizeof what, "ctl '%s'", bad[i]);
		report(&c, what, rc);
	}
	char path[96], type[16];
	snprintf(path, sizeof path, "%s/type", c.dir);
	read_file(path, type, sizeof type);
	printf("type: %s\n", type);
	conn_close(&c);
	return 0;
}

int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc >= 2 && strcmp(argv[1], "pingpong") == 0)
		return pingpong(argc > 2 ? atoi(argv[2]) : 10, argc > 3 ? (int)strtol(argv[3], 0, 0) : ETHERTYPE);
	if (argc >= 5 && strcmp(argv[1], "ping") == 0) {
		unsigned char mac[6];
		if (parse_mac(argv[3], mac)) {
			printf("ping: %s is not a MAC address\n", argv[3]);
			return 2;
		}
		return ping(atoi(argv[2]), mac, atoi(argv[4]), argc > 5 ? (int)strtol(argv[5], 0, 0) : ETHERTYPE);
	}
	if (argc >= 4 && strcmp(argv[1], "pong") == 0)
		return pong(atoi(argv[2]), atoi(argv[3]), argc > 4 ? (int)strtol(argv[4], 0, 0) : ETHERTYPE);
	if (argc == 5 && strcmp(argv[1], "arp") == 0) return arp(atoi(argv[2]), argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "arpd") == 0) return arpd(atoi(argv[2]), argv[3]);
	if (argc == 2 && strcmp(argv[1], "arpdemo") == 0) return arpdemo();
	if (argc == 5 && strcmp(argv[1], "httpget") == 0) return httpget(argv[2], atoi(argv[3]), argv[4]);
	if (argc == 2 && strcmp(argv[1], "filter") == 0) return filter();
	if (argc == 2 && strcmp(argv[1], "errors") == 0) return errors();
	printf("usage: ethertest pingpong [COUNT] [TYPE] | ping NIC MAC COUNT [TYPE] | pong NIC COUNT [TYPE]\n"
	       "       | arp NIC MYIP IP | arpd NIC IP | arpdemo | httpget ADDR PORT PATH\n"
	       "       | filter | errors\n");
	return 2;
}
