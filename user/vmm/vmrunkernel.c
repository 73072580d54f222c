/* vmrunkernel [-n GPCS] [-m] [-w] [-q] GUEST: a small VMM for kernkit's vmm plugin.
 *
 * Loads the guest kernel ELF into guest-physical memory (a 16 MiB range of this process's
 * memory), identity-maps it with 2 MiB pages, gives each guest pcore a boot stack, and runs
 * them: the serial port at 0x3f8 is emulated (lines go to stdout), VMCALL 1 prints a string,
 * VMCALL 2 ends a guest pcore, HLT ends it too.  -n: guest pcores (default 1), run one after
 * the other, or each on its own vcore with -m (the process becomes an MCP).  -w: HLT is not
 * reflected (the kernel halts the guest pcore until it is poked or the VMM is notified) and the
 * guest waits once for an interrupt.  -q: no serial output (benchmarks). */
#include "parlib/uthread.h"
#include "vmm/vmm_abi.h"

#define GUEST_MEM (16UL << 20)
#define PML4 0x1000UL
#define PDPT 0x2000UL
#define PD 0x3000UL
#define STACK_TOP 0x800000UL
#define STACK_EACH 0x10000UL
#define MAX_GPCS 16
#define VMCALL_PRINT 1
#define VMCALL_EXIT 2
#define ARG_WAIT (1UL << 40)

struct elf64_ehdr {
	unsigned char ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff, shoff;
	uint32_t flags;
	uint16_t ehsize, phentsize, phnum, shentsize, shnum, shstrndx;
};

struct elf64_phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static uint8_t *guest_mem;
static int quiet;
static int nr_gpcs = 1;
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

static long read_file(const char *path, uint8_t **out)
{
	long fd = ros_syscall(SYS_openat, -100, path, 0, 0, 0, 0);
	if (fd < 0)
		return fd;
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	for (;;) {
		if (len == cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		long n = ros_syscall(SYS_read, fd, buf + len, cap - len, 0, 0, 0);
		if (n < 0)
			return n;
		if (n == 0)
			break;
		len += n;
	}
	ros_syscall(SYS_close, fd, 0, 0, 0, 0, 0);
	*out = buf;
	return (long)len;
}

/* Copy the PT_LOAD segments to their physical addresses; the entry point, or 0. */
static uint64_t load_elf(const uint8_t *image, long size)
{
	const struct elf64_ehdr *eh = (const void *)image;
	if (size < (long)sizeof *eh || memcmp(eh->ident, "\177ELF", 4) || eh->ident[4] != 2 || eh->machine != 62)
		return 0;
	for (int i = 0; i < eh->phnum; i++) {
		const struct elf64_phdr *ph = (const void *)(image + eh->phoff + i * eh->phentsize);
		if (ph->type != 1)
			continue;
		if (ph->paddr + ph->memsz > GUEST_MEM || ph->offset + ph->filesz > (uint64_t)size)
			return 0;
		memcpy(guest_mem + ph->paddr, image + ph->offset, ph->filesz);
		memset(guest_mem + ph->paddr + ph->filesz, 0, ph->memsz - ph->filesz);
	}
	return eh->entry;
}

/* Identity paging with 2 MiB pages of guest memory and of as much again above it, where the
 * guest's accesses are EPT violations (MMIO for this VMM). */
static void setup_paging(void)
{
	uint64_t *pml4 = (void *)(guest_mem + PML4), *pdpt = (void *)(guest_mem + PDPT);
	uint64_t *pd = (void *)(guest_mem + PD);
	pml4[0] = PDPT | 3;
	pdpt[0] = PD | 3;
	for (uint64_t i = 0; i < (2 * GUEST_MEM) >> 21; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
}

struct console {
	char line[256];
	int len;
	int gpcoreid;
};

static void console_putc(struct console *c, char ch)
{
	if (quiet)
		return;
	c->line[c->len++] = ch;
	if (ch == '\n' || c->len == (int)sizeof c->line) {
		write_all(1, c->line, c->len);
		c->len = 0;
	}
}

/* Run one guest pcore until it ends; 0 if it ended well. */
static int run_gpc(int id)
{
	struct vm_trapframe tf;
	struct console con = { .len = 0, .gpcoreid = id };
	memset(&tf, 0, sizeof tf);
	tf.gpcoreid = id;
	for (;;) {
		long reason = vmm_run(id, &tf);
		exits[id]++;
		switch (reason) {
		case EXIT_REASON_IO_INSTRUCTION: {
			uint16_t port = IO_QUAL_PORT(tf.exit_qual);
			if (IO_QUAL_IN(tf.exit_qual)) {
				uint8_t value = port == 0x3f8 + 5 ? 0x60 : 0; /* line status: ready */
				tf.rax = (tf.rax & ~0xffUL) | value;
			} else if (port == 0x3f8) {
				console_putc(&con, (char)(tf.intrinfo >> 32));
			}
			break;
		}
		case EXIT_REASON_VMCALL:
			if (tf.rax == VMCALL_PRINT) {
				if (tf.rdi < GUEST_MEM && !quiet)
					write_all(1, (char *)guest_mem + tf.rdi, strnlen((char *)guest_mem + tf.rdi, GUEST_MEM - tf.rdi));
				tf.rax = 0;
			} else if (tf.rax == VMCALL_EXIT) {
				return (int)tf.rdi;
			} else {
				tf.rax = (uint64_t)-1;
			}
			tf.rip += tf.insn_len;
			break;
		case EXIT_REASON_HLT:
			return 0;
		case EXIT_REASON_EXTERNAL_INTERRUPT:
			break; /* a notification took the core back for a moment: carry on */
		default:
			if (reason < 0) {
				printf("vmrunkernel: guest pcore %d: vmm_run failed: %ld\n", id, reason);
				return 1;
			}
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
	int mcp = 0, wait = 0, i;
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
	if (i != argc - 1 || nr_gpcs < 1 || nr_gpcs > MAX_GPCS) {
		dprintf(2, "usage: vmrunkernel [-n GPCS] [-m] [-w] [-q] GUEST\n");
		return 2;
	}
	uint8_t *image;
	long size = read_file(argv[i], &image);
	if (size < 0) {
		printf("vmrunkernel: cannot read %s: %ld\n", argv[i], size);
		return 1;
	}
	guest_mem = sys_mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guest_mem == MAP_FAILED)
		return 1;
	uint64_t entry = load_elf(image, size);
	if (!entry) {
		printf("vmrunkernel: %s is not an x86-64 ELF that fits in guest memory\n", argv[i]);
		return 1;
	}
	setup_paging();
	struct vmm_gpcore_init init[MAX_GPCS];
	for (int g = 0; g < nr_gpcs; g++) {
		init[g] = (struct vmm_gpcore_init){
			.mem_base = (uint64_t)guest_mem, .mem_size = GUEST_MEM, .entry = entry,
			.stack = STACK_TOP - g * STACK_EACH, .cr3 = PML4,
			.arg = (uint64_t)g | (uint64_t)nr_gpcs << 16 | (wait ? ARG_WAIT : 0),
		};
	}
	long added = ros_syscall(SYS_vmm_add_gpcs, nr_gpcs, init, 0, 0, 0, 0);
	if (added != nr_gpcs) {
		printf("vmrunkernel: vmm_add_gpcs failed: %ld\n", added);
		return 1;
	}
	if (wait)
		ros_syscall(SYS_vmm_ctl, VMM_CTL_SET_EXITS, 0, 0, 0, 0, 0);
	if (!quiet)
		printf("vmrunkernel: %s loaded, entry %#lx, %d guest pcore%s\n", argv[i], entry, nr_gpcs,
		       nr_gpcs > 1 ? "s" : "");
	int failed = 0;
	if (mcp) {
		register_ev_handler(EV_USER_IPI, on_user_ipi, NULL);
		if (uthread_mcp_init(NULL) < 0)
			return 1;
		vcore_request_total(nr_gpcs);
		struct uthread *threads[MAX_GPCS];
		for (int g = 0; g < nr_gpcs; g++)
			threads[g] = uthread_create(gpc_thread, (void *)(long)g);
		for (int g = 0; g < nr_gpcs; g++) {
			void *ret;
			uthread_join(threads[g], &ret);
			failed |= ret != NULL;
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
