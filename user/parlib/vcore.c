/* Vcore management: TLS blocks and stacks, vcore_entry, requests, yield, notifications. */
#include "tls.h"
#include "uthread.h"
#include "vcore.h"


/* uthread_asm.S and vcore.h know these offsets by number */
_Static_assert(VCPD_NOTIF_DISABLED == __builtin_offsetof(struct preempt_data, notif_disabled), "vcpd");
_Static_assert(VCPD_NOTIF_PENDING == __builtin_offsetof(struct preempt_data, notif_pending), "vcpd");
_Static_assert(VC_TLS_VCPD == __builtin_offsetof(struct vcore_tls, vcpd), "tls");
_Static_assert(VC_TLS_STACK_TOP == __builtin_offsetof(struct vcore_tls, stack_top), "tls");
_Static_assert(VC_TLS_VC == __builtin_offsetof(struct vcore_tls, vc), "tls");
_Static_assert(VC_TLS_VCOREID == __builtin_offsetof(struct vcore_tls, vcoreid), "tls");
_Static_assert(VC_TLS_IN_VC_CTX == __builtin_offsetof(struct vcore_tls, in_vcore_ctx), "tls");
_Static_assert(VC_TLS_CURRENT_UTHREAD == __builtin_offsetof(struct vcore_tls, current_uthread), "tls");

#define VCORE_STACK_SIZE (64 * 1024)
#define PAGE 4096

extern struct vcore_tls *__vcore0_tls;
void __vcore_entry_asm(void);
__attribute__((noreturn)) void __vcore_reenter_on(uint64_t stack_top, void (*fn)(void));

volatile bool parlib_is_mcp;
static bool vcore_lib_ready;
static struct vcore_tls *vcore_tls_blocks[MAX_VCORES];
static volatile uint32_t vcores_asked; /* the program's last request */

/* A stack with an unmapped guard page below it; returns its top. */
static uint64_t map_stack(size_t size)
{
	char *base = sys_mmap(NULL, size + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((long)base < 0 && (long)base > -4096)
		parlib_panic("cannot map a %zu-byte stack (error %ld)", size, (long)base);
	sys_mprotect(base, PAGE, PROT_NONE);
	return (uint64_t)(base + PAGE + size);
}

void vcore_lib_init(void)
{
	if (vcore_lib_ready)
		return;
	uint32_t n = max_vcores();
	if (n == 0)
		n = 1;
	for (uint32_t v = 0; v < n; v++) {
		struct vcore_tls *tls = v == 0 ? __vcore0_tls : tls_block_new(false);
		if (!tls)
			parlib_panic("out of memory for vcore TLS");
		tls->vc = tls;
		tls->vcoreid = v;
		tls->vcpd = vcpd_of(v);
		tls->stack_top = map_stack(VCORE_STACK_SIZE);
		if (v != 0)
			tls->in_vcore_ctx = 1;
		vcore_tls_blocks[v] = tls;
		vcpd_of(v)->vcore_stack = tls->stack_top;
		vcpd_of(v)->vcore_tls_desc = (uint64_t)tls;
	}
	procdata()->vcore_entry = (uint64_t)__vcore_entry_asm;
	vcores_asked = 1;
	vcore_lib_ready = true;
}

/* The C half of vcore entry: the kernel started this vcore (fresh, or to deliver a
 * notification, or to resume the main thread after change_to_m). */
__attribute__((noreturn, used)) void __vcore_entry_c(uint32_t vcoreid)
{
	struct vcore_tls *tls = vc_tls();
	if (tls->vcoreid != vcoreid)
		parlib_panic("vcore %u started with the TLS block of vcore %u", vcoreid, tls->vcoreid);
	tls->in_vcore_ctx = 1;
	tls->nr_entries++;
	/* A vcore only gives its core back from vcore context, with no current uthread; so a
	 * current uthread here means the kernel interrupted it and must have saved its context. */
	if (tls->current_uthread && !(tls->vcpd->flags & VC_UTHREAD_SAVED))
		parlib_panic("vcore %u restarted at vcore_entry, but the kernel saved no context for "
		             "the uthread it was running", vcoreid);
	uthread_vcore_entry();
}

void vcore_reenter(void)
{
	__vcore_reenter_on(vc_tls()->stack_top, uthread_vcore_entry);
}

int vcore_pcoreid(uint32_t vcoreid)
{
	if (vcoreid >= MAX_VCORES || !__procinfo.vcoremap[vcoreid].valid)
		return -1;
	return (int)__procinfo.vcoremap[vcoreid].pcoreid;
}

uint32_t vcore_map_snapshot(int *pcores, uint32_t n)
{
	for (;;) {
		uint64_t seq = __procinfo.coremap_seqctr;
		cmb();
		if (seq & 1) {
			cpu_relax();
			continue;
		}
		uint32_t online = (uint32_t)__procinfo.num_vcores;
		for (uint32_t v = 0; v < n && v < MAX_VCORES; v++)
			pcores[v] = vcore_pcoreid(v);
		cmb();
		if (__procinfo.coremap_seqctr == seq)
			return online;
	}
}

static void set_wanted(uint32_t n)
{
	uint32_t max = max_vcores();
	if (n > max)
		n = max;
	if (n == 0)
		n = 1;
	vcores_asked = n;
	atomic_set(&procdata()->amt_wanted, n);
	sys_poke_ksched(getpid(), RES_CORES);
}

void vcore_request_total(uint32_t n)
{
	set_wanted(n);
}

void vcore_request_more(uint32_t n)
{
	set_wanted((uint32_t)atomic_read(&procdata()->amt_wanted) + n);
}

void vcore_request_back(void)
{
	/* One vcore more than the process holds, bounded by what the program asked for: one more
	 * than what is wanted would not do once idle vcores' yields lowered the request below what
	 * the process holds (a vcore halted in the kernel still counts), where the ksched grants
	 * nothing and a runnable uthread waits for ever. */
	volatile uint64_t *wanted = &procdata()->amt_wanted;
	uint64_t target = (uint64_t)num_vcores() + 1;
	if (target > vcores_asked)
		return;
	for (;;) {
		uint64_t now = atomic_read(wanted);
		if (now >= target)
			return;
		if (atomic_cas(wanted, now, target))
			break;
	}
	sys_poke_ksched(getpid(), RES_CORES);
}

uint32_t vcore_wanted(void)
{
	return vcores_asked;
}

void vcore_yield(bool preempt_pending)
{
	uint32_t v = vcore_id();
	if (!in_vcore_context())
		parlib_panic("vcore_yield outside vcore context");
	if (handle_events(v))
		return;
	if (sched_ops && sched_ops->has_runnable && sched_ops->has_runnable())
		return;
	/* One vcore less wanted, never added back (as Akaros's parlib): adding back after a
	 * refused yield raced with vcore_request_back on other vcores and ratcheted amt_wanted
	 * above what the process held, where the kernel refuses every yield, so idle vcores spun
	 * for ever.  A refused yield leaves more vcores than wanted for a while; the next yield
	 * lowers the request again. */
	volatile uint64_t *wanted = &procdata()->amt_wanted;
	if (!preempt_pending) {
		uint64_t old;
		do {
			old = atomic_read(wanted);
			if (old == 0)
				break;
		} while (!atomic_cas(wanted, old, old - 1));
	}
	/* A thread made runnable while we lowered the request would wait for a vcore nobody asks
	 * for: keep this one and ask back what was given up (bounded by what the program asked). */
	if (sched_ops && sched_ops->has_runnable && sched_ops->has_runnable()) {
		vcore_request_back();
		return;
	}
	sys_proc_yield(preempt_pending);
	vc_tls()->nr_yields_refused++; /* refused: back to the 2LS, which may try again */
}

/* The nesting is the uthread's own (it may move to another vcore between two calls: a
 * preempted vcore's uthread is taken over by another vcore), and while it is nonzero the
 * uthread is marked UTHREAD_DONT_MIGRATE: the flag is set before vcore_id() is read, so a
 * uthread stopped in between is never moved with a stale vcore in hand. */
void uth_disable_notifs(void)
{
	struct uthread *uth = current_uthread();
	if (in_vcore_context() || !uth)
		return;
	if (uth->notif_depth++ == 0) {
		uth->flags |= UTHREAD_DONT_MIGRATE;
		cmb();
		vcpd_of(vcore_id())->notif_disabled = 1;
	}
	cmb();
}

void uth_enable_notifs(void)
{
	struct uthread *uth = current_uthread();
	if (in_vcore_context() || !uth)
		return;
	cmb();
	if (uth->notif_depth == 0)
		parlib_panic("uth_enable_notifs without uth_disable_notifs");
	if (--uth->notif_depth)
		return;
	if (!parlib_is_mcp) { /* an SCP keeps them off: it polls */
		uth->flags &= ~UTHREAD_DONT_MIGRATE;
		return;
	}
	volatile struct preempt_data *vcpd = vcpd_of(vcore_id());
	vcpd->notif_disabled = 0;
	cmb();
	uth->flags &= ~UTHREAD_DONT_MIGRATE;
	mb();
	/* A notification that came while they were off is taken now, in vcore context. */
	if (vcpd->notif_pending)
		uthread_yield(true, uthread_stay_current, NULL);
}

void vcore_stats(struct vcore_stats *out)
{
	*out = (struct vcore_stats){ 0 };
	for (uint32_t v = 0; v < MAX_VCORES; v++) {
		struct vcore_tls *tls = vcore_tls_blocks[v];
		if (!tls)
			continue;
		out->entries += tls->nr_entries;
		out->events += tls->nr_events;
		out->notified += tls->nr_notified;
		out->notified_in_pop += tls->nr_notified_in_pop;
		out->pending_in_pop += tls->nr_pending_in_pop;
		out->yields_refused += tls->nr_yields_refused;
	}
}

long vcore_notify(uint32_t vcoreid, uint32_t ev_type, uint64_t arg, int flags)
{
	struct event_msg msg = { .ev_type = (uint16_t)ev_type, .ev_arg3 = arg };
	return sys_self_notify(vcoreid, ev_type, &msg, flags);
}

struct vcore_tls *vcore_tls_of(uint32_t vcoreid)
{
	return vcoreid < MAX_VCORES ? vcore_tls_blocks[vcoreid] : NULL;
}

/* --- preemption recovery ------------------------------------------------------------------ */

volatile uint64_t parlib_pdr_recoveries, parlib_vcore_changes;

bool vcore_is_preempted(uint32_t vcoreid)
{
	return vcoreid < MAX_VCORES && (atomic_read(&vcpd_of(vcoreid)->flags) & VC_PREEMPTED);
}

void change_to_vcore(uint32_t vcoreid)
{
	if (in_vcore_context()) {
		/* Our uthread, if any, goes back to the 2LS (its context is in the uthread already:
		 * vcore entry copied it), and this vcore restarts fresh when it gets a core again. */
		struct uthread *uth = current_uthread();
		if (uth) {
			vc_tls()->current_uthread = NULL;
			uth->state = UT_NOT_RUNNING;
			sched_ops->thread_paused(uth);
		}
		atomic_add(&parlib_vcore_changes, 1);
		sys_change_vcore(vcoreid, 1);
		return; /* refused: vcoreid is running again */
	}
	/* A uthread with notifications disabled (a PDR lock's waiter): it is kept as this vcore's
	 * context, resumed when the vcore restarts; the holder's vcore recovers us meanwhile. */
	if (sys_change_vcore(vcoreid, 0) == 0)
		atomic_add(&parlib_vcore_changes, 1);
}

void ensure_vcore_runs(uint32_t vcoreid)
{
	if (vcoreid == vcore_id() || !vcore_is_preempted(vcoreid))
		return;
	atomic_add(&parlib_pdr_recoveries, 1);
	change_to_vcore(vcoreid);
}
