/* Bitmap mailboxes: a bit per event type, set by the kernel; a message per set bit. */
#include "event.h"

void evbitmap_init(struct evbitmap *evbm)
{
	memset(evbm, 0, sizeof *evbm);
}

bool get_evbitmap_msg(struct evbitmap *evbm, struct event_msg *msg)
{
	if (!atomic_read(&evbm->check_bits))
		return false;
	for (;;) {
		for (unsigned i = 0; i < sizeof evbm->bitmap; i++) {
			uint8_t bits = atomic_read(&evbm->bitmap[i]);
			if (!bits)
				continue;
			int bit = __builtin_ctz(bits);
			uint8_t mask = (uint8_t)(1u << bit);
			if (!(__atomic_fetch_and(&evbm->bitmap[i], (uint8_t)~mask, __ATOMIC_SEQ_CST) & mask))
				continue; /* another consumer took it */
			memset(msg, 0, sizeof *msg);
			msg->ev_type = (uint16_t)(i * 8 + bit);
			return true;
		}
		/* nothing set: clear check_bits, then look once more for a bit set meanwhile */
		atomic_set(&evbm->check_bits, 0);
		mb();
		bool any = false;
		for (unsigned i = 0; i < sizeof evbm->bitmap; i++)
			any = any || atomic_read(&evbm->bitmap[i]);
		if (!any)
			return false;
		atomic_set(&evbm->check_bits, 1);
	}
}

bool evbitmap_is_empty(struct evbitmap *evbm)
{
	return !atomic_read(&evbm->check_bits);
}
