/* Uthreads: creation, the yield path into vcore context, running saved contexts, join/exit. */
#include "tls.h"
#include "uthread.h"

#define PAGE 4096

struct schedule_ops *sched_ops;
static struct uthread thread0;
static volatile uint32_t next_id = 1;
static volatile uint32_t nr_live = 1; /* thread 0 included: the process ends with the last one */

void __uthread_switch_to_vcore(struct sw_context *save, void (*fn)(void *), void *arg,
                               uint64_t vcore_stack_top);
__attribute__((noreturn)) void __pop_sw_ctx(struct sw_context *ctx, int enable_notifs);
__attribute__((noreturn)) void __pop_hw_ctx(struct user_context *ctx);
extern const char __pop_sw_ctx_end[], __pop_hw_ctx_end[];

volatile uint64_t parlib_preempt_events, parlib_uthreads_stolen, parlib_uthreads_paused;

static void handle_vc_preempt(struct event_msg *msg, unsigned int type, void *data);
static void handle_check_msgs(struct event_msg *msg, unsigned int type, void *data);

/* The FPU/SSE state a new uthread starts with: as after FNINIT and a reset MXCSR (every
 * exception masked, round to nearest). */
static void init_fp_state(struct ancillary_state *as)
{
	memset(as, 0, sizeof *as);
	*(uint16_t *)&as->fxsave[FP_FCW_OFFSET] = 0x37f;
	*(uint32_t *)&as->fxsave[FP_MXCSR_OFFSET] = 0x1f80;
}

static inline void save_fp_state(struct ancillary_state *as)
{
	__asm__ volatile("fxsave64 %0" : "=m"(*as));
}

static inline void restore_fp_state(struct ancillary_state *as)
{
	__asm__ volatile("fxrstor64 %0" : : "m"(*as));
}

/* Take the context the kernel saved in vcpd (registers and FPU state) into uth. */
static void take_saved_context(volatile struct preempt_data *vcpd, struct uthread *uth)
{
	const volatile uint64_t *from = (const volatile uint64_t *)&vcpd->uthread_ctx;
	uint64_t *to = (uint64_t *)&uth->hw_ctx;
	for (size_t i = 0; i < sizeof(struct user_context) / 8; i++)
		to[i] = from[i];
	from = (const volatile uint64_t *)&vcpd->preempt_anc;
	to = (uint64_t *)&uth->fp_state;
	for (size_t i = 0; i < sizeof(struct ancillary_state) / 8; i++)
		to[i] = from[i];
	uth->ctx_type = UTH_CTX_HW;
}

/* Run on uth's own TCB from here (vcore context, or thread 0 becoming a uthread): its first
 * fields name the vcore, as vcore_id() and the pop code expect. */
static void enter_uthread_tls(struct uthread *uth, struct vcore_tls *vc)
{
	struct vcore_tls *t = uth->tls;
	if (!t)
		return; /* fs stays on the vcore's block */
	t->vc = vc;
	t->current_uthread = uth;
	t->vcpd = vc->vcpd;
	t->stack_top = vc->stack_top;
	t->vcoreid = vc->vcoreid;
	t->in_vcore_ctx = 0;
	write_fsbase((uint64_t)t);
}

/* Entering vcore context from a uthread: back onto the vcore's own TCB and TLS. */
static struct vcore_tls *enter_vcore_tls(void)
{
	struct vcore_tls *vc = vc_tls();
	write_fsbase((uint64_t)vc);
	return vc;
}

void uthread_lib_init(struct schedule_ops *ops)
{
	if (sched_ops)
		return;
	vcore_lib_init();
	thread0.flags = UTHREAD_IS_THREAD0;
	thread0.state = UT_RUNNING;
	thread0.id = 0;
	init_fp_state(&thread0.fp_state);
	struct vcore_tls *tls = vc_tls();
	tls->current_uthread = &thread0;
	tls->in_vcore_ctx = 0;
	if (tls_present()) {
		/* thread 0 keeps the values its __thread variables have so far */
		if (!(thread0.tls = tls_block_new(false)))
			parlib_panic("out of memory for thread 0's TLS");
		tls_block_copy(thread0.tls, tls);
		enter_uthread_tls(&thread0, tls);
	}
	sched_ops = ops ? ops : &fifo_sched_ops;
	sysc_lib_init();
	/* Preemptions go to a running vcore, which recovers the preempted one's work. */
	register_ev_handler(EV_VCORE_PREEMPT, handle_vc_preempt, NULL);
	register_ev_handler(EV_CHECK_MSGS, handle_check_msgs, NULL);
	enable_kevent(EV_VCORE_PREEMPT, 0, EVENT_IPI | EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN);
	enable_kevent(EV_CHECK_MSGS, 0, EVENT_IPI | EVENT_SPAM_PUBLIC | EVENT_VCORE_MUST_RUN);
}

int uthread_mcp_init(struct schedule_ops *ops)
{
	uthread_lib_init(ops);
	if (parlib_is_mcp)
		return 0;
	parlib_is_mcp = true;
	/* The kernel saves this context (rax = 0) in vcore 0's uthread_ctx; vcore 0 then starts
	 * at vcore_entry, which sees current_uthread == thread0 and resumes it: we return 0 here
	 * as a uthread of the MCP. */
	long r = sys_change_to_m();
	if (r < 0)
		parlib_is_mcp = false;
	return (int)r;
}

static void uthread_trampoline(void)
{
	struct uthread *uth = current_uthread();
	uthread_exit(uth->func(uth->arg));
}

/* Stacks (with their guard page) of freed uthreads, kept for the next ones: a server making a
 * uthread per connection would otherwise pay an mmap, an mprotect and a munmap for each, and
 * fault the fresh stack's pages in again. */
#define STACKS_KEPT 32
static spinlock_t stacks_lock = SPINLOCK_INITIALIZER;
static struct {
	char *base;
	size_t size;
} stacks_kept[STACKS_KEPT];
static unsigned int nr_stacks_kept;
volatile uint64_t parlib_stacks_reused;

/* A kept stack of exactly `size` bytes (the guard page included), or NULL. */
static char *reuse_stack(size_t size)
{
	char *base = NULL;
	uth_disable_notifs();
	spin_lock(&stacks_lock);
	for (unsigned int i = nr_stacks_kept; i-- > 0;) {
		if (stacks_kept[i].size == size) {
			base = stacks_kept[i].base;
			stacks_kept[i] = stacks_kept[--nr_stacks_kept];
			break;
		}
	}
	spin_unlock(&stacks_lock);
	uth_enable_notifs();
	if (base)
		atomic_add(&parlib_stacks_reused, 1);
	return base;
}

/* Keep a freed stack for reuse; false when STACKS_KEPT are kept already (unmap it then). */
static bool keep_stack(char *base, size_t size)
{
	bool kept = false;
	uth_disable_notifs();
	spin_lock(&stacks_lock);
	if (nr_stacks_kept < STACKS_KEPT) {
		stacks_kept[nr_stacks_kept].base = base;
		stacks_kept[nr_stacks_kept].size = size;
		nr_stacks_kept++;
		kept = true;
	}
	spin_unlock(&stacks_lock);
	uth_enable_notifs();
	return kept;
}

struct uthread *uthread_create(void *(*func)(void *), void *arg)
{
	return uthread_create_stack(func, arg, UTHREAD_STACK_SIZE);
}

struct uthread *uthread_create_stack(void *(*func)(void *), void *arg, size_t stack_size)
{
	if (!sched_ops)
		uthread_lib_init(NULL);
	struct uthread *uth = calloc(1, sizeof *uth);
	if (!uth)
		return NULL;
	if (tls_present() && !(uth->tls = tls_block_new(false))) {
		free(uth);
		return NULL;
	}
	size_t size = (stack_size + PAGE - 1) & ~(size_t)(PAGE - 1);
	char *base = reuse_stack(size + PAGE);
	if (!base) {
		base = sys_mmap(NULL, size + PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if ((long)base < 0 && (long)base > -4096) {
			tls_block_free(uth->tls);
			free(uth);
			return NULL;
		}
		sys_mprotect(base, PAGE, PROT_NONE); /* guard page: an overflow faults */
	}
	uth->stack = base;
	uth->stack_size = size + PAGE;
	uth->func = func;
	uth->arg = arg;
	uth->id = atomic_add(&next_id, 1) - 1;
	uth->state = UT_NOT_RUNNING;
	/* Start as if uthread_trampoline had been called: rsp+8 is 16-byte aligned at entry. */
	uth->sw_ctx.rsp = (uint64_t)(base + PAGE + size) - 8;
	uth->sw_ctx.rip = (uint64_t)uthread_trampoline;
	uth->ctx_type = UTH_CTX_SW;
	init_fp_state(&uth->fp_state);
	atomic_add(&nr_live, 1);
	uthread_runnable(uth);
	return uth;
}

static void free_uthread(struct uthread *uth)
{
	if (uth->flags & UTHREAD_IS_THREAD0)
		return;
	if (uth->stack && !keep_stack(uth->stack, uth->stack_size))
		sys_munmap(uth->stack, uth->stack_size);
	tls_block_free(uth->tls);
	free(uth);
}

/* In vcore context, after the switch: hand the uthread to yield_func, then schedule. */
static void __uthread_yield_vc(void *arg)
{
	struct uthread *uth = arg;
	struct vcore_tls *tls = enter_vcore_tls();
	tls->in_vcore_ctx = 1;
	tls->current_uthread = NULL;
	uth->state = UT_NOT_RUNNING;
	uth->flags &= ~UTHREAD_DONT_MIGRATE;
	uth->yield_func(uth, uth->yield_arg); /* uth may be running elsewhere from here on */
	uthread_vcore_entry();
}

void uthread_yield(bool save_state, void (*yield_func)(struct uthread *, void *), void *arg)
{
	struct uthread *uth = current_uthread();
	if (in_vcore_context() || !uth)
		parlib_panic("uthread_yield outside a uthread");
	/* No notifications until the 2LS runs this uthread again: vcore context owns the vcore
	 * stack from here.  The uthread cannot migrate before notif_disabled is set, since an
	 * interrupted uthread is resumed where it was (DONT_MIGRATE says so to any 2LS). */
	uth->flags |= UTHREAD_DONT_MIGRATE;
	cmb();
	struct vcore_tls *tls = vc_tls();
	tls->vcpd->notif_disabled = 1;
	cmb();
	if (uth->notif_depth)
		parlib_panic("uthread %u yields with notifications disabled (a spinlock held?)", uth->id);
	uth->yield_func = yield_func;
	uth->yield_arg = arg;
	uth->ctx_type = save_state ? UTH_CTX_SW : UTH_CTX_NONE;
	if (save_state)
		save_fp_state(&uth->fp_state);
	__uthread_switch_to_vcore(&uth->sw_ctx, __uthread_yield_vc, uth, tls->stack_top);
	/* Running again, maybe on another vcore, notifications on (in an MCP). */
}

void uthread_runnable(struct uthread *uth)
{
	sched_ops->thread_runnable(uth);
}

void uthread_stay_current(struct uthread *uth, void *arg)
{
	(void)arg;
	vc_tls()->current_uthread = uth;
	uth->state = UT_RUNNING;
}

/* The pop code found a notification pending after turning notifications on, and saved the
 * uthread's registers in its hw_ctx (uthread_asm.S): handle it like a notification. */
__attribute__((noreturn, used)) void __uthread_notified_in_pop(void)
{
	struct vcore_tls *tls = enter_vcore_tls();
	tls->current_uthread->ctx_type = UTH_CTX_HW;
	tls->in_vcore_ctx = 1;
	tls->nr_pending_in_pop++;
	uthread_vcore_entry();
}

static void paused(struct uthread *uth, void *arg)
{
	(void)arg;
	sched_ops->thread_paused(uth);
}

void uthread_sched_yield(void)
{
	uthread_yield(true, paused, NULL);
}

/* Is rip inside the code that restores a uthread's registers? */
static bool in_pop_code(uint64_t rip)
{
	return (rip >= (uint64_t)__pop_sw_ctx && rip < (uint64_t)__pop_sw_ctx_end) ||
	       (rip >= (uint64_t)__pop_hw_ctx && rip < (uint64_t)__pop_hw_ctx_end);
}

/* Vcore context: the common path of every vcore entry. */
void uthread_vcore_entry(void)
{
	struct vcore_tls *tls = vc_tls();
	volatile struct preempt_data *vcpd = tls->vcpd;
	while (atomic_read(&vcpd->flags) & VC_UTHREAD_STEALING)
		cpu_relax(); /* another vcore is taking our uthread over: let it finish */
	if (vcpd->flags & VC_UTHREAD_SAVED) {
		struct uthread *uth = tls->current_uthread;
		if (!uth)
			parlib_panic("vcore %u: the kernel saved a context, but no uthread was running",
			             tls->vcoreid);
		take_saved_context(vcpd, uth);
		atomic_and(&vcpd->flags, ~(uint64_t)VC_UTHREAD_SAVED);
		tls->nr_notified++;
		if (in_pop_code(uth->hw_ctx.rip))
			tls->nr_notified_in_pop++;
	}
	handle_events(tls->vcoreid);
	sched_ops->sched_entry();
	parlib_panic("sched_entry returned");
}

void run_uthread(struct uthread *uth)
{
	struct vcore_tls *tls = vc_tls();
	if (!tls->in_vcore_ctx)
		parlib_panic("run_uthread outside vcore context");
	tls->current_uthread = uth;
	uth->state = UT_RUNNING;
	uth->last_vcoreid = tls->vcoreid;
	int enable = parlib_is_mcp;
	/* from here on vcore context touches no FPU/SSE register (parlib is integer-only) */
	restore_fp_state(&uth->fp_state);
	switch (uth->ctx_type) {
	case UTH_CTX_SW:
		tls->in_vcore_ctx = 0;
		enter_uthread_tls(uth, tls);
		__pop_sw_ctx(&uth->sw_ctx, enable);
		break;
	case UTH_CTX_HW: {
		struct user_context *ctx = &uth->hw_ctx;
		uint64_t *slots = (uint64_t *)ctx->rsp;
		slots[-1] = ctx->rip;
		slots[-2] = ctx->rflags;
		slots[-3] = ctx->rdi;
		slots[-4] = enable;
		tls->in_vcore_ctx = 0;
		enter_uthread_tls(uth, tls);
		__pop_hw_ctx(ctx);
		break;
	}
	default:
		break;
	}
	parlib_panic("uthread %u has no context to run", uth->id);
}

bool uthread_can_redirect(struct uthread *uth)
{
	if ((uth->flags & UTHREAD_DONT_MIGRATE) || uth->notif_depth)
		return false;
	if (uth->ctx_type == UTH_CTX_SW)
		return true;
	if (uth->ctx_type != UTH_CTX_HW)
		return false;
	return !in_pop_code(uth->hw_ctx.rip);
}

bool uthread_pause_current(void)
{
	struct vcore_tls *tls = vc_tls();
	struct uthread *uth = tls->current_uthread;
	/* stopped by a notification (a hardware context), or by one taken when it turned its own
	 * back on (uthread_stay_current: a whole yield), outside parlib's windows */
	if (!uth || !tls->in_vcore_ctx || !uthread_can_redirect(uth))
		return false;
	tls->current_uthread = NULL;
	uth->state = UT_NOT_RUNNING;
	atomic_add(&parlib_uthreads_paused, 1);
	sched_ops->thread_paused(uth);
	return true;
}

void run_current_uthread(void)
{
	struct uthread *uth = current_uthread();
	if (!uth)
		parlib_panic("run_current_uthread with no current uthread");
	run_uthread(uth);
}

static void join_block(struct uthread *me, void *arg)
{
	struct uthread *target = arg;
	spin_lock(&target->join_lock);
	if (target->exited) {
		spin_unlock(&target->join_lock);
		uthread_runnable(me);
		return;
	}
	target->joiner = me;
	sched_ops->thread_has_blocked(me, UTH_BLK_JOIN);
	spin_unlock(&target->join_lock);
}

void uthread_join(struct uthread *uth, void **retval)
{
	if (uth == current_uthread())
		parlib_panic("uthread %u joins itself", uth->id);
	if (!atomic_read(&uth->exited))
		uthread_yield(true, join_block, uth);
	/* the exiting thread's vcore may still hold join_lock for an instant */
	uth_disable_notifs();
	spin_lock(&uth->join_lock);
	spin_unlock(&uth->join_lock);
	uth_enable_notifs();
	if (retval)
		*retval = uth->retval;
	free_uthread(uth);
}

void uthread_detach(struct uthread *uth)
{
	uth_disable_notifs();
	spin_lock(&uth->join_lock);
	bool exited = uth->exited;
	uth->detached = true;
	spin_unlock(&uth->join_lock);
	uth_enable_notifs();
	if (exited)
		free_uthread(uth);
}

static void exit_vc(struct uthread *uth, void *arg)
{
	(void)arg;
	if (atomic_add(&nr_live, -1) == 0)
		exit(0); /* thread 0 left with uthread_exit and this was the last uthread */
	sched_ops->thread_exited(uth);
	spin_lock(&uth->join_lock);
	struct uthread *joiner = uth->joiner;
	bool detached = uth->detached;
	uth->exited = true;
	spin_unlock(&uth->join_lock);
	/* from here a joiner on another vcore may free uth */
	if (detached)
		free_uthread(uth);
	if (joiner)
		uthread_runnable(joiner);
}

void uthread_exit(void *retval)
{
	current_uthread()->retval = retval;
	uthread_yield(false, exit_vc, NULL);
	parlib_panic("an exited uthread ran again");
}

/* --- preemption recovery ------------------------------------------------------------------- */

/* Take the uthread a preempted vcore was running (its context is in the vcore's uthread_ctx).
 * Returns the uthread, or NULL when there is none to take (someone else took it, the vcore is
 * back, or it must not migrate: *stuck is then set). */
static struct uthread *steal_uthread(uint32_t rem, bool *stuck)
{
	volatile struct preempt_data *vcpd = vcpd_of(rem);
	for (;;) {
		uint64_t old = atomic_read(&vcpd->flags);
		if ((old & VC_UTHREAD_STEALING) || !(old & VC_UTHREAD_SAVED))
			return NULL;
		if (atomic_cas(&vcpd->flags, old, old | VC_UTHREAD_STEALING))
			break;
	}
	struct uthread *uth = NULL;
	struct vcore_tls *tls = vcore_tls_of(rem);
	/* the kernel clears VC_PREEMPTED before the vcore runs again, which then waits for us */
	if (vcore_is_preempted(rem) && tls && tls->current_uthread &&
	    (atomic_read(&vcpd->flags) & VC_UTHREAD_SAVED)) {
		uth = tls->current_uthread;
		if (uth->flags & UTHREAD_DONT_MIGRATE) {
			*stuck = true;
			uth = NULL;
		} else {
			take_saved_context(vcpd, uth);
			uth->state = UT_NOT_RUNNING;
			tls->current_uthread = NULL;
			atomic_and(&vcpd->flags, ~(uint64_t)VC_UTHREAD_SAVED);
		}
	}
	atomic_and(&vcpd->flags, ~(uint64_t)VC_UTHREAD_STEALING);
	return uth;
}

void recover_vcore(uint32_t rem)
{
	if (rem == vcore_id() || rem >= max_vcores() || !parlib_is_mcp)
		return;
	handle_events(rem); /* its public mailbox: nobody else drains it while it is down */
	if (!vcore_is_preempted(rem))
		return;
	if (vcpd_of(rem)->notif_disabled) { /* vcore context, maybe holding a lock: let it finish */
		change_to_vcore(rem);
		return;
	}
	bool stuck = false;
	struct uthread *uth = steal_uthread(rem, &stuck);
	if (uth) {
		atomic_add(&parlib_uthreads_stolen, 1);
		sched_ops->thread_paused(uth);
	} else if (stuck) {
		change_to_vcore(rem);
	}
}

static void handle_vc_preempt(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	(void)data;
	atomic_add(&parlib_preempt_events, 1);
	if (sched_ops && sched_ops->vcore_preempted)
		sched_ops->vcore_preempted(msg->ev_arg2);
	recover_vcore(msg->ev_arg2);
}

/* EV_CHECK_MSGS: a vcore gave its core away (change_to_vcore) with messages maybe left in its
 * mailbox: take them. */
static void handle_check_msgs(struct event_msg *msg, unsigned int type, void *data)
{
	(void)type;
	(void)data;
	if (msg->ev_arg2 != vcore_id() && msg->ev_arg2 < max_vcores())
		handle_events(msg->ev_arg2);
}
