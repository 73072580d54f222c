/* parlib_check: parlib's C basics, printed for a test to compare with what C's printf and
 * string functions produce: one "name: result" line per check, then a malloc workout. */
#include "parlib/parlib.h"

static void show(const char *name, const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	printf("%s: [%s] %d\n", name, buf, n);
}

int main(void)
{
	show("d", "%d|%i|%d", 42, -7, 0);
	show("width", "%5d|%-5d|%05d|%+d|% d", 42, 42, -42, 42, 42);
	show("precision", "%.3d|%8.3d|%.0d|%.2s", 7, -7, 0, "abcdef");
	show("unsigned", "%u|%lu|%llu|%zu", 4000000000U, 18446744073709551615UL, 123456789012ULL,
	     (size_t)99);
	show("hex", "%x|%X|%#x|%#o|%08lx|%o", 255, 255, 255, 8, 0xabcdefUL, 8);
	show("short", "%hhd|%hd|%hhu", 300, 70000, 257);
	show("long", "%ld|%lld|%li", -9223372036854775807L - 1, 1234567890123LL, 77L);
	show("chars", "%c%c|%3c|%-3c|%%", 'o', 'k', 'x', 'y');
	show("strings", "%s|%10s|%-10s|%s", "abc", "right", "left", (char *)NULL);
	show("pointer", "%p", (void *)0x1234);
	show("star", "%*d|%-*d|%.*s", 6, 1, 4, 2, 3, "xyzzy");
	char small[8];
	int n = snprintf(small, sizeof small, "%s", "truncated text");
	printf("truncate: [%s] %d\n", small, n);

	printf("strlen: %zu %zu\n", strlen(""), strlen("parlib"));
	printf("strcmp: %d %d %d\n", strcmp("a", "a") == 0, strcmp("a", "b") < 0, strncmp("abcX", "abcY", 3) == 0);
	printf("strchr: %s %s\n", strchr("hello", 'l'), strrchr("hello", 'l'));
	printf("strtol: %ld %ld %lu %d\n", strtol("-123", NULL, 10), strtol("0x1f", NULL, 0),
	       strtoul("0777", NULL, 0), atoi("  42"));
	char move[16] = "abcdefgh";
	memmove(move + 2, move, 6);
	printf("memmove: %s\n", move);
	printf("memcmp: %d %d\n", memcmp("abc", "abd", 3) < 0, memcmp("abc", "abc", 3));

	/* malloc: many sizes, written and checked, freed and reused, realloc keeps contents */
	enum { N = 300 };
	static unsigned char *blocks[N];
	size_t total = 0;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < N; i++) {
			size_t size = 1 + (i * 37 + round * 11) % 5000;
			blocks[i] = malloc(size);
			if (!blocks[i] || ((uint64_t)blocks[i] & 15)) {
				printf("malloc: bad block %p for %zu bytes\n", (void *)blocks[i], size);
				return 1;
			}
			memset(blocks[i], i & 0xff, size);
			total += size;
		}
		for (int i = 0; i < N; i++) {
			size_t size = 1 + (i * 37 + round * 11) % 5000;
			for (size_t j = 0; j < size; j++)
				if (blocks[i][j] != (i & 0xff)) {
					printf("malloc: block %d overwritten at %zu\n", i, j);
					return 1;
				}
			free(blocks[i]);
		}
	}
	char *grow = malloc(10);
	strcpy(grow, "keep me");
	grow = realloc(grow, 10000);
	char *zeros = calloc(1000, 4);
	int nonzero = 0;
	for (int i = 0; i < 4000; i++)
		nonzero += zeros[i] != 0;
	printf("malloc: %zu bytes in %d blocks ok, realloc [%s], calloc nonzero %d\n", total, 3 * N,
	       grow, nonzero);
	free(grow);
	free(zeros);
	return 0;
}
