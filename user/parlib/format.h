/* The printf family's output buffer, shared by stdio.c and the floating-point conversions. */
#ifndef PARLIB_FORMAT_H
#define PARLIB_FORMAT_H

#include "parlib.h"

struct out {
	char *buf;
	size_t size; /* room in buf, including the NUL (0: only count) */
	size_t len;  /* characters produced (may exceed size) */
};

void fmt_put(struct out *o, char c);
void fmt_pad(struct out *o, char c, int n);

struct fmt_spec {
	char conv; /* f F e E g G a A */
	int width, precision; /* precision -1: the default */
	bool left, zero, plus, space, alt;
};

/* One double, given as its bits (parlib is integer-only), converted exactly as C requires:
 * every digit is the exact decimal value of the double, rounded half to even. */
void fmt_double(struct out *o, uint64_t bits, const struct fmt_spec *spec);
/* %a and %A: hex digits, as musl prints them. */
void fmt_hex_double(struct out *o, uint64_t bits, const struct fmt_spec *spec);

#endif
