/* Static TLS blocks: the PT_TLS image found through the program's own ELF headers. */
#include "elf.h"
#include "tls.h"
#include "vcore.h"

extern const struct elf64_ehdr __ehdr_start; /* the linker's: the loaded ELF header */

static const struct elf64_phdr *tls_phdr(void)
{
	static const struct elf64_phdr *found;
	static bool looked;
	if (!looked) {
		const char *ph = (const char *)&__ehdr_start + __ehdr_start.phoff;
		for (uint16_t i = 0; i < __ehdr_start.phnum; i++, ph += __ehdr_start.phentsize)
			if (((const struct elf64_phdr *)ph)->type == PT_TLS)
				found = (const struct elf64_phdr *)ph;
		looked = true;
	}
	return found;
}

bool tls_present(void)
{
	return tls_phdr() != NULL;
}

static size_t tls_align(void)
{
	const struct elf64_phdr *p = tls_phdr();
	return p && p->align > 16 ? p->align : 16;
}

/* The bytes below the thread pointer: the linker placed the variables at tp - this. */
static size_t tls_data_size(void)
{
	const struct elf64_phdr *p = tls_phdr();
	if (!p)
		return 0;
	size_t a = p->align ? p->align : 1;
	return (p->memsz + a - 1) & ~(a - 1);
}

struct vcore_tls *tls_block_new(bool from_start)
{
	size_t tcb_size = sizeof(struct vcore_tls);
	size_t data = tls_data_size(), align = tls_align();
	/* [padding][TLS data][TCB][the allocation's base, for free] */
	size_t total = align + data + tcb_size + sizeof(void *);
	char *base;
	if (from_start) {
		base = sys_mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if ((long)base < 0 && (long)base > -4096)
			return NULL;
	} else if (!(base = malloc(total))) {
		return NULL;
	}
	char *tp = (char *)(((uint64_t)base + data + align - 1) & ~(uint64_t)(align - 1));
	const struct elf64_phdr *p = tls_phdr();
	if (p) {
		memcpy(tp - data, (const void *)p->vaddr, p->filesz);
		memset(tp - data + p->filesz, 0, data - p->filesz);
	}
	memset(tp, 0, tcb_size);
	*(void **)(tp + tcb_size) = from_start ? NULL : base;
	struct vcore_tls *tcb = (struct vcore_tls *)tp;
	tcb->self = tcb;
	return tcb;
}

void tls_block_free(struct vcore_tls *tcb)
{
	if (!tcb)
		return;
	void *base = *(void **)((char *)tcb + sizeof *tcb);
	free(base);
}

void tls_block_copy(struct vcore_tls *to, const struct vcore_tls *from)
{
	size_t data = tls_data_size();
	memcpy((char *)to - data, (const char *)from - data, data);
}
