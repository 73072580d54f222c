/* Events: handlers, mailboxes (UCQ, bitmap, CEQ) and event queues, as in Akaros.
 *
 * The kernel sends an event through an event queue (struct event_queue, ros_abi.h): into the
 * queue's mailbox, or, without one, into the target vcore's own mailbox (a UCQ in its preempt
 * data), then alerts whom the queue's flags say.  Handlers run in vcore context.  Every vcore
 * drains its own mailboxes on vcore entry (handle_events); an EV_EVENT message (EVENT_INDIR)
 * names a queue to look at: its ev_handler runs, or, without one, its mailbox is drained and
 * each message goes to the handlers of its type. */
#ifndef PARLIB_EVENT_H
#define PARLIB_EVENT_H

#include "parlib.h"
#include "spinlock.h"

typedef void (*ev_handler_t)(struct event_msg *msg, unsigned int ev_type, void *data);
/* Call fn(msg, type, data) for every event of this type handled on any vcore (vcore context,
 * notifications disabled).  Several handlers per type run in registration order. */
int register_ev_handler(unsigned int ev_type, ev_handler_t fn, void *data);
/* Run the handlers of msg's type (what the mailbox draining below does for each message). */
void handle_ev_msg(struct event_msg *msg);

/* Drain vcore v's mailboxes (clearing notif_pending first; the private one only for our own
 * vcore) and run the handlers.  Returns the number of events handled.  Called by vcore_entry,
 * and for a preempted vcore by whoever recovers it; an SCP polls with it. */
int handle_events(uint32_t vcoreid);

/* Mailboxes.  The consumers take a PDR lock, so any vcore (or uthread) may drain any mailbox. */
void event_mbox_init(struct event_mbox *mbox, int type); /* UCQ pages come when first used;
                                                         * a CEQ gets 128 events, 128 slots */
bool extract_one_mbox_msg(struct event_mbox *mbox, struct event_msg *msg);
int handle_mbox(struct event_mbox *mbox); /* messages handled */
bool mbox_is_empty(struct event_mbox *mbox);

void ucq_init(struct ucq *ucq);
bool get_ucq_msg(struct ucq *ucq, struct event_msg *msg);
bool ucq_is_empty(struct ucq *ucq);

void evbitmap_init(struct evbitmap *evbm);
bool get_evbitmap_msg(struct evbitmap *evbm, struct event_msg *msg);
bool evbitmap_is_empty(struct evbitmap *evbm);

/* A CEQ of nr_events entries (event types 0 .. nr_events-1) and a ring of ring_sz (a power of
 * two) slots; operation CEQ_OR or CEQ_ADD says how ev_arg2 coalesces.  The arrays are malloc'd. */
void ceq_init(struct ceq *ceq, uint8_t operation, uint32_t nr_events, uint32_t ring_sz);
bool get_ceq_msg(struct ceq *ceq, struct event_msg *msg);
bool ceq_is_empty(struct ceq *ceq);
/* Events a CEQ's consumers recovered by scanning after its ring overflowed. */
extern volatile uint64_t parlib_ceq_overflow_scans;

/* Event queues.  get_eventq: a queue with a mailbox of mbox_type (EV_MBOX_UCQ, _BITMAP, _CEQ);
 * get_eventq_vcpd: a queue with no mailbox of its own (vcoreid's, private with
 * EVENT_VCORE_PRIVATE).  Set ev_flags, ev_vcore and ev_handler as needed. */
struct event_queue *get_eventq(int mbox_type);
struct event_queue *get_eventq_vcpd(uint32_t vcoreid, int ev_flags);
void put_eventq(struct event_queue *ev_q);
/* An EV_EVENT for ev_q: ev_alert_pending is cleared first, so the kernel may alert again. */
void handle_event_q(struct event_queue *ev_q);

/* Kernel events (preemption, syscall completions, signals, notify): which queue events of a
 * type go to (procdata.kernel_evts).  Without one, the kernel posts them to a running vcore's
 * public mailbox with EVENT_IPI.  enable_kevent: a vcore-mailbox queue with ev_flags for it. */
void register_kevent_q(struct event_queue *ev_q, unsigned int ev_type);
struct event_queue *clear_kevent_q(unsigned int ev_type);
struct event_queue *enable_kevent(unsigned int ev_type, uint32_t vcoreid, int ev_flags);

#endif
