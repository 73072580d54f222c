/* vmmcheck GUEST MODE [N]: a VMM that runs one guest pcore of GUEST (user/guest/badguest.c) in
 * one of its bad modes and reports how it ended, or passes the kernel bad arguments.
 *
 * Guest modes (the mode's number and N go to the guest in rdi): ok, ud2, gp, hole, unmapped,
 * noncanonical, flood, out N, spin N, idt-ud2.  The VMM emulates the serial port, counts every
 * exit and resumes the guest until it makes VMCALL 2 (exit) or stops with any other exit:
 *
 *   vmmcheck: guest exited with status S after E exits
 *   vmmcheck: guest stopped: NAME (exit reason R), vector V, qualification Q, guest va A,
 *             guest pa P, rip I, after E exits                       (exit status 3)
 *
 * (E counts the exits the VMM resumed the guest from.)  After exit_limit the VMM tries once more:
 *
 *   vmmcheck: vmm_run again: exit_limit (exit reason 0x10002)
 *   vmmcheck: vmm_run: ERRNO (-E) after E exits                        (exit status 1)
 *
 * Mode "calls" (with the ok guest): vmm_add_gpcs, vmm_run and vmm_poke_guest with bad pointers,
 * bad trapframes and bad guest pcore ids, one line per call with the errno it got, then the
 * guest runs on from where it was.  Mode "unmap": the VMM unmaps guest memory at the first exit
 * and resumes the guest. */
#include "parlib/parlib.h"
#include "parlib/syscall.h"
#include "vmm/vmm_abi.h"

#define GUEST_MEM (16UL << 20)
#define PML4 0x1000UL
#define PDPT 0x2000UL
#define PD 0x3000UL
#define STACK_TOP 0x800000UL
#define VMCALL_EXIT 2
#define NONCANONICAL 0x800000000000UL

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

static const char *const modes[] = { "ok", "ud2", "gp", "hole", "unmapped", "noncanonical",
				     "flood", "out", "spin", "idt-ud2" };
#define NR_MODES (int)(sizeof modes / sizeof modes[0])

static uint8_t *guest_mem;
static uint64_t exits;
static const struct vm_trapframe read_only_tf = { .flags = VMTF_RESUME };

static long vmm_run(long gpcoreid, const struct vm_trapframe *tf)
{
	return ros_syscall(SYS_vmm_run, gpcoreid, tf, 0, 0, 0, 0);
}

static const char *errname(long ret)
{
	static char buf[24];
	switch (ret) {
	case -2: return "ENOENT";
	case -12: return "ENOMEM";
	case -14: return "EFAULT";
	case -16: return "EBUSY";
	case -19: return "ENODEV";
	case -22: return "EINVAL";
	}
	snprintf(buf, sizeof buf, "%ld", ret);
	return buf;
}

static const char *exit_name(long reason)
{
	switch (reason) {
	case EXIT_REASON_EXCEPTION_NMI: return "exception";
	case EXIT_REASON_EXTERNAL_INTERRUPT: return "external_interrupt";
	case EXIT_REASON_TRIPLE_FAULT: return "triple_fault";
	case EXIT_REASON_HLT: return "hlt";
	case EXIT_REASON_VMCALL: return "vmcall";
	case EXIT_REASON_IO_INSTRUCTION: return "io";
	case EXIT_REASON_EPT_VIOLATION: return "ept_violation";
	case EXIT_REASON_GUEST_IN_USE: return "guest_in_use";
	case EXIT_REASON_EXIT_LIMIT: return "exit_limit";
	}
	return "unknown";
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

/* As vmrunkernel: 2 MiB identity pages over guest RAM and a hole as large above it. */
static void setup_paging(void)
{
	uint64_t *pml4 = (void *)(guest_mem + PML4), *pdpt = (void *)(guest_mem + PDPT);
	uint64_t *pd = (void *)(guest_mem + PD);
	pml4[0] = PDPT | 3;
	pdpt[0] = PD | 3;
	for (uint64_t i = 0; i < (2 * GUEST_MEM) >> 21; i++)
		pd[i] = (i << 21) | 0x83;
}

static void check(const char *what, long ret)
{
	printf("vmmcheck: %s: %s\n", what, ret < 0 ? errname(ret) : "accepted");
}

/* Bad calls before there is a guest pcore: nothing to run, nothing to add from. */
static void bad_setup_calls(struct vmm_gpcore_init *good)
{
	struct vm_trapframe tf;
	memset(&tf, 0, sizeof tf);
	struct vmm_gpcore_init bad = *good;
	check("vmm_run before vmm_add_gpcs", vmm_run(0, &tf));
	check("vmm_add_gpcs from an unmapped address", ros_syscall(SYS_vmm_add_gpcs, 1, 8, 0, 0, 0, 0));
	check("vmm_add_gpcs of 0 guest pcores", ros_syscall(SYS_vmm_add_gpcs, 0, good, 0, 0, 0, 0));
	bad.mem_base = (uint64_t)&read_only_tf & ~0xfffUL;
	check("vmm_add_gpcs over read-only memory", ros_syscall(SYS_vmm_add_gpcs, 1, &bad, 0, 0, 0, 0));
	bad = *good;
	bad.entry = NONCANONICAL;
	check("vmm_add_gpcs with a non-canonical entry", ros_syscall(SYS_vmm_add_gpcs, 1, &bad, 0, 0, 0, 0));
	bad = *good;
	bad.cr3 = GUEST_MEM;
	check("vmm_add_gpcs with cr3 outside guest memory", ros_syscall(SYS_vmm_add_gpcs, 1, &bad, 0, 0, 0, 0));
}

/* Bad calls with a guest pcore stopped at an exit in tf; tf itself is left as it was. */
static void bad_run_calls(const struct vm_trapframe *tf)
{
	struct vm_trapframe bad;
	check("vmm_run with a trapframe at an unmapped address", vmm_run(0, (void *)8));
	check("vmm_run with a read-only trapframe", vmm_run(0, &read_only_tf));
	bad = *tf;
	bad.rip = NONCANONICAL;
	check("vmm_run with a non-canonical rip", vmm_run(0, &bad));
	bad = *tf;
	bad.rflags |= 1UL << 17;
	check("vmm_run with rflags.VM set", vmm_run(0, &bad));
	bad = *tf;
	bad.rflags |= 1UL << 3;
	check("vmm_run with a reserved rflags bit", vmm_run(0, &bad));
	bad = *tf;
	bad.cr3 = GUEST_MEM;
	check("vmm_run with cr3 outside guest memory", vmm_run(0, &bad));
	bad = *tf;
	bad.cr3 = PML4 + 8;
	check("vmm_run with an unaligned cr3", vmm_run(0, &bad));
	bad = *tf;
	bad.gpcoreid = 1;
	check("vmm_run with another gpcoreid in the trapframe", vmm_run(0, &bad));
	bad = *tf;
	bad.flags |= 0x80;
	check("vmm_run with unknown trapframe flags", vmm_run(0, &bad));
	bad = *tf;
	check("vmm_run of guest pcore 1 (there is one)", vmm_run(1, &bad));
	check("vmm_run of guest pcore -1", vmm_run(-1, &bad));
	check("vmm_poke_guest of guest pcore 1", ros_syscall(SYS_vmm_poke_guest, 1, 0, 0, 0, 0, 0));
	check("vmm_poke_guest of guest pcore -1", ros_syscall(SYS_vmm_poke_guest, -1, 0, 0, 0, 0, 0));
	check("vmm_ctl with an unknown command", ros_syscall(SYS_vmm_ctl, 99, 0, 0, 0, 0, 0));
	check("vmm_ctl asking for unknown exits", ros_syscall(SYS_vmm_ctl, VMM_CTL_SET_EXITS, 0x100, 0, 0, 0, 0));
}

/* Run guest pcore 0 until it exits or stops; the exit status of vmmcheck. */
static int run_guest(int calls, int unmap)
{
	struct vm_trapframe tf;
	char line[256];
	int len = 0;
	memset(&tf, 0, sizeof tf);
	for (;;) {
		long reason = vmm_run(0, &tf);
		if (reason < 0) {
			printf("vmmcheck: vmm_run: %s (%ld) after %lu exits\n", errname(reason), reason, exits);
			return 1;
		}
		exits++;
		if (exits == 1 && calls)
			bad_run_calls(&tf);
		if (exits == 1 && unmap)
			check("munmap of guest memory", sys_munmap(guest_mem, GUEST_MEM));
		if (reason == EXIT_REASON_IO_INSTRUCTION) {
			uint16_t port = IO_QUAL_PORT(tf.exit_qual);
			if (IO_QUAL_IN(tf.exit_qual))
				tf.rax = (tf.rax & ~0xffUL) | (port == 0x3f8 + 5 ? 0x60 : 0);
			else if (port == 0x3f8) {
				line[len++] = (char)(tf.intrinfo >> 32);
				if (line[len - 1] == '\n' || len == (int)sizeof line) {
					write_all(1, line, len);
					len = 0;
				}
			}
			continue;
		}
		if (reason == EXIT_REASON_EXTERNAL_INTERRUPT)
			continue;
		if (reason == EXIT_REASON_VMCALL && tf.rax == VMCALL_EXIT) {
			printf("vmmcheck: guest exited with status %lu after %lu exits\n", tf.rdi, exits);
			return 0;
		}
		printf("vmmcheck: guest stopped: %s (exit reason %#lx), vector %lu, qualification %#lx, "
		       "guest va %#lx, guest pa %#lx, rip %#lx, after %lu exits\n",
		       exit_name(reason), reason, tf.intrinfo & 0xffffffff, tf.exit_qual, tf.guest_va,
		       tf.guest_pa, tf.rip, exits - 1);
		if (reason == EXIT_REASON_EXIT_LIMIT) { /* stopped for good: it must not run again */
			long again = vmm_run(0, &tf);
			printf("vmmcheck: vmm_run again: %s (exit reason %#lx)\n", exit_name(again), again);
		}
		return 3;
	}
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc > 4) {
		dprintf(2, "usage: vmmcheck GUEST MODE [N]\n");
		return 2;
	}
	int mode = -1, calls = !strcmp(argv[2], "calls"), unmap = !strcmp(argv[2], "unmap");
	for (int m = 0; m < NR_MODES; m++)
		if (!strcmp(argv[2], modes[m]))
			mode = m;
	if (calls || unmap)
		mode = 0;
	if (mode < 0) {
		dprintf(2, "vmmcheck: unknown mode %s\n", argv[2]);
		return 2;
	}
	uint64_t n = argc == 4 ? strtoul(argv[3], NULL, 0) : 0;
	uint8_t *image;
	long size = read_file(argv[1], &image);
	if (size < 0) {
		printf("vmmcheck: cannot read %s: %s\n", argv[1], errname(size));
		return 1;
	}
	guest_mem = sys_mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guest_mem == MAP_FAILED)
		return 1;
	uint64_t entry = load_elf(image, size);
	if (!entry) {
		printf("vmmcheck: %s is not an x86-64 ELF that fits in guest memory\n", argv[1]);
		return 1;
	}
	setup_paging();
	struct vmm_gpcore_init init = {
		.mem_base = (uint64_t)guest_mem, .mem_size = GUEST_MEM, .entry = entry,
		.stack = STACK_TOP, .cr3 = PML4, .arg = (uint64_t)mode | n << 8,
	};
	if (calls)
		bad_setup_calls(&init);
	long added = ros_syscall(SYS_vmm_add_gpcs, 1, &init, 0, 0, 0, 0);
	if (added != 1) {
		printf("vmmcheck: vmm_add_gpcs: %s\n", errname(added));
		return 1;
	}
	return run_guest(calls, unmap);
}
