/* Vcores: the cores a many-core process (MCP) holds, and vcore context, the user-level
 * analogue of interrupt context.
 *
 * Every vcore has a TLS block (fs base points at it) and a stack.  Code runs in one of two
 * contexts:
 *   - vcore context: on the vcore's stack with notifications disabled, entered at vcore_entry
 *     when the kernel starts the vcore, when a notification interrupts a uthread, or when a
 *     uthread yields to the 2LS.  It must never block for long and never return.
 *   - uthread context: a user thread with notifications enabled (in an MCP).
 * Uthreads run on their vcore's TLS block (parlib has no per-thread TLS), so vcore_id() is one
 * load from %fs and always names the vcore the caller runs on at that instant. */
#ifndef PARLIB_VCORE_H
#define PARLIB_VCORE_H

#include "parlib.h"

struct uthread;

/* Offsets used by the assembly in uthread_asm.S: keep in step with struct vcore_tls. */
#define VC_TLS_SELF 0
#define VC_TLS_VCOREID 8
#define VC_TLS_IN_VC_CTX 12
#define VC_TLS_CURRENT_UTHREAD 16
#define VC_TLS_VCPD 24
#define VC_TLS_STACK_TOP 32
#define VC_TLS_NOTIF_DEPTH 40
#define VCPD_NOTIF_DISABLED 176
#define VCPD_NOTIF_PENDING 177

struct vcore_tls {
	struct vcore_tls *self;
	uint32_t vcoreid;
	uint32_t in_vcore_ctx;
	struct uthread *current_uthread;
	volatile struct preempt_data *vcpd;
	uint64_t stack_top;
	uint32_t notif_depth; /* nesting of uth_disable_notifs() in uthread context */
	uint32_t pad;
	/* statistics, for programs that want to show what happened */
	uint64_t nr_entries;  /* times vcore_entry ran on this vcore */
	uint64_t nr_events;   /* events handled */
	uint64_t nr_yields_refused;
	uint64_t nr_notified;  /* entries that found a uthread context saved by the kernel */
	uint64_t nr_notified_in_pop; /* ... saved while parlib was restoring that uthread */
	uint64_t nr_pending_in_pop;  /* restores that found a notification pending at the end */
	void *sched_data;     /* for the 2LS */
};

static inline struct vcore_tls *vc_tls(void)
{
	struct vcore_tls *tls;
	__asm__ volatile("movq %%fs:0, %0" : "=r"(tls));
	return tls;
}

static inline uint32_t vcore_id(void)
{
	uint32_t id;
	__asm__ volatile("movl %%fs:8, %0" : "=r"(id));
	return id;
}

static inline bool in_vcore_context(void)
{
	uint32_t in;
	__asm__ volatile("movl %%fs:12, %0" : "=r"(in));
	return in;
}

/* True once the process is an MCP (SYS_change_to_m succeeded). */
extern volatile bool parlib_is_mcp;

/* Set up TLS blocks and stacks for every vcore and tell the kernel where vcores start.  Done
 * once; uthread_mcp_init() calls it. */
void vcore_lib_init(void);

static inline uint32_t max_vcores(void)
{
	uint64_t n = __procinfo.max_vcores;
	return n > MAX_VCORES ? MAX_VCORES : (uint32_t)n;
}

static inline uint32_t num_vcores(void)
{
	return (uint32_t)__procinfo.num_vcores;
}

/* The pcore a vcore runs on now, or -1 when it holds none (read from procinfo's vcoremap). */
int vcore_pcoreid(uint32_t vcoreid);
/* Copy vcoremap/num_vcores consistently (retrying while the kernel updates them).  Returns the
 * number of vcores online; pcores[v] is the pcore of vcore v or -1. */
uint32_t vcore_map_snapshot(int *pcores, uint32_t n);

/* Ask for vcores: request_total sets amt_wanted to n (clamped to max_vcores) and pokes the
 * kernel scheduler; request_more raises it by n.  Either also sets the most vcores the 2LS will
 * ask back for on its own after idle vcores have yielded. */
void vcore_request_total(uint32_t n);
void vcore_request_more(uint32_t n);
/* For 2LSs with work for more vcores: if idle vcores have yielded below what the program asked
 * for, ask for one more. */
void vcore_request_back(void);
/* How many vcores the program last asked for. */
uint32_t vcore_wanted(void);

/* Give this vcore back (vcore context only).  Lowers amt_wanted by one unless preempt_pending
 * (a yield to honour a preemption, which keeps the request).  Returns when the kernel refuses
 * (events pending, a preemption in flight) or when events were waiting; on success it does not
 * return: the vcore is gone and a later start is fresh at vcore_entry. */
void vcore_yield(bool preempt_pending);

/* Re-run the vcore_entry path from vcore context, on a fresh vcore stack. */
__attribute__((noreturn)) void vcore_reenter(void);

/* Uthread context: block notifications (nesting), e.g. while holding a spinlock that vcore
 * context may also take.  No-ops in vcore context.  A notification that arrived meanwhile is
 * taken when the outermost uth_enable_notifs turns them back on. */
void uth_disable_notifs(void);
void uth_enable_notifs(void);

/* Events. */
typedef void (*ev_handler_t)(struct event_msg *msg, unsigned int ev_type, void *data);
/* Call fn(msg, type, data) for every event of this type handled on any vcore (vcore context,
 * notifications disabled).  Several handlers per type run in registration order. */
int register_ev_handler(unsigned int ev_type, ev_handler_t fn, void *data);
/* Drain vcore v's mailbox (clearing notif_pending first) and run the handlers.  Returns the
 * number of events handled.  Called by vcore_entry; an SCP can poll with it. */
int handle_events(uint32_t vcoreid);
/* Call fn() at the end of every handle_events, on any vcore (vcore context): for event queues
 * that coalesce (a bitmap queue's check_bits), so an EV_EVENT message refused by a full mailbox
 * loses nothing.  fn returns how many events it handled.  At most 4. */
int register_evq_poller(int (*fn)(void));
/* Events lost to mailbox overflow so far. */
extern volatile uint64_t parlib_events_lost;
/* EV_VCORE_PREEMPT events seen so far (a default handler counts them). */
extern volatile uint64_t parlib_preempt_events;

/* Statistics summed over every vcore's TLS block (struct vcore_tls's counters). */
struct vcore_stats {
	uint64_t entries, events, notified, notified_in_pop, pending_in_pop, yields_refused;
};
void vcore_stats(struct vcore_stats *out);

/* Send an event to vcore v of this process; with EVENT_IPI it runs vcore_entry there. */
long vcore_notify(uint32_t vcoreid, uint32_t ev_type, uint64_t arg, int flags);

#endif
