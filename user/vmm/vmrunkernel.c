/* vmrunkernel [-n GPCS] [-m [-w]] [-q] GUEST: a small VMM for kernkit's vmm plugin.
 *
 * Loads the guest kernel ELF into guest-physical memory (a 16 MiB range of this process's
 * memory), identity-maps it with 2 MiB pages (guestmem.c, which refuses a malformed ELF with
 * one line), gives each guest pcore a boot stack and a
 * posted-interrupt descriptor, and runs them.  Devices: the serial port at 0x3f8 (lines go to
 * stdout), an 8259 and the PIT (the guest's timer, timer.c), a virtio-mmio console at the
 * start of the hole (virtio_console.c).  VMCALL 1 prints a string, VMCALL 2 ends a guest
 * pcore, VMCALL 3 sends an interrupt to another one.
 *
 * -n: guest pcores (default 1).  Without -m they run one after the other and HLT is reflected:
 * with interrupts off it ends the guest pcore, with interrupts on the VMM sleeps until the
 * timer's next tick.  -m: each runs on its own vcore (the process becomes an MCP) and HLT is
 * not reflected: the kernel halts the guest pcore until it is poked, by a timer thread on a
 * vcore of its own or by another guest pcore's IPI.  -w (with -m): no timer, and the guest
 * halts once with interrupts off, until the VMM is notified.  -q: no serial output
 * (benchmarks). */
#include "vmm/vmm.h"

#define STACK_EACH 0x10000UL
#define VMCALL_PRINT 1
#define VMCALL_EXIT 2
#define VMCALL_IPI 3
#define ARG_WAIT (1UL << 40)     /* the guest halts once with interrupts off */
#define ARG_TIMER (1UL << 41)    /* the VMM serves the guest's timer */
#define ARG_TOGETHER (1UL << 42) /* the guest pcores run at the same time */
#define RFLAGS_IF (1UL << 9)

int quiet;
int nr_gpcs = 1;
static int mcp;
static uint64_t exits[MAX_GPCS];
static volatile uint64_t interrupts;

static void on_user_ipi(struct event_msg *msg, unsigned int type, void *data)
{
	(void)msg;
	(void)type;
	(void)data;
	interrupts++;
}

static long vmm_run(int gpcoreid, struct vm_trapframe *tf)
{
	return ros_syscall(SYS_vmm_run, gpcoreid, tf, 0, 0, 0, 0);
}

/* An access to the virtio-mmio console: decode the instruction, do it, step past it. */
static int mmio(struct vm_trapframe *tf)
{
	struct mmio_access a;
	if (tf->rip >= GUEST_MEM - 16 || decode_mmio(tf, guest_mem + tf->rip, &a) < 0)
		return -1;
	/* the kernel reports the page; the instruction gives the offset in it */
	uint64_t offset = (tf->guest_pa & ~0xfffUL) + (a.address & 0xfff) - VIRTIO_MMIO_BASE;
	if (offset >= VIRTIO_MMIO_SIZE || a.size != 4 || offset % 4)
		return -1;
	if (a.store)
		virtio_console_store(offset, (uint32_t)*a.reg);
	else
		*a.reg = virtio_console_load(offset); /* a 32-bit load zero-extends */
	tf->rip += a.len;
	return 0;
}

/* A reflected HLT with interrupts on (guest pcores run one after the other): sleep until the
 * timer's next tick is posted (the kernel delivers it when the guest runs again); -1 if
 * nothing could ever interrupt the guest pcore. */
static int wait_for_interrupt(int id)
{
	while (!interrupt_posted(id)) {
		uint64_t tick = id == 0 ? timer_next_tick() : 0;
		if (!tick) {
			printf("vmrunkernel: guest pcore %d halted with interrupts on; nothing can wake it\n", id);
			return -1;
		}
		sleep_until(tick);
		timer_poll();
	}
	return 0;
}

/* Run one guest pcore until it ends; 0 if it ended well. */
static int run_gpc(int id)
{
	struct vm_trapframe tf;
	struct serial_line con = { .len = 0 };
	memset(&tf, 0, sizeof tf);
	tf.gpcoreid = id;
	for (;;) {
		long reason = vmm_run(id, &tf);
		exits[id]++;
		if (id == 0)
			timer_poll();
		switch (reason) {
		case EXIT_REASON_IO_INSTRUCTION: {
			uint16_t port = IO_QUAL_PORT(tf.exit_qual);
			uint8_t out = (uint8_t)(tf.intrinfo >> 32);
			int timer = id == 0 && timer_port(port);
			if (IO_QUAL_IN(tf.exit_qual)) {
				uint8_t value = timer ? timer_in(port) : port == 0x3f8 + 5 ? 0x60 : 0; /* line status: ready */
				tf.rax = (tf.rax & ~0xffUL) | value;
			} else if (timer) {
				timer_out(port, out);
			} else if (port == 0x3f8 && !quiet) {
				serial_putc(&con, (char)out);
			}
			break;
		}
		case EXIT_REASON_EPT_VIOLATION:
			if (mmio(&tf) < 0)
				goto stopped;
			break;
		case EXIT_REASON_VMCALL:
			if (tf.rax == VMCALL_PRINT) {
				if (tf.rdi < GUEST_MEM && !quiet)
					write_all(1, (char *)guest_mem + tf.rdi, strnlen((char *)guest_mem + tf.rdi, GUEST_MEM - tf.rdi));
				tf.rax = 0;
			} else if (tf.rax == VMCALL_EXIT) {
				return (int)tf.rdi;
			} else if (tf.rax == VMCALL_IPI) {
				tf.rax = vmm_interrupt_guest((int)tf.rdi, (unsigned int)tf.rsi);
			} else {
				tf.rax = (uint64_t)-1;
			}
			tf.rip += tf.insn_len;
			break;
		case EXIT_REASON_HLT:
			if (!(tf.rflags & RFLAGS_IF))
				return 0; /* halted for good */
			if (wait_for_interrupt(id) < 0)
				return 1;
			break;
		case EXIT_REASON_EXTERNAL_INTERRUPT:
			break; /* a notification took the core back for a moment: carry on */
		default:
			if (reason < 0) {
				printf("vmrunkernel: guest pcore %d: vmm_run failed: %ld\n", id, reason);
				return 1;
			}
		stopped:
			printf("vmrunkernel: guest pcore %d stopped: exit reason %#lx, qualification %#lx, "
			       "vector %lu, guest va %#lx, guest pa %#lx, rip %#lx\n",
			       id, reason, tf.exit_qual, tf.intrinfo & 0xffffffff, tf.guest_va, tf.guest_pa, tf.rip);
			return 1;
		}
	}
}

static void *gpc_thread(void *arg)
{
	return (void *)(long)run_gpc((int)(long)arg);
}

int main(int argc, char **argv)
{
	int wait = 0, i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "-n") && i + 1 < argc)
			nr_gpcs = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-m"))
			mcp = 1;
		else if (!strcmp(argv[i], "-w"))
			wait = 1;
		else if (!strcmp(argv[i], "-q"))
			quiet = 1;
		else
			break;
	}
	if (i != argc - 1 || nr_gpcs < 1 || nr_gpcs > MAX_GPCS || (wait && !mcp)) {
		dprintf(2, "usage: vmrunkernel [-n GPCS] [-m [-w]] [-q] GUEST\n");
		return 2;
	}
	if (mcp && !wait && (uint32_t)nr_gpcs + 1 > max_vcores()) {
		printf("vmrunkernel: -m -n %d needs %d vcores (one per guest pcore and one for the timer); "
		       "this process may have %u\n", nr_gpcs, nr_gpcs + 1, max_vcores());
		return 1;
	}
	uint64_t entry;
	if (guest_mem_load("vmrunkernel", argv[i], &entry) < 0)
		return 1;
	struct vmm_gpcore_init init[MAX_GPCS];
	for (int g = 0; g < nr_gpcs; g++) {
		init[g] = (struct vmm_gpcore_init){
			.mem_base = (uint64_t)guest_mem, .mem_size = GUEST_MEM, .entry = entry,
			.stack = STACK_TOP - g * STACK_EACH, .cr3 = PML4,
			.arg = (uint64_t)g | (uint64_t)nr_gpcs << 16 | (wait ? ARG_WAIT : ARG_TIMER) |
			       (mcp ? ARG_TOGETHER : 0),
			.posted_irq_desc = (uint64_t)&posted[g],
		};
	}
	long added = ros_syscall(SYS_vmm_add_gpcs, nr_gpcs, init, sizeof init[0], 0, 0, 0);
	if (added != nr_gpcs) {
		printf("vmrunkernel: vmm_add_gpcs failed: %ld\n", added);
		return 1;
	}
	if (mcp) /* guest pcores halt in the kernel, until poked */
		ros_syscall(SYS_vmm_ctl, VMM_CTL_SET_EXITS, 0, 0, 0, 0, 0);
	if (!quiet)
		printf("vmrunkernel: %s loaded, entry %#lx, %d guest pcore%s\n", argv[i], entry, nr_gpcs,
		       nr_gpcs > 1 ? "s" : "");
	int failed = 0;
	if (mcp) {
		register_ev_handler(EV_USER_IPI, on_user_ipi, NULL);
		if (uthread_mcp_init(NULL) < 0)
			return 1;
		vcore_request_total(nr_gpcs + !wait);
		struct uthread *threads[MAX_GPCS], *timer = wait ? NULL : uthread_create(timer_thread, NULL);
		for (int g = 0; g < nr_gpcs; g++)
			threads[g] = uthread_create(gpc_thread, (void *)(long)g);
		for (int g = 0; g < nr_gpcs; g++) {
			void *ret;
			uthread_join(threads[g], &ret);
			failed |= ret != NULL;
		}
		if (timer) {
			timer_stop();
			uthread_join(timer, NULL);
		}
	} else {
		for (int g = 0; g < nr_gpcs; g++)
			failed |= run_gpc(g);
	}
	uint64_t total = 0;
	for (int g = 0; g < nr_gpcs; g++)
		total += exits[g];
	if (!quiet)
		printf("vmrunkernel: guest done, %lu exits to the VMM\n", total);
	return failed;
}
