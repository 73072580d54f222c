/* stdio over parlib's printf family: every stream is unbuffered (one write per call, as
 * parlib's printf), so setvbuf and fflush have nothing to do. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parlib/parlib.h"

struct posix_file {
	int fd;
};

static FILE files[3] = { { 0 }, { 1 }, { 2 } };
FILE *stdin = &files[0], *stdout = &files[1], *stderr = &files[2];

int fileno(FILE *f)
{
	return f->fd;
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
	return vdprintf(f->fd, fmt, ap);
}

PARLIB_VARARGS_FP int fprintf(FILE *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vdprintf(f->fd, fmt, ap);
	va_end(ap);
	return n;
}

PARLIB_VARARGS_FP int sprintf(char *buf, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, (size_t)1 << 30, fmt, ap);
	va_end(ap);
	return n;
}

int fputs(const char *s, FILE *f)
{
	return write_all(f->fd, s, strlen(s)) < 0 ? EOF : 0;
}

int fputc(int c, FILE *f)
{
	char ch = (char)c;
	return write_all(f->fd, &ch, 1) < 0 ? EOF : (unsigned char)c;
}

int putchar(int c)
{
	return fputc(c, stdout);
}

size_t fwrite(const void *p, size_t size, size_t n, FILE *f)
{
	return write_all(f->fd, p, size * n) < 0 ? 0 : n;
}

int fflush(FILE *f)
{
	(void)f;
	return 0;
}

int setvbuf(FILE *f, char *buf, int mode, size_t size)
{
	(void)f;
	(void)buf;
	(void)mode;
	(void)size;
	return 0;
}

void perror(const char *s)
{
	if (s && *s)
		dprintf(2, "%s: %s\n", s, strerror(errno));
	else
		dprintf(2, "%s\n", strerror(errno));
}

/* --- sscanf: %d %i %u %x %o %c %s %[...] %n %%, widths, the l/ll/h/z modifiers, '*' ---------- */

static bool space(int c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int digit(int c, int base)
{
	int d = c >= '0' && c <= '9' ? c - '0' : (c | 32) >= 'a' && (c | 32) <= 'z' ? (c | 32) - 'a' + 10 : 99;
	return d < base ? d : -1;
}

int vsscanf(const char *s, const char *fmt, va_list ap)
{
	const char *start = s;
	int assigned = 0;
	while (*fmt) {
		if (space((unsigned char)*fmt)) {
			while (space((unsigned char)*s))
				s++;
			fmt++;
			continue;
		}
		if (*fmt != '%' || fmt[1] == '%') {
			if (*fmt == '%')
				fmt++;
			if (*s != *fmt)
				return assigned ? assigned : (*s ? 0 : EOF);
			s++;
			fmt++;
			continue;
		}
		fmt++;
		bool skip = *fmt == '*';
		if (skip)
			fmt++;
		int width = 0;
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		int size = 0; /* -1 short, 1 long */
		while (*fmt == 'l' || *fmt == 'h' || *fmt == 'z' || *fmt == 'j' || *fmt == 't')
			size = *fmt++ == 'h' ? -1 : 1;
		char conv = *fmt++;
		if (conv == 'n') {
			if (!skip)
				*va_arg(ap, int *) = (int)(s - start);
			continue;
		}
		if (conv != 'c' && conv != '[')
			while (space((unsigned char)*s))
				s++;
		if (!*s)
			return assigned ? assigned : EOF;
		if (conv == 's' || conv == 'c' || conv == '[') {
			bool set[256] = { false }, negate = false;
			if (conv == '[') {
				if (*fmt == '^')
					negate = true, fmt++;
				if (*fmt == ']')
					set[(unsigned char)*fmt++] = true;
				while (*fmt && *fmt != ']')
					set[(unsigned char)*fmt++] = true;
				if (*fmt)
					fmt++;
			}
			if (!width)
				width = conv == 'c' ? 1 : 1 << 30;
			char *out = skip ? NULL : va_arg(ap, char *);
			int n = 0;
			while (*s && n < width) {
				unsigned char c = (unsigned char)*s;
				if ((conv == 's' && space(c)) || (conv == '[' && set[c] == negate))
					break;
				if (out)
					out[n] = (char)c;
				n++;
				s++;
			}
			if (!n)
				return assigned;
			if (out && conv != 'c')
				out[n] = 0;
			assigned += !skip;
			continue;
		}
		int base = conv == 'x' || conv == 'X' || conv == 'p' ? 16 : conv == 'o' ? 8 : conv == 'i' ? 0 : 10;
		if (!width)
			width = 1 << 30;
		const char *p = s;
		bool negative = false;
		if ((*p == '-' || *p == '+') && width > 1) {
			negative = *p == '-';
			p++;
			width--;
		}
		if (base == 0) {
			base = 10;
			if (p[0] == '0' && (p[1] | 32) == 'x')
				base = 16, p += 2, width -= 2;
			else if (p[0] == '0')
				base = 8;
		} else if (base == 16 && p[0] == '0' && (p[1] | 32) == 'x' && width > 2) {
			p += 2;
			width -= 2;
		}
		unsigned long v = 0;
		int n = 0;
		while (n < width && digit((unsigned char)*p, base) >= 0) {
			v = v * (unsigned long)base + (unsigned long)digit((unsigned char)*p++, base);
			n++;
		}
		if (!n)
			return assigned;
		s = p;
		if (negative)
			v = (unsigned long)-(long)v;
		if (skip)
			continue;
		if (size > 0)
			*va_arg(ap, long *) = (long)v;
		else if (size < 0)
			*va_arg(ap, short *) = (short)v;
		else
			*va_arg(ap, int *) = (int)v;
		assigned++;
	}
	return assigned;
}

int sscanf(const char *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsscanf(s, fmt, ap);
	va_end(ap);
	return n;
}
