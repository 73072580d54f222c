/* malloc over mmap.  Blocks up to 2 KiB come from power-of-two size classes carved out of
 * 64 KiB chunks and go back to per-class free lists; bigger ones are mapped whole and unmapped
 * on free.  Every block has a 16-byte header in front: the class, or the mapping's length. */
#include "parlib.h"
#include "spinlock.h"

#define HDR 16
#define MIN_SHIFT 4  /* 16 bytes */
#define MAX_SHIFT 11 /* 2048 bytes */
#define NR_CLASSES (MAX_SHIFT - MIN_SHIFT + 1)
#define CHUNK (64 * 1024)
#define PAGE 4096
#define BIG 0xb16b16b16b16b16bUL

struct header {
	uint64_t class_or_big;
	uint64_t length; /* big blocks: bytes mapped */
};

struct free_block {
	struct free_block *next;
};

static struct spin_pdr_lock lock = SPIN_PDR_INITIALIZER;
static struct free_block *free_lists[NR_CLASSES];
static char *chunk_next, *chunk_end;

static int class_of(size_t total)
{
	int c = 0;
	while ((1UL << (c + MIN_SHIFT)) < total)
		c++;
	return c;
}

static void *big_alloc(size_t size)
{
	size_t length = (size + HDR + PAGE - 1) & ~(size_t)(PAGE - 1);
	if (length < size)
		return NULL;
	struct header *h = sys_mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if ((long)h < 0 && (long)h > -4096)
		return NULL;
	h->class_or_big = BIG;
	h->length = length;
	return (char *)h + HDR;
}

void *malloc(size_t size)
{
	if (size == 0)
		size = 1;
	if (size > (1UL << MAX_SHIFT) - HDR)
		return big_alloc(size);
	int c = class_of(size + HDR);
	size_t block = 1UL << (c + MIN_SHIFT);
	struct header *h = NULL;
	spin_pdr_lock(&lock);
	if (free_lists[c]) {
		h = (struct header *)free_lists[c];
		free_lists[c] = free_lists[c]->next;
	} else {
		if (chunk_next == NULL || chunk_next + block > chunk_end) {
			/* the rest of the old chunk is dropped: at most 2 KiB of 64 */
			char *chunk = sys_mmap(NULL, CHUNK, PROT_READ | PROT_WRITE,
			                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if ((long)chunk < 0 && (long)chunk > -4096) {
				spin_pdr_unlock(&lock);
				return NULL;
			}
			chunk_next = chunk;
			chunk_end = chunk + CHUNK;
		}
		h = (struct header *)chunk_next;
		chunk_next += block;
	}
	spin_pdr_unlock(&lock);
	h->class_or_big = c;
	h->length = block - HDR;
	return (char *)h + HDR;
}

void free(void *ptr)
{
	if (!ptr)
		return;
	struct header *h = (struct header *)((char *)ptr - HDR);
	if (h->class_or_big == BIG) {
		sys_munmap(h, h->length);
		return;
	}
	if (h->class_or_big >= NR_CLASSES)
		parlib_panic("free(%p): not a block from malloc", ptr);
	int c = (int)h->class_or_big;
	spin_pdr_lock(&lock);
	((struct free_block *)h)->next = free_lists[c];
	free_lists[c] = (struct free_block *)h;
	spin_pdr_unlock(&lock);
}

void *calloc(size_t n, size_t size)
{
	if (size && n > (size_t)-1 / size)
		return NULL;
	void *p = malloc(n * size);
	if (p)
		memset(p, 0, n * size); /* fresh mmap'd memory is zero, recycled blocks are not */
	return p;
}

void *realloc(void *ptr, size_t size)
{
	if (!ptr)
		return malloc(size);
	struct header *h = (struct header *)((char *)ptr - HDR);
	size_t have = h->class_or_big == BIG ? h->length - HDR : h->length;
	if (size <= have)
		return ptr;
	void *p = malloc(size);
	if (p) {
		memcpy(p, ptr, have);
		free(ptr);
	}
	return p;
}
