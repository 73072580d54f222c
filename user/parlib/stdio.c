/* A small printf family.  printf formats into a buffer on the stack and writes it with one
 * SYS_write, so lines printed from different vcores never interleave inside a call. */
#include <stdarg.h>

#include "format.h"

void fmt_put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

void fmt_pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		fmt_put(o, c);
}

#define put fmt_put
#define pad fmt_pad

/* va_arg(ap, double) without touching an SSE register: the x86-64 va_list's saved-register
 * area holds the caller's xmm0-7 (saved by a PARLIB_VARARGS_FP function), the rest are on the
 * stack. */
struct va_regs {
	uint32_t gp_offset, fp_offset;
	char *overflow_arg_area, *reg_save_area;
};

static uint64_t va_arg_double_bits(struct va_regs *r)
{
	uint64_t bits;
	if (r->fp_offset < 6 * 8 + 8 * 16) {
		memcpy(&bits, r->reg_save_area + r->fp_offset, 8);
		r->fp_offset += 16;
	} else {
		memcpy(&bits, r->overflow_arg_area, 8);
		r->overflow_arg_area += 8;
	}
	return bits;
}

/* va_arg(ap, long double) without an x87 instruction: a long double always goes in memory, in a
 * 16-byte aligned slot whose first 10 bytes are the mantissa and the sign and exponent. */
static struct fp_value va_arg_long_double(struct va_regs *r)
{
	uintptr_t at = ((uintptr_t)r->overflow_arg_area + 15) & ~(uintptr_t)15;
	uint64_t mant;
	uint16_t sign_exp;
	memcpy(&mant, (char *)at, 8);
	memcpy(&sign_exp, (char *)at + 8, 2);
	r->overflow_arg_area = (char *)at + 16;
	return fp_from_long_double(mant, sign_exp);
}

/* One formatted number: digits of v in base, a sign or prefix, width and precision. */
static void put_number(struct out *o, uint64_t v, int base, bool upper, const char *prefix,
                       int width, int precision, bool left, bool zero)
{
	char digits[24];
	const char *set = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	int n = 0;
	do {
		digits[n++] = set[v % base];
		v /= base;
	} while (v);
	if (precision == 0 && n == 1 && digits[0] == '0')
		n = 0;
	int zeros = precision > n ? precision - n : 0;
	int plen = (int)strlen(prefix);
	int body = plen + zeros + n;
	if (zero && !left && precision < 0) {
		zeros += width > body ? width - body : 0;
		body = plen + zeros + n;
	}
	if (!left)
		pad(o, ' ', width - body);
	for (int i = 0; i < plen; i++)
		put(o, prefix[i]);
	pad(o, '0', zeros);
	while (n)
		put(o, digits[--n]);
	if (left)
		pad(o, ' ', width - body);
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		bool left = false, zero = false, plus = false, space = false, alt = false;
		for (;; fmt++) {
			if (fmt[1] == '-')
				left = true;
			else if (fmt[1] == '0')
				zero = true;
			else if (fmt[1] == '+')
				plus = true;
			else if (fmt[1] == ' ')
				space = true;
			else if (fmt[1] == '#')
				alt = true;
			else
				break;
		}
		fmt++;
		int width = 0, precision = -1;
		if (*fmt == '*') {
			width = va_arg(ap, int);
			if (width < 0)
				left = true, width = -width;
			fmt++;
		} else {
			while (*fmt >= '0' && *fmt <= '9')
				width = width * 10 + (*fmt++ - '0');
		}
		if (*fmt == '.') {
			fmt++;
			precision = 0;
			if (*fmt == '*') {
				precision = va_arg(ap, int);
				fmt++;
			} else {
				while (*fmt >= '0' && *fmt <= '9')
					precision = precision * 10 + (*fmt++ - '0');
			}
		}
		int longs = 0; /* -2 char (hh), -1 short (h), 1 long, 2 long long */
		bool long_double = false; /* L */
		for (;; fmt++) {
			if (*fmt == 'L')
				long_double = true;
			else if (*fmt == 'l')
				longs = longs < 0 ? 1 : longs + 1;
			else if (*fmt == 'h')
				longs = longs > 0 ? 0 : longs - 1;
			else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't')
				longs = 1;
			else
				break;
		}
		char conv = *fmt;
		if (!conv)
			break;
		uint64_t u;
		switch (conv) {
		case 'd':
		case 'i': {
			int64_t v = longs > 0 ? va_arg(ap, long) : va_arg(ap, int);
			if (longs == -2)
				v = (signed char)v;
			else if (longs == -1)
				v = (short)v;
			const char *sign = v < 0 ? "-" : plus ? "+" : space ? " " : "";
			u = v < 0 ? -(uint64_t)v : (uint64_t)v;
			put_number(&o, u, 10, false, sign, width, precision, left, zero);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o':
			u = longs > 0 ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			if (longs == -2)
				u = (unsigned char)u;
			else if (longs == -1)
				u = (unsigned short)u;
			put_number(&o, u, conv == 'u' ? 10 : conv == 'o' ? 8 : 16, conv == 'X',
			           alt && u ? (conv == 'o' ? "0" : conv == 'X' ? "0X" : "0x") : "", width,
			           precision, left, zero);
			break;
		case 'p':
			u = (uint64_t)va_arg(ap, void *);
			put_number(&o, u, 16, false, "0x", width, precision, left, zero);
			break;
		case 'c': {
			if (!left)
				pad(&o, ' ', width - 1);
			put(&o, (char)va_arg(ap, int));
			if (left)
				pad(&o, ' ', width - 1);
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int n = precision >= 0 ? (int)strnlen(s, precision) : (int)strlen(s);
			if (!left)
				pad(&o, ' ', width - n);
			for (int i = 0; i < n; i++)
				put(&o, s[i]);
			if (left)
				pad(&o, ' ', width - n);
			break;
		}
		case 'f':
		case 'F':
		case 'e':
		case 'E':
		case 'g':
		case 'G':
		case 'a':
		case 'A': {
			struct fmt_spec spec = { conv, width, precision, left, zero, plus, space, alt };
			struct va_regs *regs = (struct va_regs *)ap;
			struct fp_value v = long_double ? va_arg_long_double(regs)
			                                : fp_from_double(va_arg_double_bits(regs));
			if ((conv | 0x20) == 'a')
				fmt_hex_float(&o, &v, &spec);
			else
				fmt_float(&o, &v, &spec);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default: /* unknown: print it as written */
			put(&o, '%');
			put(&o, conv);
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

PARLIB_VARARGS_FP int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

int write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		long n = sys_write(fd, buf, len);
		if (n <= 0)
			return -1;
		buf += n;
		len -= n;
	}
	return 0;
}

#define PRINT_BUF 1024

int vdprintf(int fd, const char *fmt, va_list ap)
{
	char buf[PRINT_BUF];
	va_list copy;
	va_copy(copy, ap);
	int n = vsnprintf(buf, sizeof buf, fmt, ap);
	if (n < (int)sizeof buf) {
		va_end(copy);
		return write_all(fd, buf, n) ? -1 : n;
	}
	/* too long for the stack buffer: format again into the heap */
	char *big = malloc(n + 1);
	if (!big) {
		va_end(copy);
		return -1;
	}
	vsnprintf(big, n + 1, fmt, copy);
	va_end(copy);
	int r = write_all(fd, big, n);
	free(big);
	return r ? -1 : n;
}

PARLIB_VARARGS_FP int dprintf(int fd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vdprintf(fd, fmt, ap);
	va_end(ap);
	return n;
}

int vprintf(const char *fmt, va_list ap)
{
	return vdprintf(1, fmt, ap);
}

PARLIB_VARARGS_FP int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vdprintf(1, fmt, ap);
	va_end(ap);
	return n;
}

int puts(const char *s)
{
	return printf("%s\n", s);
}
