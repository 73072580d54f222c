/* Guest memory: reading and checking the guest kernel's ELF file, loading it, the page
 * tables, the serial line buffer (guestmem.h).  The ELF file is untrusted input: every offset
 * and size in it is checked against the file and guest memory before anything is copied. */
#include "parlib/elf.h"
#include "vmm/guestmem.h"

#define EFBIG 27
#define MAX_IMAGE (4 * GUEST_MEM) /* a file larger than this is not a guest kernel for us */
#define PF_X 1
#define EM_X86_64 62

uint8_t *guest_mem;

const char *errno_name(long ret)
{
	static char buf[24];
	switch (ret) {
	case -ENOENT: return "ENOENT";
	case -EBADF: return "EBADF";
	case -ENOMEM: return "ENOMEM";
	case -EFAULT: return "EFAULT";
	case -EBUSY: return "EBUSY";
	case -19: return "ENODEV";
	case -20: return "ENOTDIR";
	case -EISDIR: return "EISDIR";
	case -EINVAL: return "EINVAL";
	case -EFBIG: return "EFBIG";
	}
	snprintf(buf, sizeof buf, "%ld", ret);
	return buf;
}

/* All of @path in a malloc'd buffer: its size, or -errno (nothing left open or allocated). */
static long read_file(const char *path, uint8_t **out)
{
	long fd = sys_openat(AT_FDCWD, path, O_RDONLY, 0);
	if (fd < 0)
		return fd;
	struct kstat st;
	if (sys_fstat((int)fd, &st) == 0 && (st.st_mode & 0170000) == 0040000) {
		sys_close((int)fd); /* reading a directory would give its entries */
		return -EISDIR;
	}
	size_t cap = 1 << 16, len = 0;
	uint8_t *buf = malloc(cap);
	long ret = buf ? 0 : -ENOMEM;
	while (ret == 0) {
		if (len == cap) {
			uint8_t *bigger = cap < MAX_IMAGE ? realloc(buf, cap * 2) : NULL;
			if (!bigger) {
				ret = cap < MAX_IMAGE ? -ENOMEM : -EFBIG;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		long n = sys_read((int)fd, buf + len, cap - len);
		if (n <= 0) {
			ret = n;
			break;
		}
		len += (size_t)n;
	}
	sys_close((int)fd);
	if (ret < 0) {
		free(buf);
		return ret;
	}
	*out = buf;
	return (long)len;
}

static char why[200];

#define FAIL(...) (snprintf(why, sizeof why, __VA_ARGS__), why)

/* Check that program header @i (@ph) can be loaded from a file of @size bytes; NULL or why not. */
static const char *check_segment(int i, const struct elf64_phdr *ph, uint64_t size)
{
	if (ph->filesz > ph->memsz)
		return FAIL("segment %d has more bytes in the file (%#lx) than in memory (%#lx)", i, ph->filesz,
			    ph->memsz);
	if (ph->offset > size || ph->filesz > size - ph->offset)
		return FAIL("segment %d (%#lx bytes at file offset %#lx) ends past the end of the file (%#lx bytes)",
			    i, ph->filesz, ph->offset, size);
	if (ph->paddr > GUEST_MEM || ph->memsz > GUEST_MEM - ph->paddr)
		return FAIL("segment %d (%#lx bytes at guest-physical %#lx) does not fit in guest memory "
			    "(%#lx bytes)", i, ph->memsz, ph->paddr, GUEST_MEM);
	if (ph->memsz && ph->paddr < PAGE_TABLES_END && ph->paddr + ph->memsz > PML4)
		return FAIL("segment %d (%#lx bytes at guest-physical %#lx) overlaps the page tables "
			    "(%#lx-%#lx)", i, ph->memsz, ph->paddr, PML4, PAGE_TABLES_END - 1);
	return NULL;
}

/* Copy the PT_LOAD segments of the @size-byte ELF @image to their guest-physical addresses,
 * once all of it is checked: NULL and the entry point in *@entry, or why the file cannot be
 * loaded (nothing copied then). */
static const char *load_elf(const uint8_t *image, uint64_t size, uint64_t *entry)
{
	struct elf64_ehdr eh;
	struct elf64_phdr ph;
	if (size < sizeof eh)
		return FAIL("%lu bytes are too short for an ELF header", size);
	memcpy(&eh, image, sizeof eh);
	if (memcmp(eh.ident, "\177ELF", 4))
		return "not an ELF file";
	if (eh.ident[4] != 2 || eh.ident[5] != 1 || eh.machine != EM_X86_64)
		return FAIL("not a little-endian 64-bit x86-64 ELF (class %u, data %u, machine %u)", eh.ident[4],
			    eh.ident[5], eh.machine);
	if (eh.phnum && eh.phentsize < sizeof ph)
		return FAIL("program header entries of %u bytes (expected %lu)", eh.phentsize, sizeof ph);
	if (eh.phoff > size || (uint64_t)eh.phnum * eh.phentsize > size - eh.phoff)
		return FAIL("the program headers (%u of %u bytes at file offset %#lx) end past the end of the "
			    "file (%#lx bytes)", eh.phnum, eh.phentsize, eh.phoff, size);
	int loads = 0, entry_in_code = 0;
	for (int i = 0; i < eh.phnum; i++) {
		memcpy(&ph, image + eh.phoff + (uint64_t)i * eh.phentsize, sizeof ph);
		if (ph.type != PT_LOAD)
			continue;
		const char *bad = check_segment(i, &ph, size);
		if (bad)
			return bad;
		loads++;
		if (ph.flags & PF_X && eh.entry >= ph.paddr && eh.entry - ph.paddr < ph.filesz)
			entry_in_code = 1;
	}
	if (!loads)
		return "no loadable segment";
	if (!entry_in_code)
		return FAIL("the entry point %#lx is not in the file bytes of an executable segment", eh.entry);
	for (int i = 0; i < eh.phnum; i++) {
		memcpy(&ph, image + eh.phoff + (uint64_t)i * eh.phentsize, sizeof ph);
		if (ph.type != PT_LOAD)
			continue;
		memcpy(guest_mem + ph.paddr, image + ph.offset, ph.filesz);
		memset(guest_mem + ph.paddr + ph.filesz, 0, ph.memsz - ph.filesz);
	}
	*entry = eh.entry;
	return NULL;
}

/* Identity paging with 2 MiB pages over guest memory and as much again above it, where the
 * guest's accesses are EPT violations (MMIO for the VMM). */
static void setup_paging(void)
{
	uint64_t *pml4 = (void *)(guest_mem + PML4), *pdpt = (void *)(guest_mem + PDPT);
	uint64_t *pd = (void *)(guest_mem + PD);
	pml4[0] = PDPT | 3;
	pdpt[0] = PD | 3;
	for (uint64_t i = 0; i < (2 * GUEST_MEM) >> 21; i++)
		pd[i] = (i << 21) | 0x83; /* present, writable, 2 MiB */
}

int guest_mem_load(const char *prog, const char *path, uint64_t *entry)
{
	uint8_t *image;
	long size = read_file(path, &image);
	if (size < 0) {
		printf("%s: cannot read %s: %s\n", prog, path, errno_name(size));
		return -1;
	}
	guest_mem = sys_mmap(NULL, GUEST_MEM, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (guest_mem == MAP_FAILED) {
		printf("%s: cannot map %#lx bytes of guest memory\n", prog, GUEST_MEM);
		free(image);
		return -1;
	}
	const char *bad = load_elf(image, (uint64_t)size, entry);
	free(image);
	if (bad) {
		printf("%s: cannot load %s: %s\n", prog, path, bad);
		return -1;
	}
	setup_paging();
	return 0;
}

void serial_putc(struct serial_line *line, char ch)
{
	line->buf[line->len++] = ch;
	if (ch == '\n' || line->len == (int)sizeof line->buf) {
		write_all(1, line->buf, line->len);
		line->len = 0;
	}
}
