/* Guest memory for a VMM over parlib (vmrunkernel, vmmcheck): GUEST_MEM bytes of the VMM's
 * own memory holding the guest kernel, loaded from its ELF file at its physical addresses and
 * identity-mapped with 2 MiB pages (the range as large again above it, the hole, is mapped
 * too: the guest's accesses there are EPT violations, MMIO for the VMM). */
#ifndef VMM_GUESTMEM_H
#define VMM_GUESTMEM_H
#include "parlib/parlib.h"

#define GUEST_MEM (16UL << 20)
#define PML4 0x1000UL /* the page tables, guest-physical: no segment may overlap them */
#define PDPT 0x2000UL
#define PD 0x3000UL
#define PAGE_TABLES_END 0x4000UL
#define STACK_TOP 0x800000UL /* guest pcore 0's boot stack */

extern uint8_t *guest_mem;

/* Map guest memory, load the guest kernel ELF at @path into it and build the page tables:
 * 0 and the entry point in *@entry, or -1 after one line on stdout saying why, prefixed with
 * "@prog: " (a file that cannot be read, is not an x86-64 ELF, or has a header or segment
 * that lies outside the file or guest memory or the entry outside its code). */
int guest_mem_load(const char *prog, const char *path, uint64_t *entry);

/* The name of an errno a system call returned (-ENOENT: "ENOENT"), or its number. */
const char *errno_name(long ret);

/* The serial port's output: bytes are kept until a line is complete (or the buffer full),
 * then written to stdout in one write, so lines of different guest pcores do not mix. */
struct serial_line {
	char buf[256];
	int len;
};
void serial_putc(struct serial_line *line, char ch);
#endif
