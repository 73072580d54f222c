/* The kernel-user interface of kernkit's Akaros personality (plugins/akaros_abi).
 *
 * Numbers are Akaros's; the calling convention is kernkit's: `syscall` with the number in rax,
 * arguments in rdi, rsi, rdx, r10, r8, r9, the result in rax (>= 0, or -errno).  Calls may also
 * be submitted as Akaros's struct syscall (SYS_submit below): the kernel may then finish them
 * later, after the trap has returned, so a blocking call of an MCP no longer holds its vcore.
 *
 * This header is the contract: plugins/akaros_abi/layout.py must agree with it, and a test
 * compiles a program that checks the offsets below against the kernel's.
 */
#ifndef KERNKIT_ROS_ABI_H
#define KERNKIT_ROS_ABI_H

#include <stdint.h>

#define SYS_null 1
#define SYS_block 2
#define SYS_cputs 5
#define SYS_getpcoreid 7
#define SYS_getvcoreid 8
#define SYS_getpid 9
#define SYS_proc_create 10
#define SYS_proc_run 11
#define SYS_proc_destroy 12
#define SYS_proc_yield 13
#define SYS_change_vcore 14
#define SYS_waitpid 17
#define SYS_mmap 18
#define SYS_munmap 19
#define SYS_mprotect 20
#define SYS_provision 24
#define SYS_notify 25
#define SYS_self_notify 26
#define SYS_halt_core 27
#define SYS_change_to_m 29
#define SYS_poke_ksched 30
#define SYS_abort_sysc 31
#define SYS_vc_entry 35
#define SYS_nanosleep 36
#define SYS_pop_ctx 37
#define SYS_send_event 39
#define SYS_read 100
#define SYS_write 101
#define SYS_openat 102
#define SYS_close 103
#define SYS_fstat 104
#define SYS_stat 105
#define SYS_fcntl 107
#define SYS_dup_fds_to 125
#define SYS_tap_fds 126
/* kernkit's: SYS_proc_sigstate(pid, blocked, ignored) sets a created child's procinfo
 * sig_blocked and sig_ignored before it runs (what exec keeps of signals on Linux), or a Linux
 * program's own mask and ignored signals */
#define SYS_proc_sigstate 127
/* kernkit's: process groups and sessions (Akaros has neither), shared with Linux programs.
 * setpgid, getpgid, getsid and kill are Linux's calls; SYS_setsid(pid) makes the caller (pid 0)
 * or a child it created and has not run a session leader (posix_spawn's SETSID). */
#define SYS_setpgid 128
#define SYS_getpgid 129
#define SYS_setsid 130
#define SYS_getsid 131
#define SYS_kill 132
/* kernkit's trap for struct syscalls (Akaros traps with no number): rdi = an array of struct
 * syscall, rsi = how many.  Returns how many it finished before returning. */
#define SYS_submit 200

/* provision / poke_ksched resource types */
#define RES_CORES 0

/* --- Asynchronous system calls (Akaros's struct syscall) ------------------------------------
 * A call submitted with SYS_submit runs at once; if it would block and the process is an MCP,
 * the trap returns with the call not done, a kernel task waits for it, and when it finishes the
 * kernel writes retval/err, sets SC_DONE and, if SC_UEVENT is set, sends an EV_SYSCALL event
 * (ev_arg3 = the struct syscall) to ev_q.  retval is what the register convention returns
 * (>= 0 or -errno); err is the errno (0 on success). */
#define SC_DONE 0x0001     /* finished: retval and err are valid */
#define SC_PROGRESS 0x0002 /* made progress (a partial result is in retval) */
#define SC_UEVENT 0x0004   /* the user registered ev_q: send EV_SYSCALL when done */
#define SC_K_LOCK 0x0008   /* the kernel is completing it: do not touch ev_q */
#define SC_ABORT 0x0010    /* SYS_abort_sysc ended the call (-EINTR) */

#define MAX_ERRSTR_LEN 128

struct event_queue;

struct syscall {
	uint32_t num;
	int32_t err;
	int64_t retval;
	volatile uint64_t flags;   /* SC_* */
	struct event_queue *ev_q;  /* for SC_UEVENT */
	void *u_data;              /* the user's: parlib keeps the blocked uthread here */
	int64_t arg0, arg1, arg2, arg3, arg4, arg5;
	char errstr[MAX_ERRSTR_LEN];
}; /* 216 bytes */

/* --- Events (Akaros's numbers and layouts) ----------------------------------------------- */
#define EV_NONE 0
#define EV_PREEMPT_PENDING 1
#define EV_VCORE_PREEMPT 3
#define EV_USER_IPI 5
#define EV_ALARM 7
#define EV_EVENT 8
#define EV_SYSCALL 10
#define EV_CHECK_MSGS 11
#define EV_POSIX_SIGNAL 12
#define NR_EVENT_TYPES 25
#define MAX_NR_EVENT 50

/* Event delivery flags (struct event_queue's ev_flags, and the flags of notify/self_notify) */
#define EVENT_IPI 0x00001           /* notify the vcore (runs vcore_entry if notifications are on) */
#define EVENT_SPAM_PUBLIC 0x00002   /* post the message to a running vcore's public mailbox instead */
#define EVENT_INDIR 0x00004         /* also send an EV_EVENT message (ev_arg3: the queue) to ev_vcore */
#define EVENT_VCORE_PRIVATE 0x00008 /* no mailbox given: use the vcore's private one */
#define EVENT_SPAM_INDIR 0x00010    /* the EV_EVENT goes to a vcore that will run, if ev_vcore won't */
#define EVENT_VCORE_MUST_RUN 0x00020 /* spams go to an online vcore */
#define EVENT_NOTHROTTLE 0x00040    /* send every EV_EVENT, not one per ev_alert_pending */
#define EVENT_VCORE_APPRO 0x00100   /* send to the vcore the kernel chooses, not ev_vcore */
#define EVENT_WAKEUP 0x00200        /* a WAITING process becomes RUNNABLE_M */

struct event_msg {
	uint16_t ev_type;
	uint16_t ev_arg1;
	uint32_t ev_arg2;
	uint64_t ev_arg3; /* a pointer, for EV_EVENT and EV_SYSCALL */
	uint64_t ev_arg4;
}; /* 24 bytes */

/* Mailboxes */
#define EV_MBOX_UCQ 1
#define EV_MBOX_BITMAP 2
#define EV_MBOX_CEQ 3

/* UCQ: an unbounded queue of event messages in linked pages.  prod_idx and cons_idx hold a
 * page address and a slot number (its low 12 bits); when the producer runs out of slots it
 * takes spare_pg (or maps a new page), links it from the old page's header and goes on there. */
#define PGSIZE 4096
struct ucq {
	volatile uint64_t prod_idx;
	volatile uint64_t spare_pg;
	volatile uint64_t nr_extra_pgs;
	volatile uint64_t cons_idx;
	volatile uint8_t prod_overflow;
	volatile uint8_t ucq_ready;
	uint8_t pad[2];
	volatile uint32_t u_lock[2]; /* a spin_pdr_lock for the consumers */
}; /* 48 bytes */

struct ucq_page_header {
	volatile uint64_t cons_next_pg; /* the page the producer went on to */
	volatile uint64_t nr_cons;      /* messages consumed from this page */
};

struct msg_container {
	struct event_msg ev_msg;
	volatile uint8_t ready;
	uint8_t pad[7];
}; /* 32 bytes */

#define UCQ_MSGS_PER_PAGE ((PGSIZE - sizeof(struct ucq_page_header)) / sizeof(struct msg_container))

/* Bitmap mailbox: one bit per event type (types >= MAX_NR_EVENT are dropped). */
struct evbitmap {
	volatile uint8_t check_bits;
	volatile uint8_t bitmap[(MAX_NR_EVENT + 7) / 8];
}; /* 8 bytes */

/* CEQ: coalescing event queue.  events[] is indexed by event type; a message's ev_arg2 is
 * OR'd (CEQ_OR) or added (CEQ_ADD) into its entry's coalesce, ev_arg3 overwrites blob_data, and
 * the type is put in the ring unless it is there already (idx_posted).  When the ring is full the
 * kernel sets ring_overflowed and the consumer scans events[] up to max_event_ever. */
#define CEQ_OR 1
#define CEQ_ADD 2
struct ceq_event {
	volatile uint64_t coalesce;
	volatile uint64_t blob_data;
	volatile uint8_t idx_posted;
	uint8_t pad[7];
	uint64_t user_data;
}; /* 32 bytes */

struct ceq {
	struct ceq_event *events;
	uint32_t nr_events;
	uint32_t last_recovered;
	volatile uint64_t max_event_ever;
	volatile int32_t *ring; /* -1: empty slot */
	uint32_t ring_sz;       /* a power of 2 */
	uint8_t operation;      /* CEQ_OR, CEQ_ADD */
	volatile uint8_t ring_overflowed;
	volatile uint8_t overflow_recovery;
	uint8_t pad;
	volatile uint64_t prod_idx;
	volatile uint64_t cons_pub_idx;
	volatile uint64_t cons_pvt_idx;
	volatile uint32_t u_lock[2];
}; /* 72 bytes */

struct event_mbox {
	int32_t type; /* EV_MBOX_* */
	int32_t pad;
	union {
		struct ucq ucq;
		struct evbitmap evbm;
		struct ceq ceq;
	};
}; /* 80 bytes */

/* Where and how the kernel sends an event: ev_mbox NULL means the target vcore's mailbox in
 * its preempt data (public, or private with EVENT_VCORE_PRIVATE). */
struct event_queue {
	struct event_mbox *ev_mbox;
	int32_t ev_flags;
	volatile uint8_t ev_alert_pending; /* an EV_EVENT is on its way (set by the kernel) */
	uint8_t pad[3];
	uint32_t ev_vcore;
	uint32_t pad2;
	void (*ev_handler)(struct event_queue *);
	void *ev_udata;
}; /* 40 bytes */

#define MAX_VCORES 64

/* Where the kernel maps the shared pages in every Akaros-personality process. */
#define PROCINFO_ADDR 0x7f0000000000UL /* read-only to the process */
#define PROCDATA_ADDR 0x7f0000010000UL /* read-write */

/* The FPU/SSE state as FXSAVE stores it (x87 and SSE registers, control and status words). */
struct ancillary_state {
	uint8_t fxsave[512];
} __attribute__((aligned(16))); /* 512 bytes */
#define FP_FCW_OFFSET 0
#define FP_MXCSR_OFFSET 24

/* A full user context, as the kernel saves it on notification/preemption and pop_ctx loads it. */
struct user_context {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags, fs_base, gs_base;
}; /* 160 bytes */

struct vcore_info { /* procinfo.vcoremap[vcoreid] */
	uint32_t pcoreid;
	uint32_t valid;            /* 1 while the vcore holds a core */
	uint32_t nr_preempts_sent;
	uint32_t nr_preempts_done;
	uint64_t preempt_pending;  /* nonzero while a preemption is in flight */
	uint64_t resume_ticks;
}; /* 32 bytes */

struct pcore_info { /* procinfo.pcoremap[pcoreid] */
	uint32_t vcoreid;
	uint32_t valid;
}; /* 8 bytes */

struct procinfo {
	uint64_t pid;
	uint64_t ppid;
	uint64_t max_vcores;   /* how many vcores this process may hold (the scheduler decides) */
	uint64_t num_cores;    /* pcores on the machine */
	uint64_t num_vcores;   /* vcores holding a core now */
	uint64_t is_mcp;
	uint64_t coremap_seqctr; /* odd while the kernel updates the maps */
	uint64_t tsc_freq;     /* rdtsc ticks per virtual second */
	struct vcore_info vcoremap[MAX_VCORES]; /* offset 64 */
	struct pcore_info pcoremap[MAX_VCORES]; /* offset 2112 */
	/* kernkit's: the signals the program starts with blocked and ignored (bit 1 << (sig - 1)), as
	 * exec keeps them on Linux; the parent sets them (SYS_proc_sigstate) before it runs */
	uint64_t sig_blocked; /* offset 2624 */
	uint64_t sig_ignored; /* offset 2632 */
}; /* 2640 bytes */

/* Per-vcore preemption data (procdata.vcore_preempt_data[vcoreid]). */
struct preempt_data {
	struct user_context uthread_ctx; /* 0: a uthread's context, saved on notification, preemption
	                                  * or change_to_m (VC_UTHREAD_SAVED says it is there) */
	struct user_context vcore_ctx;   /* 160: vcore context, saved when a vcore was preempted with
	                                  * notifications disabled; its restart resumes it */
	uint64_t vcore_stack;            /* 320: stack top vcore_entry starts on */
	uint64_t vcore_tls_desc;         /* 328: fs base vcore_entry starts with */
	volatile uint8_t notif_disabled; /* 336: set by the kernel when it starts vcore_entry */
	volatile uint8_t notif_pending;  /* 337: set when an event or notification arrives */
	uint8_t pad[6];
	volatile uint64_t flags;         /* 344: VC_* below */
	struct event_mbox ev_mbox_public;  /* 352: UCQ; events for this vcore, any vcore may take */
	struct event_mbox ev_mbox_private; /* 432: UCQ; events only this vcore takes */
	/* 512: the FPU/SSE registers (an FXSAVE image) of the uthread whose context is in
	 * uthread_ctx: the kernel saves them with it (Akaros's preempt_anc) */
	struct ancillary_state preempt_anc;
}; /* 1024 bytes */

/* vcore flags (Akaros's values, and kernkit's VC_UTHREAD_SAVED) */
#define VC_K_LOCK 0x001           /* the kernel is writing the vcore's preempt data */
#define VC_PREEMPTED 0x002        /* the kernel took this vcore's core; its context is saved */
#define VC_CAN_RCV_MSG 0x004      /* a message posted to it will be seen */
#define VC_UTHREAD_STEALING 0x008 /* another vcore is taking its uthread */
#define VC_UTHREAD_SAVED 0x1000   /* uthread_ctx holds a context the 2LS must resume */

struct procdata {
	uint64_t amt_wanted;  /* vcores wanted (0 or more than max_vcores counts as 1) */
	uint64_t vcore_entry; /* where vcores start */
	uint64_t pad[6];
	struct preempt_data vcore_preempt_data[MAX_VCORES]; /* offset 64 */
	struct event_queue *kernel_evts[MAX_NR_EVENT];      /* offset 65600: where kernel events of
	                                                      * each type go (NULL: the vcore's
	                                                      * public mailbox, with EVENT_IPI) */
};

#define __procinfo (*(const volatile struct procinfo *)PROCINFO_ADDR)
#define __procdata (*(volatile struct procdata *)PROCDATA_ADDR)

/* proc_create's flags: the new process starts with the caller's descriptors (not those marked
 * close-on-exec) instead of the console's three. */
#define PROC_DUP_FGRP 1

/* SYS_dup_fds_to(pid, map, n): before a created process runs, each entry's parentfd (the
 * caller's open file) becomes its childfd, replacing what was there; ok is 0 or -errno.  A
 * parentfd of -1 closes childfd in the child instead (kernkit's: Akaros has no close there). */
struct childfdmap {
	uint32_t parentfd;
	uint32_t childfd;
	int32_t ok;
}; /* 12 bytes */

/* FD taps (SYS_tap_fds): an event when an open file becomes ready.  Numbers are Akaros's.  A
 * tap sends ev_q an event of type ev_id (the caller picks it, usually the descriptor) whose
 * ev_arg2 is the filter bits that became true and ev_arg3 the request's data: with a CEQ as the
 * mailbox, events for one descriptor coalesce (as Akaros's epoll does). */
#define FDTAP_CMD_ADD 1
#define FDTAP_CMD_REM 2
#define FDTAP_FILT_READABLE 0x001
#define FDTAP_FILT_WRITABLE 0x002
#define FDTAP_FILT_ERROR 0x010
#define FDTAP_FILT_PRIORITY 0x100
#define FDTAP_FILT_HANGUP 0x200
#define FDTAP_FILT_RDHUP 0x400 /* a tap that asks for it gets the peer's FIN as RDHUP, HANGUP then only for a full hangup */

struct fd_tap_req { /* Akaros's layout */
	int fd;
	int cmd;       /* FDTAP_CMD_* */
	int filter;    /* FDTAP_FILT_* */
	int ev_id;     /* the event type the tap sends */
	struct event_queue *ev_q;
	void *data;    /* the event's ev_arg3 */
}; /* 32 bytes */

/* struct stat as SYS_stat and SYS_fstat fill it: Linux's x86-64 layout (kernkit's choice). */
struct kstat {
	uint64_t st_dev;
	uint64_t st_ino;
	uint64_t st_nlink;
	uint32_t st_mode;
	uint32_t st_uid;
	uint32_t st_gid;
	int32_t pad0;
	uint64_t st_rdev;
	int64_t st_size;
	int64_t st_blksize;
	int64_t st_blocks;
	int64_t st_atime_sec, st_atime_nsec;
	int64_t st_mtime_sec, st_mtime_nsec;
	int64_t st_ctime_sec, st_ctime_nsec;
	int64_t reserved[3];
}; /* 144 bytes */

/* Reading a directory returns struct kdirent records (Akaros's), as many as fit. */
struct kdirent {
	uint64_t d_ino;
	int64_t d_off;
	uint16_t d_reclen;
	uint8_t d_type;
	char d_name[256];
} __attribute__((aligned(8))); /* 280 bytes */

#endif
