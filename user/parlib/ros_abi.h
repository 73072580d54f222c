/* The kernel-user interface of kernkit's Akaros personality (plugins/akaros_abi).
 *
 * Numbers are Akaros's; the calling convention is kernkit's: `syscall` with the number in rax,
 * arguments in rdi, rsi, rdx, r10, r8, r9, the result in rax (>= 0, or -errno).  Akaros itself
 * passes a struct syscall and may complete calls asynchronously; kernkit completes every call
 * before it returns (a blocking call blocks the calling vcore).
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
#define SYS_vc_entry 35
#define SYS_nanosleep 36
#define SYS_pop_ctx 37
#define SYS_send_event 39
#define SYS_read 100
#define SYS_write 101
#define SYS_openat 102
#define SYS_close 103
#define SYS_tap_fds 126

/* provision / poke_ksched resource types */
#define RES_CORES 0

/* event types (the ones kernkit sends or passes on) */
#define EV_NONE 0
#define EV_PREEMPT_PENDING 1
#define EV_VCORE_PREEMPT 3
#define EV_USER_IPI 5
#define EV_ALARM 7
#define EV_EVENT 8

/* send_event / notify flags */
#define EVENT_IPI 0x1    /* notify the target vcore (runs vcore_entry if notifications are on) */
#define EVENT_WAKEUP 0x2 /* a WAITING process becomes RUNNABLE_M and the ksched is poked */
#define EVENT_INDIR 0x4  /* event queues: an EV_EVENT message (arg: the queue) to ev_vcore */

#define MAX_VCORES 64
#define EV_MBOX_SLOTS 8

/* Where the kernel maps the shared pages in every Akaros-personality process. */
#define PROCINFO_ADDR 0x7f0000000000UL /* read-only to the process */
#define PROCDATA_ADDR 0x7f0000010000UL /* read-write */

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
}; /* 2624 bytes */

struct event_msg {
	uint32_t type;
	uint32_t vcoreid; /* filled in by the kernel: the vcore it was sent to */
	uint64_t arg;
}; /* 16 bytes */

/* Per-vcore preemption data (procdata.vcore_preempt_data[vcoreid]). */
struct preempt_data {
	struct user_context uthread_ctx; /* 0: the user context saved on notification or change_to_m */
	uint64_t vcore_stack;            /* 160: stack top vcore_entry starts on */
	uint64_t vcore_tls_desc;         /* 168: fs base vcore_entry starts with */
	uint8_t notif_disabled;          /* 176: set by the kernel when it starts vcore_entry */
	uint8_t notif_pending;           /* 177: set when a notification arrives while disabled */
	uint8_t pad[6];
	uint64_t flags;                  /* 184: VC_* below */
	uint32_t ev_head;                /* 192: next slot the kernel writes (free-running) */
	uint32_t ev_tail;                /* 196: next slot user code reads (free-running) */
	struct event_msg ev[EV_MBOX_SLOTS]; /* 200: mailbox, index with % EV_MBOX_SLOTS; the kernel
	                                      * never overwrites: when full, the sending call fails
	                                      * with -EAGAIN (the notification still goes) */
	uint8_t reserved[184];
}; /* 512 bytes */

#define VC_PREEMPTED 0x1      /* the kernel took this vcore's core; its context is kept */
#define VC_UTHREAD_SAVED 0x2  /* uthread_ctx holds a context the 2LS must resume */

struct procdata {
	uint64_t amt_wanted;  /* vcores wanted (0 or more than max_vcores counts as 1) */
	uint64_t vcore_entry; /* where vcores start */
	uint64_t pad[6];
	struct preempt_data vcore_preempt_data[MAX_VCORES]; /* offset 64 */
};

#define __procinfo (*(const volatile struct procinfo *)PROCINFO_ADDR)
#define __procdata (*(volatile struct procdata *)PROCDATA_ADDR)

/* FD taps (SYS_tap_fds): an event when an open file becomes ready.  Numbers are Akaros's. */
#define FDTAP_CMD_ADD 1
#define FDTAP_CMD_REM 2
#define FDTAP_FILT_READABLE 0x001
#define FDTAP_FILT_WRITABLE 0x002
#define FDTAP_FILT_ERROR 0x010
#define FDTAP_FILT_PRIORITY 0x100
#define FDTAP_FILT_HANGUP 0x200

struct event_queue; /* below */

struct fd_tap_req { /* Akaros's layout */
	int fd;
	int cmd;       /* FDTAP_CMD_* */
	int filter;    /* FDTAP_FILT_* */
	int ev_id;     /* the bit the tap sets in ev_q's bitmap */
	struct event_queue *ev_q;
	void *data;    /* unused by kernkit */
}; /* 32 bytes */

/* kernkit's event queue for taps: a bitmap mailbox (Akaros's EV_MBOX_BITMAP).  When a tap
 * fires the kernel sets bit ev_id of bitmap, then check_bits, then acts on ev_flags: an
 * EV_EVENT message whose arg is the queue's address to ev_vcore's mailbox (EVENT_INDIR), a
 * notification (EVENT_IPI), a wake-up of a WAITING process (EVENT_WAKEUP).  Bits coalesce, so a
 * full vcore mailbox loses no tap: whoever handles events looks at check_bits too. */
struct event_queue {
	uint32_t ev_flags;
	uint32_t ev_vcore;
	volatile uint32_t check_bits;
	uint32_t nr_bits;        /* bits in bitmap: ev_id must be below */
	volatile uint64_t bitmap[];
}; /* 16 bytes + the bitmap */

#endif
