/* UCQ consumers: messages in linked pages, produced by the kernel (ros_abi.h).  Consumers
 * serialise on the UCQ's PDR lock; a page whose slots are all consumed becomes the spare page
 * the kernel takes next (or is unmapped when there is one already). */
#include "event.h"

#define SLOT_MASK ((uint64_t)PGSIZE - 1)
#define PAGE_OF(idx) ((idx) & ~SLOT_MASK)

static inline struct spin_pdr_lock *ucq_lock(struct ucq *ucq)
{
	return (struct spin_pdr_lock *)ucq->u_lock;
}

void ucq_init(struct ucq *ucq)
{
	memset(ucq, 0, sizeof *ucq);
	spin_pdr_init(ucq_lock(ucq));
	cmb();
	ucq->ucq_ready = 1; /* the kernel maps the first page when it first posts */
}

static void retire_page(struct ucq *ucq, uint64_t page)
{
	if (!atomic_cas(&ucq->spare_pg, 0, page))
		sys_munmap((void *)page, PGSIZE);
}

bool get_ucq_msg(struct ucq *ucq, struct event_msg *msg)
{
	bool got = false;
	spin_pdr_lock(ucq_lock(ucq));
	for (;;) {
		uint64_t idx = atomic_read(&ucq->cons_idx);
		uint64_t page = PAGE_OF(idx), slot = idx & SLOT_MASK;
		if (!page)
			break; /* nothing was ever sent (the kernel sets cons_idx with the first page) */
		if (slot >= UCQ_MSGS_PER_PAGE) {
			struct ucq_page_header *header = (struct ucq_page_header *)page;
			uint64_t next = atomic_read(&header->cons_next_pg);
			if (!next)
				break; /* the kernel has not moved on yet: empty */
			atomic_set(&ucq->cons_idx, next);
			retire_page(ucq, page);
			continue;
		}
		struct msg_container *c =
			(struct msg_container *)(page + sizeof(struct ucq_page_header)) + slot;
		if (!atomic_read(&c->ready))
			break;
		*msg = c->ev_msg;
		c->ready = 0;
		atomic_set(&ucq->cons_idx, idx + 1);
		got = true;
		break;
	}
	spin_pdr_unlock(ucq_lock(ucq));
	return got;
}

bool ucq_is_empty(struct ucq *ucq)
{
	uint64_t cons = atomic_read(&ucq->cons_idx), prod = atomic_read(&ucq->prod_idx);
	if (!PAGE_OF(cons))
		return !PAGE_OF(prod);
	return cons == prod;
}
