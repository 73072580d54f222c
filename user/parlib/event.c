/* Event mailboxes: each vcore has one in procdata (the kernel writes ev[head % 8] and bumps
 * ev_head; user code reads from ev_tail).  Handlers run in vcore context. */
#include "uthread.h"
#include "vcore.h"

#define MAX_EV_TYPE 64

struct handler {
	ev_handler_t fn;
	void *data;
	struct handler *next;
};

static struct handler *handlers[MAX_EV_TYPE];
#define MAX_EVQ_POLLERS 4
static int (*evq_pollers[MAX_EVQ_POLLERS])(void);
static volatile uint32_t nr_evq_pollers;
volatile uint64_t parlib_events_lost;
volatile uint64_t parlib_preempt_events;

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

int register_evq_poller(int (*fn)(void))
{
	uint32_t n = atomic_read(&nr_evq_pollers);
	if (n >= MAX_EVQ_POLLERS)
		return -1;
	evq_pollers[n] = fn;
	atomic_set(&nr_evq_pollers, n + 1); /* published after the pointer */
	return 0;
}

static void dispatch(struct event_msg *msg)
{
	if (msg->type == EV_VCORE_PREEMPT) {
		atomic_add(&parlib_preempt_events, 1);
		if (sched_ops && sched_ops->vcore_preempted)
			sched_ops->vcore_preempted((uint32_t)msg->arg);
	}
	if (msg->type >= MAX_EV_TYPE)
		return;
	for (struct handler *h = handlers[msg->type]; h; h = h->next)
		h->fn(msg, msg->type, h->data);
}

int handle_events(uint32_t vcoreid)
{
	volatile struct preempt_data *vcpd = vcpd_of(vcoreid);
	int handled = 0;
	vcpd->notif_pending = 0;
	mb(); /* clear first: an event arriving from here on sets it again */
	for (;;) {
		uint32_t tail = vcpd->ev_tail;
		uint32_t head = atomic_read(&vcpd->ev_head);
		if (head == tail)
			break;
		if (head - tail > EV_MBOX_SLOTS) {
			/* the kernel wrapped around unread slots: the oldest are gone */
			atomic_add(&parlib_events_lost, head - tail - EV_MBOX_SLOTS);
			tail = head - EV_MBOX_SLOTS;
		}
		struct event_msg msg;
		msg.type = vcpd->ev[tail % EV_MBOX_SLOTS].type;
		msg.vcoreid = vcpd->ev[tail % EV_MBOX_SLOTS].vcoreid;
		msg.arg = vcpd->ev[tail % EV_MBOX_SLOTS].arg;
		cmb();
		if (atomic_read(&vcpd->ev_head) - tail > EV_MBOX_SLOTS) {
			/* overwritten while we copied it */
			atomic_add(&parlib_events_lost, 1);
			vcpd->ev_tail = tail + 1;
			continue;
		}
		vcpd->ev_tail = tail + 1;
		vc_tls()->nr_events++;
		handled++;
		dispatch(&msg);
	}
	/* Queues whose messages may have been refused by a full mailbox: look at them too. */
	for (uint32_t i = 0; i < atomic_read(&nr_evq_pollers); i++)
		handled += evq_pollers[i]();
	return handled;
}
