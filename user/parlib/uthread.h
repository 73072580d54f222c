/* User-level threads and the second-level scheduler (2LS) interface.
 *
 * A uthread is a context the 2LS runs on some vcore.  Switching between uthreads never enters
 * the kernel: uthread_yield saves the callee-saved registers, moves to the vcore's stack (vcore
 * context) and lets the 2LS pick what runs next; running a uthread restores its registers and
 * re-enables notifications on the way out.  A uthread the kernel interrupted (notification, or
 * SYS_change_to_m for the main thread) carries a full register context instead; parlib restores
 * that in user space too. */
#ifndef PARLIB_UTHREAD_H
#define PARLIB_UTHREAD_H

#include "parlib.h"
#include "spinlock.h"
#include "vcore.h"

struct uth_wait;

/* Callee-saved state of a uthread that yielded (uthread_asm.S knows this layout). */
struct sw_context {
	uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
};

enum uthread_ctx_type { UTH_CTX_NONE, UTH_CTX_SW, UTH_CTX_HW };

#define UTHREAD_DONT_MIGRATE 0x1 /* resume on the vcore it was interrupted on */
#define UTHREAD_IS_THREAD0 0x2   /* the process's main thread */

enum uthread_state { UT_RUNNING = 1, UT_NOT_RUNNING };

/* Why a uthread blocked (thread_has_blocked's flags). */
#define UTH_BLK_MUTEX 1
#define UTH_BLK_CONDVAR 2
#define UTH_BLK_JOIN 3
#define UTH_BLK_MISC 4

struct uthread {
	struct user_context hw_ctx; /* UTH_CTX_HW: saved by the kernel */
	struct sw_context sw_ctx;   /* UTH_CTX_SW: saved by uthread_yield */
	int ctx_type;
	int flags;
	int state;
	uint32_t id;
	struct uthread *next;       /* link for the 2LS's queue or a sync object's wait list */
	void *(*func)(void *);
	void *arg;
	void *retval;
	void *stack;                /* mmap'd stack (with a guard page), NULL for thread 0 */
	size_t stack_size;
	void (*yield_func)(struct uthread *, void *);
	void *yield_arg;
	spinlock_t join_lock;
	bool exited, detached;
	struct uthread *joiner;
	uint32_t last_vcoreid;      /* the vcore that last ran it */
	uint32_t notif_depth;       /* nesting of uth_disable_notifs */
	void *tcb;                  /* the 2LS's own per-thread block (a pthread), or NULL */
	struct vcore_tls *tls;      /* its TCB and __thread variables (tls.c); NULL when the
	                             * program has none: it runs on its vcore's block */
	/* Interrupting a wait (uth_wait_interrupt): who may, and the wait in progress. */
	spinlock_t wait_lock;
	struct uth_wait *waiting;
	volatile bool interrupted;
	volatile bool poked;                     /* uthread_poke: once, the waiter clears it */
	struct syscall *volatile abortable_sysc; /* an interruptible call it waits in */
	/* Its FPU/SSE registers while it is not running (saved on yield, or copied from the
	 * kernel's preempt_anc when a notification or preemption stopped it). */
	struct ancillary_state fp_state;
};

/* The 2LS operations.  All are called in vcore context (notifications off) unless noted. */
struct schedule_ops {
	/* Pick something to run on this vcore and run it (run_uthread / run_current_uthread);
	 * never returns.  current_uthread() is non-NULL when a notification interrupted it. */
	void (*sched_entry)(void);
	/* A uthread may run: queue it.  Any context. */
	void (*thread_runnable)(struct uthread *);
	/* The running uthread stopped but wants to run again (uthread_sched_yield). */
	void (*thread_paused)(struct uthread *);
	/* The uthread submitted sysc (a struct syscall) and the kernel has not finished it: keep
	 * the uthread until then.  register_evq(sysc, sysc_event_queue()) asks the kernel for an
	 * EV_SYSCALL event when it finishes (parlib's handler then calls thread_runnable); when it
	 * returns false the call finished already and the uthread may run at once. */
	void (*thread_blockon_sysc)(struct uthread *, void *sysc);
	/* The uthread blocked on a mutex, condvar or join (UTH_BLK_*); it will come back through
	 * thread_runnable. */
	void (*thread_has_blocked)(struct uthread *, int flags);
	/* The uthread finished; the 2LS must not run it again (the joiner frees it). */
	void (*thread_exited)(struct uthread *);
	/* Optional: is anything runnable?  vcore_yield asks before giving a core back. */
	bool (*has_runnable)(void);
	/* Optional: an EV_VCORE_PREEMPT event named this vcore (the kernel took its core).  parlib
	 * recovers it afterwards (recover_vcore). */
	void (*vcore_preempted)(uint32_t vcoreid);
};

/* Preemption recovery, done for every EV_VCORE_PREEMPT: take the preempted vcore's messages,
 * then its uthread (the 2LS gets it through thread_paused and may run it anywhere) or, when it
 * was in vcore context or its uthread must not migrate, the vcore itself: we hand it our core
 * (change_to_vcore) so it can finish what it was doing (say, release a lock). */
void recover_vcore(uint32_t vcoreid);
/* Counters: EV_VCORE_PREEMPT events seen, uthreads taken over from preempted vcores. */
extern volatile uint64_t parlib_preempt_events, parlib_uthreads_stolen;
/* uthread_pause_current's count (time slices taken). */
extern volatile uint64_t parlib_uthreads_paused;
/* Uthreads that started on a stack kept from a freed one (no mmap for them). */
extern volatile uint64_t parlib_stacks_reused;

/* Asynchronous system calls (sysc.c): where EV_SYSCALL events go, and registering a struct
 * syscall for one (false: it is done already). */
struct event_queue *sysc_event_queue(void);
bool register_evq(struct syscall *sysc, struct event_queue *ev_q);
void sysc_lib_init(void);

extern struct schedule_ops *sched_ops;
/* The FIFO 2LS (fifo_sched.c), the default. */
extern struct schedule_ops fifo_sched_ops;

/* What an idle vcore of the FIFO 2LS does after spinning a while: give the core back (the
 * default) or keep it, spinning, so the process holds its cores (benchmarks, demos). */
enum fifo_idle { FIFO_IDLE_YIELD, FIFO_IDLE_SPIN };
void fifo_set_idle(enum fifo_idle policy);
/* Uthreads waiting in the FIFO 2LS's run queue. */
uint32_t fifo_nr_queued(void);
/* The FIFO 2LS's choice for this vcore (vcore context): the uthread a notification interrupted
 * here, else the next queued one, idling (and maybe yielding the core) until there is one.  A 2LS
 * built on the FIFO one (the pthreads 2LS) runs what it returns. */
struct uthread *fifo_next_uthread(void);

/* Make the calling code thread 0 and install ops (NULL: FIFO).  The process stays an SCP:
 * uthreads take turns on vcore 0 when they yield or block. */
void uthread_lib_init(struct schedule_ops *ops);
/* uthread_lib_init, then SYS_change_to_m: returns 0 in thread 0 running as a uthread of an
 * MCP on vcore 0, or -errno if the kernel refused (the process is still an SCP). */
int uthread_mcp_init(struct schedule_ops *ops);

static inline struct uthread *current_uthread(void)
{
	struct uthread *uth;
	__asm__ volatile("movq %%fs:16, %0" : "=r"(uth));
	return uth;
}

#define UTHREAD_STACK_SIZE (64 * 1024)

/* A joinable uthread running func(arg), handed to the 2LS as runnable.  NULL when out of
 * memory. */
struct uthread *uthread_create(void *(*func)(void *), void *arg);
/* The same with a stack of stack_size bytes (plus a guard page). */
struct uthread *uthread_create_stack(void *(*func)(void *), void *arg, size_t stack_size);
/* Wait for uth to finish, store what it returned, and free it. */
void uthread_join(struct uthread *uth, void **retval);
/* Nobody will join uth: free it when it exits. */
void uthread_detach(struct uthread *uth);
/* End the calling uthread.  Thread 0 may leave this way too: the process then exits (status 0)
 * when the last uthread does; returning from main exits at once. */
__attribute__((noreturn)) void uthread_exit(void *retval);
/* Let other uthreads run (the 2LS sees thread_paused). */
void uthread_sched_yield(void);
/* The core primitive: stop the current uthread (saving its registers if save_state), move to
 * vcore context, call yield_func(uth, arg) there, then run the 2LS.  yield_func decides the
 * uthread's fate (queue it, park it on a wait list, ...); the uthread may run on another vcore
 * before yield_func even returns, so yield_func must not touch it after handing it over. */
void uthread_yield(bool save_state, void (*yield_func)(struct uthread *, void *), void *arg);
/* A yield_func that keeps the uthread as this vcore's current one: vcore context handles its
 * events and the 2LS resumes it (uth_enable_notifs uses it to take a pending notification). */
void uthread_stay_current(struct uthread *uth, void *arg);
/* Hand a stopped uthread to the 2LS (any context). */
void uthread_runnable(struct uthread *uth);

/* For 2LSs (vcore context): may uth's saved context be set aside while it runs something else
 * first (a signal handler)?  Not while it is inside parlib's own windows: notifications off,
 * pinned to its vcore, or halfway through the restore of its registers. */
bool uthread_can_redirect(struct uthread *uth);
/* For 2LSs (vcore context, at sched_entry): give the uthread a notification stopped on this
 * vcore to thread_paused, as if it had yielded (time slicing).  False, and it stays current,
 * when it must resume here (inside parlib's windows: uthread_can_redirect). */
bool uthread_pause_current(void);
/* For 2LSs: run a uthread on this vcore (vcore context, never returns). */
__attribute__((noreturn)) void run_uthread(struct uthread *uth);
__attribute__((noreturn)) void run_current_uthread(void);

/* Called by vcore_entry (vcore.c). */
__attribute__((noreturn)) void uthread_vcore_entry(void);

/* Mutexes and condition variables for uthreads (mutex.c).  A mutex spins a little, then
 * blocks the uthread (no kernel entry either way); unlock hands the mutex to the first
 * waiter. */
typedef struct uth_mutex {
	volatile uint32_t locked;
	struct spin_pdr_lock lock; /* protects waiters */
	struct uthread *waiters, *waiters_tail;
} uth_mutex_t;

typedef struct uth_cond_var {
	struct spin_pdr_lock lock;
	struct uthread *waiters, *waiters_tail;
} uth_cond_var_t;

#define UTH_MUTEX_INIT { 0, SPIN_PDR_INITIALIZER, NULL, NULL }
#define UTH_COND_VAR_INIT { SPIN_PDR_INITIALIZER, NULL, NULL }

void uth_mutex_init(uth_mutex_t *m);
void uth_mutex_lock(uth_mutex_t *m);
bool uth_mutex_trylock(uth_mutex_t *m);
void uth_mutex_unlock(uth_mutex_t *m);
void uth_cond_var_init(uth_cond_var_t *cv);
/* Atomically release m and wait; m is held again on return. */
void uth_cond_var_wait(uth_cond_var_t *cv, uth_mutex_t *m);
void uth_cond_var_signal(uth_cond_var_t *cv);
void uth_cond_var_broadcast(uth_cond_var_t *cv);

/* Counting semaphores.  uth_semaphore_up may also be called in vcore context -- from an event
 * handler, say -- which makes them the way for a uthread to sleep until an event arrives. */
typedef struct uth_semaphore {
	struct spin_pdr_lock lock;
	uint64_t count;
	struct uthread *waiters, *waiters_tail;
} uth_semaphore_t;

#define UTH_SEMAPHORE_INIT(n) { SPIN_PDR_INITIALIZER, (n), NULL, NULL }

void uth_semaphore_init(uth_semaphore_t *sem, uint64_t count);
void uth_semaphore_down(uth_semaphore_t *sem);
bool uth_semaphore_trydown(uth_semaphore_t *sem);
void uth_semaphore_up(uth_semaphore_t *sem);

/* Timed and interruptible waits.  deadline is a read_tsc() value (alarm_deadline_in), 0 for
 * none.  They return 0 when the wait ended normally (the mutex or the count is ours, the
 * condition variable was signalled, the sleep ran its course), else why it ended early: the
 * deadline passed, or an interruptible wait was interrupted.  The condition variable's mutex
 * is held again whatever the result. */
#define UTH_WAIT_TIMEOUT 1
#define UTH_WAIT_INTERRUPTED 2
int uth_mutex_timed_lock(uth_mutex_t *m, uint64_t deadline);
int uth_cond_var_timed_wait(uth_cond_var_t *cv, uth_mutex_t *m, uint64_t deadline, bool interruptible);
int uth_semaphore_timed_down(uth_semaphore_t *sem, uint64_t deadline, bool interruptible);
/* Block the calling uthread (not its vcore) until deadline: 0, or UTH_WAIT_INTERRUPTED. */
int uth_sleep_until(uint64_t deadline, bool interruptible);
/* Mark uth interrupted and end the interruptible wait it is in, if any; its later
 * interruptible waits end at once (the mark stays: a thread being cancelled never waits again). */
void uthread_interrupt(struct uthread *uth);
/* End the interruptible wait uth is in, or its next one if it is not in one yet, once: unlike
 * uthread_interrupt it leaves no lasting mark (the waiter clears uth->poked before it decides to
 * wait again).  The pthreads layer's signals, which cut waits short with EINTR. */
void uthread_poke(struct uthread *uth);
/* As uth_mutex_timed_lock with no deadline, but uthread_poke (not uthread_interrupt) ends the
 * wait: 0 once the mutex is ours, or UTH_WAIT_INTERRUPTED. */
int uth_mutex_lock_pokable(uth_mutex_t *m);
/* The same with a deadline: 0, UTH_WAIT_TIMEOUT or UTH_WAIT_INTERRUPTED. */
int uth_mutex_timed_lock_pokable(uth_mutex_t *m, uint64_t deadline);

/* How many times a contended uth_mutex_lock spins before blocking. */
#define UTH_MUTEX_SPINS 100

#endif
