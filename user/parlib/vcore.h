/* Vcores: the cores a many-core process (MCP) holds, and vcore context, the user-level
 * analogue of interrupt context.
 *
 * Every vcore has a TLS block (fs base points at it) and a stack.  Code runs in one of two
 * contexts:
 *   - vcore context: on the vcore's stack with notifications disabled, entered at vcore_entry
 *     when the kernel starts the vcore, when a notification interrupts a uthread, or when a
 *     uthread yields to the 2LS.  It must never block for long and never return.
 *   - uthread context: a user thread with notifications enabled (in an MCP).
 * fs base points at a thread control block (TCB) shaped like struct vcore_tls, with the
 * program's static TLS (__thread variables, the ELF's PT_TLS image) just below it, as the x86-64
 * TLS ABI wants.  In vcore context it is the vcore's own block; a uthread has its own TCB (tls.c)
 * whose first fields mirror those of the vcore it runs on, refreshed each time it is run, so
 * vcore_id(), in_vcore_context() and current_uthread() are each one load from %fs and always
 * name the vcore the caller runs on at that instant; vc_tls() (%fs:8) is that vcore's block. */
#ifndef PARLIB_VCORE_H
#define PARLIB_VCORE_H

#include "parlib.h"

struct uthread;

/* Offsets used by the assembly in uthread_asm.S: keep in step with struct vcore_tls. */
#define VC_TLS_SELF 0
#define VC_TLS_VC 8
#define VC_TLS_CURRENT_UTHREAD 16
#define VC_TLS_VCPD 24
#define VC_TLS_STACK_TOP 32
#define VC_TLS_VCOREID 40
#define VC_TLS_IN_VC_CTX 44
#define VCPD_NOTIF_DISABLED 336
#define VCPD_NOTIF_PENDING 337

struct vcore_tls {
	struct vcore_tls *self;           /* the thread pointer (the TLS ABI's word at %fs:0) */
	struct vcore_tls *vc;             /* the vcore's own block (in a uthread's TCB: its vcore's) */
	struct uthread *current_uthread;
	volatile struct preempt_data *vcpd;
	uint64_t stack_top;
	uint32_t vcoreid;
	uint32_t in_vcore_ctx;
	/* the fields above are mirrored in a running uthread's TCB; the rest is the vcore's only */
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
	__asm__ volatile("movq %%fs:8, %0" : "=r"(tls));
	return tls;
}

static inline uint32_t vcore_id(void)
{
	uint32_t id;
	__asm__ volatile("movl %%fs:40, %0" : "=r"(id));
	return id;
}

static inline bool in_vcore_context(void)
{
	uint32_t in;
	__asm__ volatile("movl %%fs:44, %0" : "=r"(in));
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

/* Uthread context: block notifications (nesting, counted per uthread), e.g. while holding a
 * spinlock that vcore context may also take; the uthread stays on its vcore meanwhile
 * (UTHREAD_DONT_MIGRATE).  No-ops in vcore context.  A notification that arrived meanwhile is
 * taken when the outermost uth_enable_notifs turns them back on. */
void uth_disable_notifs(void);
void uth_enable_notifs(void);

/* Events: see event.h (mailboxes, event queues, handlers). */
#include "event.h"

/* Another vcore's TLS block (NULL out of range or before vcore_lib_init). */
struct vcore_tls *vcore_tls_of(uint32_t vcoreid);

/* Preemption recovery.  vcore_is_preempted: the kernel took vcoreid's core (VC_PREEMPTED).
 * change_to_vcore: give our core to preempted vcoreid (SYS_change_vcore); we are left as if
 * preempted, and return when the kernel restarts us.  ensure_vcore_runs: change_to_vcore if
 * vcoreid is preempted (PDR locks call it for a preempted holder). */
bool vcore_is_preempted(uint32_t vcoreid);
void change_to_vcore(uint32_t vcoreid);
void ensure_vcore_runs(uint32_t vcoreid);
/* Counters: PDR waiters that handed their core to a preempted holder; successful changes. */
extern volatile uint64_t parlib_pdr_recoveries, parlib_vcore_changes;

/* Statistics summed over every vcore's TLS block (struct vcore_tls's counters). */
struct vcore_stats {
	uint64_t entries, events, notified, notified_in_pop, pending_in_pop, yields_refused;
};
void vcore_stats(struct vcore_stats *out);

/* Send an event (ev_arg3 = arg) to vcore v of this process; with EVENT_IPI it runs vcore_entry
 * there. */
long vcore_notify(uint32_t vcoreid, uint32_t ev_type, uint64_t arg, int flags);

#endif
