/* tap_check: the rules of FD taps (SYS_tap_fds), checked from inside a process, one
 * "PASSED name" / "FAILED name: why" line each between BEGIN and END (as akaros_rules prints).
 *
 *   tap_check [FILE]          FILE: a regular file to try (default /bin/tap_check)
 *   tap_check ether           a tap on an #ether connection (needs a NIC, /net/ether0)
 *
 * The first part runs as a single-core process and drains the event queue's CEQ itself.
 * The last part becomes an MCP whose main uthread parks in uth_read (parlib/net.c) until a child
 * process writes to it a millisecond later: with nothing to run, the MCP's vcores yield and it
 * waits holding no core, and the tap's event (EVENT_WAKEUP) brings it back. */
#include "parlib/net.h"

static int failures;
static struct event_queue *q; /* EVENT_INDIR, a CEQ of 128 entries */
static volatile int ev_events;
static uint64_t seen[128]; /* what the CEQ said, by event type: the filter bits OR'd */

static void check(const char *name, bool ok, const char *fmt, long a, long b)
{
	if (ok) {
		printf("PASSED %s\n", name);
		return;
	}
	char why[160];
	snprintf(why, sizeof why, fmt, a, b);
	printf("FAILED %s: %s\n", name, why);
	failures++;
}

static long tap(int fd, int cmd, int filter, int ev_id, struct event_queue *evq)
{
	struct fd_tap_req req = { .fd = fd, .cmd = cmd, .filter = filter, .ev_id = ev_id, .ev_q = evq };
	return sys_tap_fds(&req, 1);
}

static int drain(void)
{
	struct event_msg msg;
	int n = 0;
	while (extract_one_mbox_msg(q->ev_mbox, &msg)) {
		if (msg.ev_type < COUNT_OF(seen))
			seen[msg.ev_type] |= msg.ev_arg2;
		n++;
	}
	return n;
}

static uint64_t seen_now(int ev_id)
{
	drain();
	return seen[ev_id];
}

static long bit(int ev_id)
{
	drain();
	return seen[ev_id] != 0;
}

static void clear(void)
{
	drain();
	memset(seen, 0, sizeof seen);
}

/* The queue's EV_EVENT (EVENT_INDIR): count it; the checks drain the CEQ themselves. */
static void on_alert(struct event_queue *ev_q)
{
	if (ev_q == q)
		ev_events++;
}

static int writer(const char *port)
{
	char addr[40], dir[NETPATH];
	snprintf(addr, sizeof addr, "tcp!127.0.0.1!%s", port);
	int fd = dial9(addr, dir);
	if (fd < 0)
		return 2;
	struct timespec ms = { 0, 1000000 };
	sys_nanosleep(&ms, NULL);
	sys_write(fd, "wake", 4);
	sys_close(fd);
	return 0;
}

/* Two ends of one loopback TCP connection: *server and *client data descriptors. */
static int pair(int *server, int *client)
{
	char dir[NETPATH], newdir[NETPATH], addr[40];
	int actl = announce9("tcp!*!0", dir);
	if (actl < 0)
		return actl;
	char local[40];
	snprintf(local, sizeof local, "%s/local", dir);
	int lfd = (int)sys_open(local, O_RDONLY);
	long n = sys_read(lfd, local, sizeof local - 1);
	sys_close(lfd);
	local[n > 0 ? n : 0] = 0;
	snprintf(addr, sizeof addr, "tcp!127.0.0.1!%ld", strtol(strchr(local, '!') + 1, NULL, 10));
	*client = dial9(addr, newdir);
	int ctl = listen9(dir, newdir);
	*server = accept9(ctl, newdir);
	sys_close(ctl);
	return actl;
}

/* An #ether connection of type 0x88b5 (its data file, nonblocking); *ctl gets its ctl file. */
static int ether_conn(int *ctl)
{
	char num[16], path[64];
	*ctl = (int)sys_open("/net/ether0/clone", O_RDWR);
	long n = *ctl < 0 ? -1 : sys_read(*ctl, num, sizeof num - 1);
	num[n > 0 ? n : 0] = 0;
	snprintf(path, sizeof path, "/net/ether0/%s/data", num);
	return (int)sys_open(path, O_RDWR | O_NONBLOCK);
}

/* A driver need not wake anyone when a read drains a file: the EAGAIN of the next read is what
 * tells the kernel the file is not ready any more, so each new frame is a new event. */
static int ether_rules(void)
{
	int actl, bctl;
	int a = ether_conn(&actl), b = ether_conn(&bctl);
	long r = sys_write(actl, "connect 0x88b5", 14);
	check("ether_connections", a >= 0 && b >= 0 && r == 14, "data %ld, connect %ld", a, r);
	uint8_t frame[60] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56, 0, 0, 0, 0, 0, 0, 0x88, 0xb5 };
	r = tap(a, FDTAP_CMD_ADD, FDTAP_FILT_READABLE, 3, q);
	check("ether_tap_added", r == 1, "returned %ld", r, 0);
	int fired = 0;
	for (int i = 0; i < 3; i++) {
		char buf[100];
		clear();
		sys_write(b, frame, sizeof frame);
		fired += bit(3);
		if (sys_read(a, buf, sizeof buf) != sizeof frame || sys_read(a, buf, sizeof buf) != -EAGAIN)
			break;
	}
	check("each_frame_after_a_drain_fires", fired == 3, "%ld of 3 frames fired the tap", fired, 0);
	printf("END tap_check\n");
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "writer"))
		return writer(argv[2]);
	const char *file = argc > 1 ? argv[1] : "/bin/tap_check";
	q = get_eventq_vcpd(0, EVENT_INDIR);
	q->ev_mbox = calloc(1, sizeof *q->ev_mbox);
	ceq_init(&q->ev_mbox->ceq, CEQ_OR, 128, 64);
	q->ev_mbox->type = EV_MBOX_CEQ;
	q->ev_handler = on_alert;
	printf("BEGIN tap_check\n");
	if (argc > 1 && !strcmp(argv[1], "ether"))
		return ether_rules();

	long r = tap(999, FDTAP_CMD_ADD, FDTAP_FILT_READABLE, 1, q);
	check("bad_fd_is_ebadf", r == -EBADF, "returned %ld", r, 0);
	r = sys_tap_fds((struct fd_tap_req *)8, 1);
	check("bad_request_pointer_is_efault", r == -EFAULT, "returned %ld", r, 0);
	r = sys_tap_fds(NULL, 100000);
	check("too_many_requests_is_einval", r == -EINVAL, "returned %ld", r, 0);
	int f = (int)sys_open(file, O_RDONLY);
	r = tap(f, FDTAP_CMD_ADD, FDTAP_FILT_READABLE, 1, q);
	check("a_file_that_never_waits_is_enosys", f >= 0 && r == -ENOSYS, "open %ld, tap %ld", f, r);
	sys_close(f);

	int server = -1, client = -1;
	int actl = pair(&server, &client);
	check("loopback_pair", actl >= 0 && server >= 0 && client >= 0, "announce %ld, server %ld",
	      actl, server);
	r = tap(server, FDTAP_CMD_ADD, 0x4 /* WRITTEN */, 1, q);
	check("unsupported_filter_is_einval", r == -EINVAL, "returned %ld", r, 0);
	r = tap(server, FDTAP_CMD_ADD, FDTAP_FILT_READABLE, 1 << 16, q);
	check("ev_id_beyond_an_event_type_is_einval", r == -EINVAL, "returned %ld", r, 0);
	r = tap(server, FDTAP_CMD_ADD, FDTAP_FILT_READABLE, 1, (struct event_queue *)8);
	check("bad_event_queue_is_efault", r == -EFAULT, "returned %ld", r, 0);
	static const uint64_t rodata_q[5] = { 0, EVENT_INDIR, 0, 0, 0 }; /* read-only */
	r = tap(server, FDTAP_CMD_ADD, FDTAP_FILT_READABLE, 1, (struct event_queue *)rodata_q);
	check("read_only_event_queue_is_efault", r == -EFAULT, "returned %ld", r, 0);
	r = tap(server, 7, FDTAP_FILT_READABLE, 1, q);
	check("unknown_command_is_enosys", r == -ENOSYS, "returned %ld", r, 0);

	clear();
	r = tap(server, FDTAP_CMD_ADD, FDTAP_FILT_READABLE | FDTAP_FILT_HANGUP, 70, q);
	check("tap_added", r == 1, "returned %ld", r, 0);
	check("no_event_while_nothing_to_read", !bit(70) && ev_events == 0, "bit %ld events %ld",
	      bit(70), ev_events);
	r = tap(server, FDTAP_CMD_ADD, FDTAP_FILT_READABLE, 71, q);
	check("a_second_tap_on_the_fd_is_ebusy", r == -EBUSY, "returned %ld", r, 0);

	sys_write(client, "abc", 3);
	check("data_arriving_sends_the_event_with_the_filter", seen_now(70) == FDTAP_FILT_READABLE,
	      "filter bits %#lx", seen[70], 0);
	handle_events(0);
	check("indir_sends_ev_event_with_the_queue", ev_events == 1, "%ld EV_EVENT messages", ev_events,
	      0);
	clear();
	sys_write(client, "def", 3);
	check("still_readable_is_no_new_event", !bit(70), "bit %ld", bit(70), 0);
	char buf[16];
	r = sys_read(server, buf, sizeof buf);
	check("read_takes_both_writes", r == 6, "read %ld", r, 0);
	r = sys_read(server, buf, sizeof buf);
	check("nonblocking_read_of_an_empty_conversation_is_eagain", r == -EAGAIN, "read %ld", r, 0);
	sys_write(client, "g", 1);
	check("readable_again_fires_again", bit(70), "bit %ld", bit(70), 0);
	sys_read(server, buf, sizeof buf);

	clear();
	r = tap(client, FDTAP_CMD_ADD, FDTAP_FILT_WRITABLE, 5, q);
	check("a_file_ready_already_fires_at_once", r == 1 && bit(5), "tap %ld bit %ld", r, bit(5));

	struct fd_tap_req two[2] = {
		{ .fd = client, .cmd = FDTAP_CMD_REM },
		{ .fd = client, .cmd = FDTAP_CMD_REM },
	};
	r = sys_tap_fds(two, 2);
	check("a_failing_second_request_returns_one", r == 1, "returned %ld", r, 0);

	clear();
	sys_write(client, "h", 1);
	sys_close(client);
	check("events_of_one_fd_coalesce_in_the_ceq", drain() == 1 && seen[70] == (FDTAP_FILT_READABLE | FDTAP_FILT_HANGUP),
	      "filter bits %#lx", seen[70], 0);
	r = sys_write(server, "x", 1);
	check("writing_to_a_closed_peer_is_epipe_not_a_signal", r == -EPIPE, "write %ld", r, 0);
	sys_close(server);
	int opened[4], again = -1, nr = 0;
	while (nr < 4 && again != server)
		again = opened[nr++] = (int)sys_open("/net/ndb", O_RDONLY); /* until it is server's number */
	r = tap(again, FDTAP_CMD_ADD, FDTAP_FILT_READABLE, 6, q);
	check("closing_the_fd_removed_its_tap", again == server && r == 1, "fd %ld tap %ld", again, r);
	while (nr)
		sys_close(opened[--nr]);
	sys_close(actl);

	/* An MCP that waits for its tap with no core. */
	char dir[NETPATH], newdir[NETPATH];
	int lctl = announce9("tcp!*!7007", dir);
	char lpath[NETPATH + 8];
	snprintf(lpath, sizeof lpath, "%s/listen", dir);
	r = sys_open(lpath, O_RDWR | O_NONBLOCK);
	check("nonblocking_listen_without_a_call_is_eagain", r == -EAGAIN, "open returned %ld", r, 0);
	uth_net_init();
	if (uthread_mcp_init(NULL) < 0) {
		check("mcp", false, "change_to_m refused", 0, 0);
	} else {
		char *cargv[] = { argv[0], "writer", "7007", NULL };
		char *envp[] = { NULL };
		long pid = sys_proc_create(argv[0], strlen(argv[0]), cargv, envp, 0);
		sys_proc_run(pid);
		int ctl = listen9(dir, newdir);
		int data = accept9(ctl, newdir);
		long got = uth_read(data, buf, sizeof buf);
		check("an_mcp_uthread_parks_until_its_tap_fires", got == 4 && !memcmp(buf, "wake", 4),
		      "read %ld", got, 0);
		check("it_parked", uth_net_parks >= 2, "%ld parks", uth_net_parks, 0);
		int status = -1;
		sys_waitpid(pid, &status, 0);
		check("the_writer_exited", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %ld",
		      status, 0);
		/* data's number again, for another call, after a plain sys_close: parlib must tap the
		 * new file, or the uthread waits forever for the old tap */
		char dir2[NETPATH];
		int lctl2 = announce9("tcp!*!7008", dir2);
		cargv[2] = "7008";
		pid = sys_proc_create(argv[0], strlen(argv[0]), cargv, envp, 0);
		sys_proc_run(pid);
		int ctl2 = listen9(dir2, newdir);
		uint64_t parks = uth_net_parks;
		sys_close(data);
		int data2 = accept9(ctl2, newdir);
		got = uth_read(data2, buf, sizeof buf);
		check("a_reused_descriptor_gets_a_new_tap", data2 == data && got == 4 && uth_net_parks > parks,
		      "descriptor %ld, read %ld", data2, got);
		sys_waitpid(pid, &status, 0);
		uth_close(data2);
		sys_close(ctl2);
		sys_close(lctl2);
		sys_close(ctl);
	}
	sys_close(lctl);
	printf("END tap_check\n");
	return failures ? 1 : 0;
}
