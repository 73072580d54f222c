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
#include "parlib/syscall.h"
#include "vmm/guestmem.h"
#include "vmm/vmm_abi.h"

#define VMCALL_EXIT 2
#define NONCANONICAL 0x800000000000UL

static const char *const modes[] = { "ok", "ud2", "gp", "hole", "unmapped", "noncanonical",
				     "flood", "out", "spin", "idt-ud2" };
#define NR_MODES (int)(sizeof modes / sizeof modes[0])

static uint64_t exits;
static const struct vm_trapframe read_only_tf = { .flags = VMTF_RESUME };

static long vmm_run(long gpcoreid, const struct vm_trapframe *tf)
{
	return ros_syscall(SYS_vmm_run, gpcoreid, tf, 0, 0, 0, 0);
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

static void check(const char *what, long ret)
{
	printf("vmmcheck: %s: %s\n", what, ret < 0 ? errno_name(ret) : "accepted");
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
	struct serial_line line = { .len = 0 };
	memset(&tf, 0, sizeof tf);
	for (;;) {
		long reason = vmm_run(0, &tf);
		if (reason < 0) {
			printf("vmmcheck: vmm_run: %s (%ld) after %lu exits\n", errno_name(reason), reason, exits);
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
			else if (port == 0x3f8)
				serial_putc(&line, (char)(tf.intrinfo >> 32));
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
	uint64_t entry;
	if (guest_mem_load("vmmcheck", argv[1], &entry) < 0)
		return 1;
	struct vmm_gpcore_init init = {
		.mem_base = (uint64_t)guest_mem, .mem_size = GUEST_MEM, .entry = entry,
		.stack = STACK_TOP, .cr3 = PML4, .arg = (uint64_t)mode | n << 8,
	};
	if (calls)
		bad_setup_calls(&init);
	long added = ros_syscall(SYS_vmm_add_gpcs, 1, &init, 0, 0, 0, 0);
	if (added != 1) {
		printf("vmmcheck: vmm_add_gpcs: %s\n", errno_name(added));
		return 1;
	}
	return run_guest(calls, unmap);
}
