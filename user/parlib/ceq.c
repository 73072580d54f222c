/* CEQ consumers: coalescing event queues (ros_abi.h).  The ring says which entries have news;
 * if it overflowed, the consumers scan every entry up to max_event_ever once. */
#include "event.h"

volatile uint64_t parlib_ceq_overflow_scans;

static inline struct spin_pdr_lock *ceq_lock(struct ceq *ceq)
{
	return (struct spin_pdr_lock *)ceq->u_lock;
}

void ceq_init(struct ceq *ceq, uint8_t operation, uint32_t nr_events, uint32_t ring_sz)
{
	if (!ring_sz || ring_sz & (ring_sz - 1))
		parlib_panic("ceq_init: the ring size %u is not a power of two", ring_sz);
	memset(ceq, 0, sizeof *ceq);
	ceq->events = calloc(nr_events, sizeof(struct ceq_event));
	int32_t *ring = malloc(ring_sz * sizeof(int32_t));
	if (!ceq->events || !ring)
		parlib_panic("out of memory for a CEQ of %u events", nr_events);
	for (uint32_t i = 0; i < ring_sz; i++)
		ring[i] = -1;
	ceq->ring = ring;
	ceq->nr_events = nr_events;
	ceq->ring_sz = ring_sz;
	ceq->operation = operation;
	spin_pdr_init(ceq_lock(ceq));
}

/* Take entry idx's news: clear idx_posted first, so news from here on posts it again. */
static void take_entry(struct ceq *ceq, uint32_t idx, struct event_msg *msg)
{
	struct ceq_event *ev = &ceq->events[idx];
	atomic_set(&ev->idx_posted, 0);
	mb();
	memset(msg, 0, sizeof *msg);
	msg->ev_type = (uint16_t)idx;
	msg->ev_arg2 = (uint32_t)atomic_swap(&ev->coalesce, 0);
	msg->ev_arg3 = ev->blob_data;
	msg->ev_arg4 = ev->user_data;
}

bool get_ceq_msg(struct ceq *ceq, struct event_msg *msg)
{
	bool got = false;
	spin_pdr_lock(ceq_lock(ceq));
	if (atomic_read(&ceq->ring_overflowed)) {
		/* start over: scan every entry, and the ring from where the kernel is */
		atomic_set(&ceq->ring_overflowed, 0);
		atomic_set(&ceq->overflow_recovery, 1);
		ceq->last_recovered = 0;
		for (uint32_t i = 0; i < ceq->ring_sz; i++)
			ceq->ring[i] = -1;
		uint64_t prod = atomic_read(&ceq->prod_idx);
		atomic_set(&ceq->cons_pvt_idx, prod);
		atomic_set(&ceq->cons_pub_idx, prod);
		atomic_add(&parlib_ceq_overflow_scans, 1);
	}
	while (atomic_read(&ceq->overflow_recovery) && !got) {
		uint32_t idx = ceq->last_recovered;
		if (idx > atomic_read(&ceq->max_event_ever) || idx >= ceq->nr_events) {
			atomic_set(&ceq->overflow_recovery, 0);
			break;
		}
		ceq->last_recovered = idx + 1;
		if (atomic_read(&ceq->events[idx].idx_posted)) {
			take_entry(ceq, idx, msg);
			got = true;
		}
	}
	while (!got) {
		uint64_t pvt = atomic_read(&ceq->cons_pvt_idx);
		if (pvt == atomic_read(&ceq->prod_idx))
			break;
		volatile int32_t *slot = &ceq->ring[pvt & (ceq->ring_sz - 1)];
		int32_t idx = *slot;
		*slot = -1;
		atomic_set(&ceq->cons_pvt_idx, pvt + 1);
		atomic_set(&ceq->cons_pub_idx, pvt + 1);
		if (idx < 0 || (uint32_t)idx >= ceq->nr_events)
			continue;
		take_entry(ceq, (uint32_t)idx, msg);
		got = true;
	}
	spin_pdr_unlock(ceq_lock(ceq));
	return got;
}

bool ceq_is_empty(struct ceq *ceq)
{
	return !atomic_read(&ceq->ring_overflowed) && !atomic_read(&ceq->overflow_recovery) &&
	       atomic_read(&ceq->cons_pvt_idx) == atomic_read(&ceq->prod_idx);
}
