/* Event handlers, draining vcores' mailboxes, event queues and kernel event registration. */
#include "uthread.h"
#include "vcore.h"

#define MAX_EV_TYPE 64

struct handler {
	ev_handler_t fn;
	void *data;
	struct handler *next;
};

static struct handler *handlers[MAX_EV_TYPE];

int register_ev_handler(unsigned int ev_type, ev_handler_t fn, void *data)
{
	if (ev_type >= MAX_EV_TYPE)
		return -1;
	struct handler *h = malloc(sizeof *h);
	if (!h)
		return -1;
	h->fn = fn;
	h->data = data;
	h->next = NULL;
	struct handler **at = &handlers[ev_type];
	while (*at)
		at = &(*at)->next;
	*at = h; /* a single store publishes it: handlers are only ever appended */
	return 0;
}

void handle_event_q(struct event_queue *ev_q)
{
	atomic_set(&ev_q->ev_alert_pending, 0);
	mb(); /* cleared before we look: an event from here on alerts again */
	if (ev_q->ev_handler) {
		ev_q->ev_handler(ev_q);
		return;
	}
	if (ev_q->ev_mbox)
		handle_mbox(ev_q->ev_mbox);
}

void handle_ev_msg(struct event_msg *msg)
{
	if (msg->ev_type == EV_EVENT && msg->ev_arg3)
		handle_event_q((struct event_queue *)msg->ev_arg3);
	if (msg->ev_type >= MAX_EV_TYPE)
		return;
	for (struct handler *h = handlers[msg->ev_type]; h; h = h->next)
		h->fn(msg, msg->ev_type, h->data);
}

int handle_mbox(struct event_mbox *mbox)
{
	struct event_msg msg;
	int handled = 0;
	while (extract_one_mbox_msg(mbox, &msg)) {
		vc_tls()->nr_events++;
		handled++;
		handle_ev_msg(&msg);
	}
	return handled;
}

int handle_events(uint32_t vcoreid)
{
	volatile struct preempt_data *vcpd = vcpd_of(vcoreid);
	int handled = 0;
	if (vcoreid == vcore_id()) {
		vcpd->notif_pending = 0;
		mb(); /* clear first: an event arriving from here on sets it again */
		handled += handle_mbox((struct event_mbox *)&vcpd->ev_mbox_private);
	}
	handled += handle_mbox((struct event_mbox *)&vcpd->ev_mbox_public);
	return handled;
}

/* --- mailboxes --------------------------------------------------------------------------- */

void event_mbox_init(struct event_mbox *mbox, int type)
{
	memset(mbox, 0, sizeof *mbox);
	switch (type) {
	case EV_MBOX_UCQ:
		ucq_init(&mbox->ucq);
		break;
	case EV_MBOX_BITMAP:
		evbitmap_init(&mbox->evbm);
		break;
	case EV_MBOX_CEQ:
		ceq_init(&mbox->ceq, CEQ_OR, 128, 128);
		break;
	default:
		parlib_panic("event_mbox_init: unknown mailbox type %d", type);
	}
	cmb();
	mbox->type = type;
}

bool extract_one_mbox_msg(struct event_mbox *mbox, struct event_msg *msg)
{
	switch (mbox->type) {
	case EV_MBOX_UCQ:
		return get_ucq_msg(&mbox->ucq, msg);
	case EV_MBOX_BITMAP:
		return get_evbitmap_msg(&mbox->evbm, msg);
	case EV_MBOX_CEQ:
		return get_ceq_msg(&mbox->ceq, msg);
	default:
		return false;
	}
}

bool mbox_is_empty(struct event_mbox *mbox)
{
	switch (mbox->type) {
	case EV_MBOX_UCQ:
		return ucq_is_empty(&mbox->ucq);
	case EV_MBOX_BITMAP:
		return evbitmap_is_empty(&mbox->evbm);
	case EV_MBOX_CEQ:
		return ceq_is_empty(&mbox->ceq);
	default:
		return true;
	}
}

/* --- event queues ---------------------------------------------------------------------------- */

struct event_queue *get_eventq(int mbox_type)
{
	struct event_queue *ev_q = calloc(1, sizeof *ev_q);
	struct event_mbox *mbox = calloc(1, sizeof *mbox);
	if (!ev_q || !mbox)
		parlib_panic("out of memory for an event queue");
	event_mbox_init(mbox, mbox_type);
	ev_q->ev_mbox = mbox;
	return ev_q;
}

struct event_queue *get_eventq_vcpd(uint32_t vcoreid, int ev_flags)
{
	struct event_queue *ev_q = calloc(1, sizeof *ev_q);
	if (!ev_q)
		parlib_panic("out of memory for an event queue");
	ev_q->ev_flags = ev_flags;
	ev_q->ev_vcore = vcoreid;
	return ev_q;
}

void put_eventq(struct event_queue *ev_q)
{
	free(ev_q->ev_mbox);
	free(ev_q);
}

void register_kevent_q(struct event_queue *ev_q, unsigned int ev_type)
{
	if (ev_type < MAX_NR_EVENT)
		atomic_set(&procdata()->kernel_evts[ev_type], ev_q);
}

struct event_queue *clear_kevent_q(unsigned int ev_type)
{
	if (ev_type >= MAX_NR_EVENT)
		return NULL;
	return atomic_swap(&procdata()->kernel_evts[ev_type], NULL);
}

struct event_queue *enable_kevent(unsigned int ev_type, uint32_t vcoreid, int ev_flags)
{
	struct event_queue *ev_q = get_eventq_vcpd(vcoreid, ev_flags);
	register_kevent_q(ev_q, ev_type);
	return ev_q;
}
