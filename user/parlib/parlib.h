/* parlib: a small runtime for kernkit's Akaros personality.
 *
 * Include this one header for the C basics (strings, printf, malloc, exit), the system calls
 * and the shared procinfo/procdata pages; vcore.h and uthread.h add many-core processes and
 * user-level threads.  See docs/parlib.md. */
#ifndef PARLIB_H
#define PARLIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "ros_abi.h"
#include "syscall.h"

/* string.c */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *dst, const char *src);
char *strchr(const char *s, int c);
char *strrchr(const char *s, int c);
unsigned long strtoul(const char *s, char **end, int base);
long strtol(const char *s, char **end, int base);
int atoi(const char *s);
long atol(const char *s);

/* stdio.c: %d %i %u %x %X %o %p %s %c %%, with flags - 0 + space #, width, precision and the
 * length modifiers hh h l ll z j t.  No floating point (see docs/parlib.md). */
/* A variadic printf-like function that keeps the caller's floating-point arguments: its
 * prologue stores xmm0-7 in the va_list's register area (only when the caller passed any, %al >
 * 0, so integer-only callers never run an SSE instruction there). */
#define PARLIB_VARARGS_FP __attribute__((target("sse2")))

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vdprintf(int fd, const char *fmt, va_list ap);
int dprintf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int vprintf(const char *fmt, va_list ap);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int puts(const char *s);
int write_all(int fd, const char *buf, size_t len);

/* malloc.c: size classes over mmap'd chunks, big blocks mmap'd whole; safe from any vcore and
 * from uthread or vcore context.  Blocks are 16-byte aligned. */
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);

/* start.c */
extern char **environ;
__attribute__((noreturn)) void exit(int status);
__attribute__((noreturn, format(printf, 1, 2))) void parlib_panic(const char *fmt, ...);
int getpid(void);
char *getenv(const char *name);

#define assert(cond)                                                                              \
	do {                                                                                      \
		if (!(cond))                                                                      \
			parlib_panic("%s:%d: assertion failed: %s", __FILE__, __LINE__, #cond);   \
	} while (0)

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* The shared pages (read-only procinfo, read-write procdata). */
static inline const volatile struct procinfo *procinfo(void)
{
	return &__procinfo;
}

static inline volatile struct procdata *procdata(void)
{
	return &__procdata;
}

static inline volatile struct preempt_data *vcpd_of(uint32_t vcoreid)
{
	return &__procdata.vcore_preempt_data[vcoreid];
}

#endif
