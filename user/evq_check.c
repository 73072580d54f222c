/* evq_check: event queues and mailboxes (UCQ, CEQ, bitmap) and the ev_q flags, checked from
 * inside a process, one "PASSED name" / "FAILED name: why" line each between BEGIN and END.
 *
 * The first part runs as a single-core process (notifications off: it drains its mailboxes
 * itself); the last part becomes an MCP and checks where EVENT_SPAM_PUBLIC and EVENT_INDIR send
 * their messages when the vcore named is not running. */
#include "parlib/uthread.h"
#include "utest.h"

#define MANY 1000

static volatile uint32_t nr_user, nr_type[MAX_NR_EVENT];
static volatile uint64_t sum_user, last_vcore_seen;

static void on_user(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	(void)data;
	nr_user++;
	sum_user += msg->ev_arg3;
	last_vcore_seen = vcore_id();
}

static long send(struct event_queue *q, uint16_t type, uint32_t arg2, uint64_t arg3, uint32_t vcoreid)
{
	struct event_msg msg = { .ev_type = type, .ev_arg2 = arg2, .ev_arg3 = arg3 };
	return sys_send_event(q, &msg, vcoreid);
}

/* The mailbox's messages: how many, and per type the OR of their ev_arg2. */
static int drain(struct event_mbox *mbox, uint64_t *bits, int nbits)
{
	struct event_msg msg;
	int n = 0;
	while (extract_one_mbox_msg(mbox, &msg)) {
		if (msg.ev_type < nbits)
			bits[msg.ev_type] |= msg.ev_arg2 ? msg.ev_arg2 : 1;
		n++;
	}
	return n;
}

static void ucq_checks(void)
{
	/* our own vcore's mailbox is a UCQ: a thousand events, none lost, in order */
	uint64_t expect = 0;
	for (int i = 1; i <= MANY; i++) {
		vcore_notify(0, EV_USER_IPI, (uint64_t)i, EVENT_IPI);
		expect += (uint64_t)i;
	}
	int handled = handle_events(0);
	check("a_vcore_mailbox_holds_a_thousand_events", handled == MANY && nr_user == MANY &&
	      sum_user == expect, "%d handled, %u seen, sum %lu", handled, nr_user, (unsigned long)sum_user);
	struct event_queue *q = get_eventq(EV_MBOX_UCQ);
	for (int i = 0; i < 300; i++)
		send(q, 6, (uint32_t)i, 0, 0);
	struct event_msg msg;
	int n = 0;
	bool in_order = true;
	while (extract_one_mbox_msg(q->ev_mbox, &msg))
		in_order = in_order && msg.ev_arg2 == (uint32_t)n++;
	check("a_ucq_spans_pages_in_order", n == 300 && in_order && q->ev_mbox->ucq.nr_extra_pgs >= 3,
	      "%d messages, in order %d, %lu pages mapped", n, in_order,
	      (unsigned long)q->ev_mbox->ucq.nr_extra_pgs);
	for (int i = 0; i < 300; i++)
		send(q, 6, (uint32_t)i, 0, 0);
	uint64_t pages = q->ev_mbox->ucq.nr_extra_pgs;
	n = 0;
	while (extract_one_mbox_msg(q->ev_mbox, &msg))
		n++;
	check("consumed_pages_are_reused", n == 300 && q->ev_mbox->ucq.nr_extra_pgs <= pages + 2,
	      "%d messages, %lu then %lu pages", n, (unsigned long)pages,
	      (unsigned long)q->ev_mbox->ucq.nr_extra_pgs);
	check("an_empty_ucq_says_so", mbox_is_empty(q->ev_mbox), "not empty");
}

static void ceq_checks(void)
{
	struct event_queue *q = get_eventq_vcpd(0, 0);
	struct event_mbox *mbox = calloc(1, sizeof *mbox);
	ceq_init(&mbox->ceq, CEQ_OR, 64, 8);
	mbox->type = EV_MBOX_CEQ;
	q->ev_mbox = mbox;
	uint64_t bits[64] = { 0 };
	send(q, 5, 0x1, 0, 0);
	send(q, 5, 0x4, 0, 0);
	send(q, 5, 0x10, 77, 0);
	send(q, 9, 0x2, 0, 0);
	struct event_msg msg;
	bool got = extract_one_mbox_msg(mbox, &msg);
	check("ceq_events_of_a_type_coalesce", got && msg.ev_type == 5 && msg.ev_arg2 == 0x15 &&
	      msg.ev_arg3 == 77, "type %u arg2 %#x arg3 %lu", msg.ev_type, msg.ev_arg2,
	      (unsigned long)msg.ev_arg3);
	int n = drain(mbox, bits, 64);
	check("ceq_other_types_stay_apart", n == 1 && bits[9] == 0x2, "%d more, type 9: %#lx", n,
	      (unsigned long)bits[9]);
	memset(bits, 0, sizeof bits);
	for (int t = 0; t < 20; t++) /* more types than the ring holds */
		send(q, (uint16_t)t, 1u << (t % 8), 0, 0);
	uint64_t scans = parlib_ceq_overflow_scans;
	n = drain(mbox, bits, 64);
	int types = 0;
	for (int t = 0; t < 20; t++)
		types += bits[t] == (1u << (t % 8));
	check("a_ceq_whose_ring_overflowed_loses_nothing", n == 20 && types == 20 &&
	      parlib_ceq_overflow_scans == scans + 1, "%d messages, %d types right, %lu scans", n, types,
	      (unsigned long)(parlib_ceq_overflow_scans - scans));
	send(q, 70, 1, 0, 0); /* beyond the CEQ's 64 entries: dropped */
	check("a_type_beyond_the_ceq_is_dropped", drain(mbox, bits, 64) == 0, "a message came");
	struct event_mbox *add = calloc(1, sizeof *add);
	ceq_init(&add->ceq, CEQ_ADD, 8, 8);
	add->type = EV_MBOX_CEQ;
	q->ev_mbox = add;
	for (int i = 0; i < 10; i++)
		send(q, 3, 5, 0, 0);
	got = extract_one_mbox_msg(add, &msg);
	check("ceq_add_sums", got && msg.ev_arg2 == 50, "arg2 %u", msg.ev_arg2);
}

static void bitmap_checks(void)
{
	struct event_queue *q = get_eventq(EV_MBOX_BITMAP);
	send(q, 3, 0, 0, 0);
	send(q, 3, 0, 0, 0);
	send(q, 7, 0, 0, 0);
	uint64_t bits[MAX_NR_EVENT] = { 0 };
	int n = drain(q->ev_mbox, bits, MAX_NR_EVENT);
	check("bitmap_sets_a_bit_per_type", n == 2 && bits[3] && bits[7], "%d messages", n);
	check("bitmap_is_empty_after", mbox_is_empty(q->ev_mbox), "not empty");
}

static volatile uint32_t indir_seen;

static void on_indir(struct event_queue *ev_q)
{
	(void)ev_q;
	indir_seen++;
}

static void indir_checks(void)
{
	struct event_queue *q = get_eventq(EV_MBOX_UCQ);
	q->ev_flags = EVENT_INDIR;
	q->ev_handler = on_indir;
	send(q, EV_USER_IPI, 0, 1, 0);
	send(q, EV_USER_IPI, 0, 2, 0);
	check("indir_alerts_once_until_handled", q->ev_alert_pending == 1, "alert pending %u",
	      q->ev_alert_pending);
	handle_events(0);
	check("the_ev_event_runs_the_queue_handler", indir_seen == 1 && q->ev_alert_pending == 0,
	      "%u alerts, pending %u", indir_seen, q->ev_alert_pending);
	send(q, EV_USER_IPI, 0, 3, 0);
	handle_events(0);
	check("handled_queues_alert_again", indir_seen == 2, "%u alerts", indir_seen);
	q->ev_flags = EVENT_INDIR | EVENT_NOTHROTTLE;
	send(q, EV_USER_IPI, 0, 4, 0);
	send(q, EV_USER_IPI, 0, 5, 0);
	handle_events(0);
	check("nothrottle_sends_every_indir", indir_seen == 4, "%u alerts", indir_seen);
	uint64_t bits[MAX_NR_EVENT] = { 0 };
	check("the_messages_wait_in_the_queue", drain(q->ev_mbox, bits, MAX_NR_EVENT) == 5, "not 5");
	long bad = sys_send_event((struct event_queue *)8, NULL, 0);
	check("a_bad_queue_is_efault", bad == -EFAULT, "returned %ld", bad);
	bad = send(q, 1, 0, 0, MAX_VCORES);
	check("a_vcore_beyond_max_vcores_is_einval", bad == -EINVAL, "returned %ld", bad);
}

/* MCP: vcore 1 is offline (we ask for one vcore only) */
static void spam_checks(void)
{
	uint32_t before = nr_user;
	struct event_queue *q = get_eventq_vcpd(1, EVENT_SPAM_PUBLIC | EVENT_IPI);
	send(q, EV_USER_IPI, 0, 0, 1);
	uint64_t t0 = read_tsc();
	while (nr_user == before && read_tsc() - t0 < 10000000)
		cpu_relax();
	check("spam_public_reaches_a_running_vcore", nr_user == before + 1 && last_vcore_seen == 0,
	      "%u events, on vcore %lu", nr_user - before, (unsigned long)last_vcore_seen);
	struct event_queue *plain = get_eventq_vcpd(1, EVENT_IPI);
	before = nr_user;
	send(plain, EV_USER_IPI, 0, 0, 1);
	t0 = read_tsc();
	while (nr_user == before && read_tsc() - t0 < 2000000)
		cpu_relax();
	check("without_spam_it_waits_in_the_offline_vcores_mailbox", nr_user == before &&
	      !ucq_is_empty((struct ucq *)&vcpd_of(1)->ev_mbox_public.ucq), "%u events handled",
	      nr_user - before);
	handle_events(1); /* what a vcore recovering vcore 1 would do */
	check("another_vcore_can_take_them", nr_user == before + 1, "%u events", nr_user - before);
}

int main(void)
{
	printf("BEGIN evq_check\n");
	register_ev_handler(EV_USER_IPI, on_user, NULL);
	ucq_checks();
	ceq_checks();
	bitmap_checks();
	indir_checks();
	if (max_vcores() >= 2 && uthread_mcp_init(NULL) == 0) {
		fifo_set_idle(FIFO_IDLE_SPIN);
		spam_checks();
	} else {
		check("mcp", false, "needs the mcp ksched and 3 or more cores");
	}
	printf("END evq_check\n");
	return utest_failures ? 1 : 0;
}
